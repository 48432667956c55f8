// The PCR editor: progressive enhancement only; the form and its list buttons work without it.
// No inline scripts (Content-Security-Policy): behaviour is attached here by ids and data attributes.
"use strict";

const editor = document.getElementById("pcra-editor");
if (editor) {
  editor.classList.add("js");

  // An item's fields that belong to some kinds only (activity, fuel, formula…) follow its kind select.
  editor.querySelectorAll("[data-item]").forEach((item) => {
    const kind = item.querySelector("select[name$='.kind']");
    if (!kind || kind.closest("[data-item]") !== item) return;
    const follow = () => {
      item.querySelectorAll(":scope > .pcra-grid > [data-kinds]").forEach((field) => {
        const kinds = field.getAttribute("data-kinds").split(" ");
        field.toggleAttribute("data-off", Boolean(kind.value) && !kinds.includes(kind.value));
      });
    };
    kind.addEventListener("change", follow);
    follow();
  });

  // Leaving with changes not saved asks first (a list button or Save is not leaving).
  let changed = false;
  let submitting = false;
  editor.addEventListener("input", () => { changed = true; });
  editor.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    if (changed && !submitting) event.preventDefault();
  });
}

// After a list change the new (or moved) row takes the focus; after a refused save, the list of problems.
const focus = document.getElementById("pcra-focus");
const target = focus && document.getElementById(focus.getAttribute("data-target"));
if (target) {
  const first = target.matches("input, select, textarea") ? target : target.querySelector("input:not([type=hidden]), select, textarea");
  target.scrollIntoView({ block: "start" });
  if (first) first.focus({ preventScroll: true });
} else {
  const summary = document.getElementById("error-summary");
  if (summary && document.querySelector(".pcra-unsaved, [data-refused]")) summary.focus();
}

// Text boxes grow with what they hold (long standards, boundary entries and notes), up to half the screen.
document.querySelectorAll(".pcra-editor textarea").forEach((box) => {
  const fit = () => {
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, window.innerHeight / 2)}px`;
  };
  box.addEventListener("input", fit);
  fit();
});
