// Progressive enhancement of the web application's pages; every page works without it.
// No inline scripts anywhere (Content-Security-Policy): behaviour is attached here by data attributes.
"use strict";

// <form data-confirm="…">: ask before a destructive action (revoke, disable, withdraw).
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
