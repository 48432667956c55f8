// The manufacturer's pages (progressive enhancement; every page works without it).
//
// Job page: an element with `data-job-poll="<id of a JSON block>"` polls the job's status URL every interval_ms
// (the JSON block: {url, interval_ms, states: {status: label}}), moves the <progress data-job-progress> bar, and
// opens the footprint page when the job succeeded, or shows the job's error when it failed.
"use strict";

(function () {
  const box = document.querySelector("[data-job-poll]");
  if (!box) return;
  const config = JSON.parse(document.getElementById(box.getAttribute("data-job-poll")).textContent);
  const bar = box.querySelector("[data-job-progress]");
  const badge = box.querySelector("[data-job-badge]");
  const percent = box.querySelector("[data-job-percent]");
  const error = box.querySelector("[data-job-error]");
  const errorText = box.querySelector("[data-job-error-text]");
  const refresh = box.querySelector("[data-job-refresh]");
  const BADGES = { queued: "warn", running: "warn", succeeded: "ok", failed: "bad" };
  let failures = 0;

  function show(status) {
    const progress = Math.max(0, Math.min(1, Number(status.progress) || 0));
    bar.value = progress;
    bar.textContent = percent.textContent = (progress * 100).toFixed(1) + " %";
    badge.textContent = config.states[status.status] || status.status;
    badge.className = "badge " + (BADGES[status.status] || "");
  }

  function poll() {
    fetch(config.url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then((response) => {
        if (!response.ok || !(response.headers.get("content-type") || "").includes("json")) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then((status) => {
        failures = 0;
        show(status);
        if (status.status === "succeeded" && status.footprint_url) {
          window.location.assign(status.footprint_url);
        } else if (status.status === "failed") {
          errorText.textContent = status.error || "";
          error.hidden = false;
          if (refresh) refresh.hidden = true;
        } else {
          window.setTimeout(poll, config.interval_ms);
        }
      })
      .catch(() => {
        // a network hiccup: try a few more times, then leave the "refresh" link to the reader
        failures += 1;
        if (failures < 10) window.setTimeout(poll, config.interval_ms * 2);
      });
  }

  window.setTimeout(poll, config.interval_ms);
})();
