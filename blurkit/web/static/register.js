// blurkit consent register: take reference photos with the laptop camera (getUserMedia).
// A frame is drawn on a canvas, made into a JPEG in the browser and put into the form's file
// input, so it is sent with the form to this same server like a chosen file. Nothing is sent
// anywhere else (Content-Security-Policy: connect-src 'self'). No inline script anywhere.
"use strict";

(function () {
  function setupCamera() {
    const box = document.getElementById("camera");
    if (!box) return;
    const start = document.getElementById("camera-start");
    const live = document.getElementById("camera-live");
    const video = document.getElementById("camera-video");
    const take = document.getElementById("camera-take");
    const stop = document.getElementById("camera-stop");
    const canvas = document.getElementById("camera-canvas");
    const shots = document.getElementById("camera-shots");
    const state = document.getElementById("camera-state");
    const target = document.getElementById("camera-files");
    const chosen = document.getElementById("photos");
    const max = Number(box.dataset.max) || 3;
    const taken = [];
    let stream = null;
    let counter = 0;

    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia
        || typeof DataTransfer === "undefined") {
      start.disabled = true;
      state.textContent = box.dataset.unavailable;
      return;
    }

    function count() { return taken.length + (chosen ? chosen.files.length : 0); }

    function sync() {
      const dt = new DataTransfer();
      taken.forEach((f) => dt.items.add(f));
      target.files = dt.files;
    }

    function render() {
      shots.replaceChildren();
      taken.forEach((file, i) => {
        const li = document.createElement("li");
        const img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = file.name;
        img.width = 160;
        img.addEventListener("load", () => URL.revokeObjectURL(img.src));
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = box.dataset.remove + " " + file.name;
        remove.addEventListener("click", () => { taken.splice(i, 1); sync(); render(); });
        const name = document.createElement("span");
        name.textContent = file.name;
        li.append(img, name, remove);
        shots.append(li);
      });
    }

    async function on() {
      try {
        stream = await navigator.mediaDevices.getUserMedia(
          { video: { width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false });
      } catch (e) {
        state.textContent = box.dataset.denied;
        return;
      }
      video.srcObject = stream;
      live.hidden = false;
      start.hidden = true;
      take.focus();
    }

    function off() {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      stream = null;
      video.srcObject = null;
      live.hidden = true;
      start.hidden = false;
    }

    function shoot() {
      if (count() >= max) { state.textContent = box.dataset.full; return; }
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) return;
      canvas.width = w;
      canvas.height = h;
      canvas.getContext("2d").drawImage(video, 0, 0, w, h);
      canvas.toBlob((blob) => {
        if (!blob) return;
        counter += 1;
        const file = new File([blob], "kamera-" + counter + ".jpg", { type: "image/jpeg" });
        taken.push(file);
        sync();
        render();
        state.textContent = box.dataset.taken.replace("{n}", String(counter));
        if (count() >= max) off();
      }, "image/jpeg", 0.92);
    }

    start.addEventListener("click", on);
    stop.addEventListener("click", off);
    take.addEventListener("click", shoot);
    window.addEventListener("pagehide", off);
    const form = box.closest("form");
    if (form) form.addEventListener("submit", off);
  }

  // a photo larger than the server takes (data-max-bytes) is named at once, and the form is
  // not sent with it: nobody waits for 60 MB to cross the Wi-Fi only to hear it is too large
  // (the server refuses it by its size anyway)
  function setupSizeCheck() {
    for (const input of document.querySelectorAll('input[type="file"][data-max-bytes]')) {
      const limit = Number(input.dataset.maxBytes);
      const note = document.getElementById(input.dataset.note);
      const tooLarge = () => [...input.files].filter((f) => f.size > limit);
      const say = () => {
        if (!note) return;
        note.textContent = tooLarge().map(
          (f) => input.dataset.tooLarge.replace("{photo}", f.name)).join(" ");
        note.hidden = note.textContent === "";
      };
      input.addEventListener("change", say);
      const form = input.closest("form");
      if (form) form.addEventListener("submit", (event) => {
        if (tooLarge().length) { event.preventDefault(); say(); input.focus(); }
      });
    }
  }

  // the submit button says that the photos are being looked at (it takes a few seconds)
  function setupBusy() {
    for (const form of document.querySelectorAll(".reg-form")) {
      form.addEventListener("submit", (event) => {
        if (event.defaultPrevented) return;
        const button = form.querySelector('button[type="submit"].primary');
        if (button) { button.disabled = true; button.classList.add("busy"); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupCamera(); setupSizeCheck(); setupBusy();
  });
})();
