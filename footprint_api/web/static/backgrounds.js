// A running import's pages follow it (the platform admin's list and a version's page): every few seconds the page
// is fetched again and its live parts ([data-live], by id) replaced, without a reload and without taking the focus
// away; when the import has stopped (the fresh page has no #refreshing note), the whole page is loaded once more,
// with the steps its new state offers. Without scripts, the note's link reloads the page by hand.
"use strict";

(() => {
  const note = document.getElementById("refreshing");
  if (!note) return;
  const seconds = Math.max(1, Number(note.getAttribute("data-refresh")) || 3);

  const schedule = () => window.setTimeout(follow, seconds * 1000);

  async function follow() {
    let text;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return schedule(); // a moment's outage: try again, the page stays as it was
      text = await response.text();
    } catch (error) {
      return schedule();
    }
    const fresh = new DOMParser().parseFromString(text, "text/html");
    if (!fresh.getElementById("refreshing")) {
      window.location.reload();
      return;
    }
    for (const part of document.querySelectorAll("[data-live]")) {
      const replacement = fresh.getElementById(part.id);
      if (replacement && !part.contains(document.activeElement)) part.replaceWith(document.adoptNode(replacement));
    }
    schedule();
  }

  schedule();
})();
