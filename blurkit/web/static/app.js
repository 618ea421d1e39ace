// blurkit staff page: keyboard shortcuts, drawing a region, compare with the original,
// uploads with progress. No inline script anywhere (Content-Security-Policy: script-src 'self').
"use strict";

function csrfToken() {
  const input = document.querySelector('input[name="csrf_token"]');
  return input ? input.value : "";
}

function typing(ev) {
  const t = ev.target;
  return t && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName));
}

// ---------------------------------------------------------------- review pages
// Drawing a box over the picture (photo) or the paused frame (video) fills in the region
// form in image pixel coordinates; the picture stays where it is.
function setupDrawing(review, overlay, onDone) {
  const drawing = document.getElementById("drawing");
  const fields = ["x1", "y1", "x2", "y2"].map((id) => document.getElementById(id));
  if (!overlay || !drawing || !fields[0]) return;
  let start = null;
  const point = (ev) => {
    const p = overlay.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    const q = p.matrixTransform(overlay.getScreenCTM().inverse());
    const w = +review.dataset.width, h = +review.dataset.height;
    return { x: Math.max(0, Math.min(w, q.x)), y: Math.max(0, Math.min(h, q.y)) };
  };
  const draw = (a, b) => {
    drawing.setAttribute("x", Math.min(a.x, b.x)); drawing.setAttribute("y", Math.min(a.y, b.y));
    drawing.setAttribute("width", Math.abs(a.x - b.x)); drawing.setAttribute("height", Math.abs(a.y - b.y));
  };
  overlay.addEventListener("pointerdown", (ev) => {
    if (overlay.classList.contains("off") && overlay.classList.contains("video-draw")) return;
    ev.preventDefault(); start = point(ev); overlay.setPointerCapture(ev.pointerId); draw(start, start);
  });
  overlay.addEventListener("pointermove", (ev) => { if (start) draw(start, point(ev)); });
  overlay.addEventListener("pointerup", (ev) => {
    if (!start) return;
    const end = point(ev);
    const box = [Math.min(start.x, end.x), Math.min(start.y, end.y), Math.max(start.x, end.x), Math.max(start.y, end.y)];
    start = null;
    if (box[2] - box[0] < 3 || box[3] - box[1] < 3) return;
    box.forEach((v, i) => { fields[i].value = Math.round(v); });
    const hide = document.getElementById("hide-region");
    if (hide) hide.focus({ preventScroll: true });
    if (onDone) onDone(box);
  });
}

function setupReview() {
  const review = document.querySelector(".review");
  if (!review) return;
  const overlay = document.getElementById("overlay");
  const picture = document.getElementById("picture");
  const toggle = document.getElementById("toggle-overlay");
  const areasToggle = document.getElementById("toggle-areas");
  const areas = document.getElementById("areas");
  const compare = document.getElementById("compare");
  const showing = document.getElementById("showing");
  const rejectForm = document.getElementById("reject-form");
  const stage = document.getElementById("stage");
  const approve = document.getElementById("approve");

  if (rejectForm) {
    rejectForm.addEventListener("submit", (ev) => {
      if (!window.confirm(rejectForm.dataset.confirm)) ev.preventDefault();
    });
  }
  // a picture the server could not show: say so, and approving is not possible
  if (picture) {
    picture.addEventListener("error", () => {
      if (picture.src.indexOf("/original") >= 0) return;
      showing.textContent = picture.dataset.broken;
      if (approve) { approve.disabled = true; }
    });
  }
  function toggleOverlay() {
    if (!overlay || overlay.classList.contains("video-draw")) return;
    const off = overlay.classList.toggle("off");
    if (toggle) toggle.setAttribute("aria-pressed", off ? "false" : "true");
  }
  if (toggle) toggle.addEventListener("click", toggleOverlay);
  function toggleAreas() {
    if (!areas) return;
    const off = areas.classList.toggle("off");
    if (areasToggle) areasToggle.setAttribute("aria-pressed", off ? "false" : "true");
  }
  if (areasToggle) areasToggle.addEventListener("click", toggleAreas);

  // zoom: the picture fills the width; + and - make it larger or smaller, 0 fits it again
  let zoom = 1;
  function setZoom(z) {
    if (!stage || !picture) return;
    zoom = Math.max(1, Math.min(8, z));
    stage.classList.toggle("zoomed", zoom > 1);
    stage.style.width = zoom > 1 ? (zoom * 100) + "%" : "";
  }
  const zin = document.getElementById("zoom-in"), zout = document.getElementById("zoom-out"), zfit = document.getElementById("zoom-fit");
  if (zin) zin.addEventListener("click", () => setZoom(zoom * 1.5));
  if (zout) zout.addEventListener("click", () => setZoom(zoom / 1.5));
  if (zfit) zfit.addEventListener("click", () => setZoom(1));

  let comparing = false;
  function showOriginal(on) {
    if (!picture || !picture.dataset.original || on === comparing) return;
    comparing = on;
    if (on) {
      picture.src = picture.dataset.original + "?t=" + Date.now();
      showing.textContent = showing.dataset.original;
    } else {
      picture.src = picture.dataset.output;
      showing.textContent = "";
    }
  }
  if (compare) {
    compare.addEventListener("pointerdown", () => showOriginal(true));
    ["pointerup", "pointerleave", "blur"].forEach((e) => compare.addEventListener(e, () => showOriginal(false)));
    compare.addEventListener("keydown", (ev) => { if (ev.key === " " || ev.key === "Enter") { ev.preventDefault(); showOriginal(true); } });
    compare.addEventListener("keyup", (ev) => { if (ev.key === " " || ev.key === "Enter") showOriginal(false); });
  }
  if (picture) setupDrawing(review, overlay);

  document.addEventListener("keydown", (ev) => {
    if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (document.body.dataset.page === "video") return;     // the video page has its own keys
    const key = ev.key.toLowerCase();
    const click = (id) => { const el = document.getElementById(id); if (el) { ev.preventDefault(); el.click(); } };
    if (key === "a") click("approve");
    else if (key === "r") click("reject");
    else if (key === "j" || ev.key === "ArrowRight") click("next");
    else if (key === "k" || ev.key === "ArrowLeft") click("prev");
    else if (key === "o") { ev.preventDefault(); toggleOverlay(); }
    else if (key === "l") { ev.preventDefault(); toggleAreas(); }
    else if (key === "h") click("hide-region");
    else if (key === "b") { const yes = document.querySelector(".confirm-yes"); if (yes) { ev.preventDefault(); yes.click(); } }
    else if (ev.key === "+" || ev.key === "=") { ev.preventDefault(); setZoom(zoom * 1.5); }
    else if (ev.key === "-") { ev.preventDefault(); setZoom(zoom / 1.5); }
    else if (ev.key === "0") { ev.preventDefault(); setZoom(1); }
    else if (key === "c" && !ev.repeat) { ev.preventDefault(); showOriginal(true); }
  });
  document.addEventListener("keyup", (ev) => { if (ev.key.toLowerCase() === "c") showOriginal(false); });
}

// ---------------------------------------------------------------- video page
// Pause, press D and draw over the frame; I and O mark from when to when (the player's
// time); H hides that region for that time. Times in the track list seek the player.
function setupVideo() {
  const player = document.getElementById("player");
  const review = document.querySelector(".review");
  if (!player || !review) return;
  const overlay = document.getElementById("overlay");
  const drawButton = document.getElementById("draw-mode");
  const from = document.getElementById("t-from"), to = document.getElementById("t-to");
  const mark = (field) => { if (field) field.value = player.currentTime.toFixed(2); };
  const b1 = document.getElementById("set-from"), b2 = document.getElementById("set-to");
  if (b1) b1.addEventListener("click", () => mark(from));
  if (b2) b2.addEventListener("click", () => mark(to));
  function drawMode(on) {
    if (!overlay) return;
    if (on) { player.pause(); if (from && !from.value) mark(from); }
    overlay.classList.toggle("off", !on);
    if (drawButton) drawButton.setAttribute("aria-pressed", on ? "true" : "false");
  }
  if (drawButton) drawButton.addEventListener("click", () => drawMode(overlay.classList.contains("off")));
  setupDrawing(review, overlay, () => { if (to && !to.value) to.value = Math.min(player.duration || 0, player.currentTime + 2).toFixed(2); });
  // a place the second look points at: its box and times go into the region form
  document.querySelectorAll("button.use-pointer").forEach((b) => b.addEventListener("click", () => {
    const box = b.dataset.box.split(",").map(Number);
    ["x1", "y1", "x2", "y2"].forEach((id, i) => { document.getElementById(id).value = Math.round(box[i]); });
    if (from) from.value = (+b.dataset.from).toFixed(2);
    if (to) to.value = (+b.dataset.to).toFixed(2);
    player.currentTime = +b.dataset.from; player.pause();
    const hide = document.getElementById("hide-region");
    if (hide) hide.focus({ preventScroll: true });
  }));
  document.querySelectorAll("button.seek").forEach((b) => b.addEventListener("click", () => {
    player.currentTime = +b.dataset.time; player.pause(); player.scrollIntoView({ block: "nearest" });
  }));
  document.addEventListener("keydown", (ev) => {
    if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key.toLowerCase();
    const click = (id) => { const el = document.getElementById(id); if (el) { ev.preventDefault(); el.click(); } };
    if (key === "a") click("approve");
    else if (key === "r") click("reject");
    else if (key === "j") click("next");
    else if (key === "k") click("prev");
    else if (key === "d") { ev.preventDefault(); drawMode(overlay && overlay.classList.contains("off")); }
    else if (key === "i") { ev.preventDefault(); mark(from); }
    else if (key === "o") { ev.preventDefault(); mark(to); }
    else if (key === "h") click("hide-region");
  });
}

// ---------------------------------------------------------------- upload page
function setupUpload() {
  const drop = document.getElementById("drop");
  const form = document.getElementById("upload-form");
  const list = document.getElementById("progress");
  if (!drop || !form || !list) return;

  function send(file, rel) {
    const li = document.createElement("li");
    const name = document.createElement("span"); name.textContent = rel;
    const bar = document.createElement("progress"); bar.max = file.size || 1; bar.value = 0;
    const state = document.createElement("span"); state.textContent = "0 %";
    li.append(name, bar, state); list.append(li);
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", "/upload/file?path=" + encodeURIComponent(rel));
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) { bar.value = e.loaded; state.textContent = Math.round(100 * e.loaded / e.total) + " %"; }
      });
      xhr.addEventListener("load", () => {
        let msg = list.dataset.failed;
        try { const r = JSON.parse(xhr.responseText); msg = xhr.status === 200 ? list.dataset.done : (r.error || msg); } catch (e) { /* keep */ }
        bar.value = bar.max; state.textContent = msg; li.className = xhr.status === 200 ? "ok" : "bad"; resolve();
      });
      xhr.addEventListener("error", () => { state.textContent = list.dataset.failed; li.className = "bad"; resolve(); });
      xhr.send(file);
    });
  }
  const after = document.getElementById("after-upload");
  async function sendAll(pairs) {
    if (after) after.hidden = true;
    for (const [file, rel] of pairs) await send(file, rel);
    if (after && pairs.length) { after.hidden = false; }
  }

  function walk(entry, prefix, out) {
    return new Promise((resolve) => {
      if (entry.isFile) { entry.file((f) => { out.push([f, prefix + f.name]); resolve(); }, () => resolve()); return; }
      if (!entry.isDirectory) { resolve(); return; }
      const reader = entry.createReader(); const all = [];
      const more = () => reader.readEntries(async (batch) => {
        if (!batch.length) { for (const e of all) await walk(e, prefix + entry.name + "/", out); resolve(); return; }
        all.push(...batch); more();
      }, () => resolve());
      more();
    });
  }
  ["dragenter", "dragover"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((e) => drop.addEventListener(e, () => drop.classList.remove("over")));
  drop.addEventListener("drop", async (ev) => {
    ev.preventDefault();
    const out = [];
    const entries = [...ev.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    if (entries.length) { for (const e of entries) await walk(e, "", out); }
    else { for (const f of ev.dataTransfer.files) out.push([f, f.name]); }
    sendAll(out);
  });
  drop.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); document.getElementById("files").click(); } });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const pairs = [];
    for (const input of form.querySelectorAll('input[type="file"]')) {
      for (const f of input.files) pairs.push([f, f.webkitRelativePath || f.name]);
      input.value = "";
    }
    sendAll(pairs);
  });
}

document.addEventListener("DOMContentLoaded", () => { setupReview(); setupVideo(); setupUpload(); });
