// The manufacturer's pages (progressive enhancement; every page works without it).
//
// Job page: an element with `data-job-poll="<id of a JSON block>"` follows the job's status URL (the JSON block:
// {url, interval_ms, wait_s?, states: {status: label}}), moves the <progress data-job-progress> bar, and opens the
// footprint page when the job succeeded, or shows the job's error when it failed. With wait_s the status URL is
// long-polled (`?wait=`: the server answers when the job changes, so the next question is asked at once); without
// it, or when an answer comes back at once, the next question waits interval_ms.
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

  const WAIT = Number(config.wait_s) || 0;

  function poll() {
    const asked = Date.now();
    const url = WAIT > 0 ? config.url + (config.url.includes("?") ? "&" : "?") + "wait=" + WAIT : config.url;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
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
          // a long-poll answered by a change: ask again at once; answered at once (no change to wait for): pause
          const waited = Date.now() - asked;
          window.setTimeout(poll, WAIT > 0 && waited >= 200 ? 0 : config.interval_ms);
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
