// The certification pages: a document over the size limit is refused before it is sent (the server refuses it too).
"use strict";

document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.maxBytes) return;
  const tooLarge = [...(input.files || [])].some((file) => file.size > Number(input.dataset.maxBytes));
  input.setCustomValidity(tooLarge ? input.dataset.tooLarge || "" : "");
  if (tooLarge) input.reportValidity();
});
