// The home page's camera: reads a label's QR code in the page (BarcodeDetector where the browser has it, else the
// vendored jsQR) and opens the label's page on this site. A code that is not a label URL of this service is never
// followed: its text is shown instead. Nothing leaves the page: frames are decoded here.
"use strict";

(function () {
  const NUMBER = /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/;

  function readJson(id) {
    const element = document.getElementById(id);
    try { return element ? JSON.parse(element.textContent) : null; } catch (error) { return null; }
  }

  // The path on this site of a decoded code's label, or null: the short URL /V/{number} (or /v/), GS1 Digital Link
  // /01/{gtin}?label={number}, or the earlier /verify/{number}, of one of this service's base URLs.
  function labelPath(text, bases, origin) {
    let url;
    try { url = new URL(String(text).trim()); } catch (error) { return null; }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    const own = bases.concat([origin]).map((base) => base.toLowerCase().replace(/\/+$/, ""));
    const path = url.pathname;
    let base = null, number = null;
    for (const marker of ["/V/", "/v/", "/verify/"]) {
      const at = path.lastIndexOf(marker);
      if (at >= 0) { base = path.slice(0, at); number = decodeURIComponent(path.slice(at + marker.length)); break; }
    }
    let gtin = null;
    if (number === null) {
      const at = path.indexOf("/01/");
      if (at < 0) return null;
      base = path.slice(0, at);
      number = url.searchParams.get("label") || "";
      gtin = path.slice(at + 4);
    }
    const service = (url.protocol + "//" + url.host + base).toLowerCase().replace(/\/+$/, "");
    if (!own.includes(service)) return null;
    if (NUMBER.test(number)) return "/V/" + encodeURIComponent(number.toUpperCase());
    // a GS1 Digital Link that names the product only: this service's resolver opens its label in force
    return gtin !== null && !number && /^[0-9]{8,14}$/.test(gtin) ? "/01/" + gtin : null;
  }

  // The text of the first QR code in an ImageData (RGBA pixels), or null.
  async function decodeImageData(imageData) {
    if ("BarcodeDetector" in window) {
      try {
        const found = await new window.BarcodeDetector({ formats: ["qr_code"] }).detect(imageData);
        if (found.length) return found[0].rawValue;
        return null;
      } catch (error) { /* fall through to jsQR */ }
    }
    if (typeof window.jsQR !== "function") return null;
    const code = window.jsQR(imageData.data, imageData.width, imageData.height, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  }

  window.pcfScan = { labelPath, decodeImageData };

  const start = document.getElementById("scan-start");
  if (!start) return;
  const config = readJson("scan-config") || { bases: [] };
  const messages = readJson("scan-messages") || {};
  const stop = document.getElementById("scan-stop");
  const view = document.getElementById("scan-view");
  const video = document.getElementById("scan-video");
  const status = document.getElementById("scan-status");
  const decoded = document.getElementById("scan-decoded");
  const decodedText = document.getElementById("scan-text");
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let stream = null, timer = null;

  const say = (text) => { status.textContent = text || ""; };

  function halt() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    view.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  function found(text) {
    const path = labelPath(text, config.bases || [], window.location.origin);
    if (path) {
      say(messages.opening);
      halt();
      window.location.assign(path);
      return true;
    }
    decodedText.textContent = text;
    decoded.hidden = false;
    say(messages.foreign);
    return false;
  }

  async function tick() {
    timer = null;
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth) {
      const scale = Math.min(1, 960 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const text = await decodeImageData(context.getImageData(0, 0, canvas.width, canvas.height));
      if (text && found(text)) return;
    }
    if (stream) timer = setTimeout(tick, 200);
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say(messages.unavailable);
    return;
  }
  start.hidden = false;
  start.addEventListener("click", async () => {
    say(messages.starting);
    decoded.hidden = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      say(error && error.name === "NotAllowedError" ? messages.denied : messages.unavailable);
      return;
    }
    video.srcObject = stream;
    view.hidden = false;
    start.hidden = true;
    stop.hidden = false;
    try { await video.play(); } catch (error) { /* muted inline video plays; a refusal shows in the next tick */ }
    say(messages.looking);
    tick();
  });
  stop.addEventListener("click", () => { halt(); say(""); });
  window.addEventListener("pagehide", halt);
})();
