// Products, facilities and inventories: progressive enhancement only; every form works without it.
"use strict";

// Repeatable rows (green certificates, co-products): "Add" clones the row template with the next index.
document.querySelectorAll("[data-add-row]").forEach((button) => {
  const rows = document.getElementById(button.getAttribute("data-add-row"));
  const template = document.getElementById(button.getAttribute("data-template"));
  if (!rows || !template) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const index = Number(rows.getAttribute("data-next") || rows.children.length);
    const html = template.innerHTML.replaceAll("__N__", String(index));
    rows.insertAdjacentHTML("beforeend", html);
    rows.setAttribute("data-next", String(index + 1));
    const first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
    if (first) first.focus();
  });
});

// A facility's grid region follows its province unless the person has chosen one.
const regions = document.getElementById("inv-grid-regions");
if (regions) {
  const byProvince = JSON.parse(regions.textContent);
  document.querySelectorAll("select[name='province']").forEach((province) => {
    const region = province.form && province.form.querySelector("select[name='grid_region']");
    if (!region) return;
    province.addEventListener("change", () => {
      if (!region.value && byProvince[province.value]) region.value = byProvince[province.value];
    });
  });
}

// After a refused submission, the summary of problems takes the focus (it links to every field).
const summary = document.getElementById("error-summary");
if (summary) summary.focus();
