// Supplier data in the inventory form: progressive enhancement only; the form works without it.
"use strict";

// Each purchased input's choice shows the input of the source chosen (a label number, a PACT footprint, a release
// entry) and hides the others; the screening value needs none.
document.querySelectorAll("[data-supplier]").forEach((choice) => {
  const kind = choice.querySelector("select[name$='.supplier.kind']");
  const parts = choice.querySelectorAll("[data-supplier-kind]");
  if (!kind) return;
  const show = () => {
    parts.forEach((part) => { part.hidden = part.getAttribute("data-supplier-kind") !== kind.value; });
  };
  kind.addEventListener("change", show);
  show();

  // A release's entries only, once a release is chosen.
  const release = choice.querySelector("select[name$='.supplier.release']");
  const entry = choice.querySelector("select[name$='.supplier.entry']");
  if (release && entry) {
    const filter = () => {
      entry.querySelectorAll("optgroup").forEach((group) => {
        const options = group.querySelectorAll("option[data-release]");
        const shown = !release.value || Array.from(options).some((o) => o.getAttribute("data-release") === release.value);
        group.hidden = !shown;
        group.disabled = !shown;
      });
    };
    release.addEventListener("change", filter);
    filter();
  }
});

// After a "check" of a label number, what the label says takes the focus.
const checked = document.querySelector("[data-supplier-check]");
if (checked) {
  const details = checked.closest("details");
  if (details) details.open = true;
  checked.focus();
}
