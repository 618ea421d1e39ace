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
function setupReview() {
  const review = document.querySelector(".review");
  if (!review) return;
  const overlay = document.getElementById("overlay");
  const picture = document.getElementById("picture");
  const toggle = document.getElementById("toggle-overlay");
  const compare = document.getElementById("compare");
  const showing = document.getElementById("showing");
  const rejectForm = document.getElementById("reject-form");

  if (rejectForm) {
    rejectForm.addEventListener("submit", (ev) => {
      if (!window.confirm(rejectForm.dataset.confirm)) ev.preventDefault();
    });
  }
  function toggleOverlay() {
    if (!overlay) return;
    const off = overlay.classList.toggle("off");
    if (toggle) toggle.setAttribute("aria-pressed", off ? "false" : "true");
  }
  if (toggle) toggle.addEventListener("click", toggleOverlay);

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

  // drawing a region on the picture fills in the region form (image pixel coordinates)
  const drawing = document.getElementById("drawing");
  const fields = ["x1", "y1", "x2", "y2"].map((id) => document.getElementById(id));
  if (overlay && drawing && fields[0]) {
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
    overlay.addEventListener("pointerdown", (ev) => { start = point(ev); overlay.setPointerCapture(ev.pointerId); draw(start, start); });
    overlay.addEventListener("pointermove", (ev) => { if (start) draw(start, point(ev)); });
    overlay.addEventListener("pointerup", (ev) => {
      if (!start) return;
      const end = point(ev);
      const box = [Math.min(start.x, end.x), Math.min(start.y, end.y), Math.max(start.x, end.x), Math.max(start.y, end.y)];
      start = null;
      if (box[2] - box[0] < 3 || box[3] - box[1] < 3) return;
      box.forEach((v, i) => { fields[i].value = Math.round(v); });
      document.getElementById("hide-region").focus();
    });
  }

  document.addEventListener("keydown", (ev) => {
    if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key.toLowerCase();
    const click = (id) => { const el = document.getElementById(id); if (el) { ev.preventDefault(); el.click(); } };
    if (key === "a") click("approve");
    else if (key === "r") click("reject");
    else if (key === "j" || ev.key === "ArrowRight") click("next");
    else if (key === "k" || ev.key === "ArrowLeft") click("prev");
    else if (key === "o") { ev.preventDefault(); toggleOverlay(); }
    else if (key === "h") click("hide-region");
    else if (key === "c" && !ev.repeat) { ev.preventDefault(); showOriginal(true); }
  });
  document.addEventListener("keyup", (ev) => { if (ev.key.toLowerCase() === "c") showOriginal(false); });
}

// ---------------------------------------------------------------- video page
function setupVideo() {
  const player = document.getElementById("player");
  if (!player) return;
  const set = (button, field) => {
    const b = document.getElementById(button), f = document.getElementById(field);
    if (b && f) b.addEventListener("click", () => { f.value = player.currentTime.toFixed(2); });
  };
  set("set-from", "t-from");
  set("set-to", "t-to");
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
  async function sendAll(pairs) { for (const [file, rel] of pairs) await send(file, rel); }

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
