"""Peak memory of the worker and of the web server's picture views, per kind of input.

    .venv/bin/python benchmarks/memory.py [--cases 12mp,50mp,largest,bilevel,palette,4k,1080p]
                                          [--no-web] [--keep DIR] [--warm] [--text off]

Every case runs in a fresh subprocess; its peak resident memory is the larger of (a) the sum
of RSS over the whole process tree, sampled every 10 ms from /proc, and (b) the kernel's
own high-water mark (ru_maxrss of the process and of its waited-for children). What runs:

- worker: `pipeline.Worker` with the default detector (models loaded, as the watch
  folder's worker process holds them) processing the file to a verified output;
- web preview: `Previews.get` of the anonymized output at display size (the review page);
- web original: the original shown on explicit request (`review.original`'s work:
  `media.reduced.display_jpeg` of the original).

Inputs are made here (kept in --keep, default /tmp/blurkit-memory-inputs): a 12-MP and a
50-MP JPEG (a gradient with noise, 4:3), the largest photo this machine's limit accepts
(`media.budget.photo_pixel_limit()`, JPEG 4:3), a 1-bit PNG and a palette PNG just under
that limit (square: kilobytes on disk), a 1-second 4K and a 2-second 1080p H.264 clip with
AAC. The figures and the budget (from this machine's memory) are printed with the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from common import machine  # noqa: E402

CASES = ("12mp", "50mp", "largest", "bilevel", "palette", "4k", "1080p")


# --------------------------------------------------------------------------- inputs

def _jpeg(path: Path, width: int, height: int) -> None:
    import cv2
    import numpy as np

    rng = np.random.default_rng(1)
    out = np.empty((height, width, 3), np.uint8)
    xs = np.linspace(0, 255, width, dtype=np.float32)
    for y0 in range(0, height, 512):      # in strips: the maker must not be the peak
        y1 = min(height, y0 + 512)
        ys = np.linspace(y0, y1 - 1, y1 - y0, dtype=np.float32)[:, None] * 255 / height
        base = (xs[None, :] * 0.6 + ys * 0.4)
        for c in range(3):
            out[y0:y1, :, c] = np.clip(base + rng.normal(0, 12, base.shape) + 20 * c, 0, 255)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    path.write_bytes(buf.tobytes())


def _bomb(path: Path, side: int, mode: str) -> None:
    """A square PNG of one colour (1-bit or palette): kilobytes on disk, `side`² pixels."""
    import struct
    import zlib

    bits, colour = (1, 0) if mode == "1" else (8, 3)
    row = bytes(1 + (side * bits + 7) // 8)
    comp = zlib.compressobj(9)
    chunks = [comp.compress(row) for _ in range(side)] + [comp.flush()]
    idat = b"".join(chunks)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", side, side, bits, colour, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", ihdr)]
    if mode == "P":
        parts.append(chunk(b"PLTE", bytes([200, 120, 40]) * 256))
    parts += [chunk(b"IDAT", idat), chunk(b"IEND", b"")]
    path.write_bytes(b"".join(parts))


def make_input(case: str, folder: Path, limit: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = {"12mp": "p12.jpg", "50mp": "p50.jpg", "largest": f"largest-{limit}.jpg",
             "bilevel": f"bilevel-{limit}.png", "palette": f"palette-{limit}.png",
             "4k": "v4k.mp4", "1080p": "v1080.mp4"}
    path = folder / names[case]
    if path.exists():
        return path
    # made in a subprocess: this process stays small (its pages would show in the children)
    subprocess.run([sys.executable, __file__, "--make", case, str(folder), str(limit)],
                   check=True, cwd=str(ROOT))
    return path


def _make(case: str, folder: Path, limit: int) -> None:
    names = {"12mp": "p12.jpg", "50mp": "p50.jpg", "largest": f"largest-{limit}.jpg",
             "bilevel": f"bilevel-{limit}.png", "palette": f"palette-{limit}.png",
             "4k": "v4k.mp4", "1080p": "v1080.mp4"}
    path = folder / names[case]
    if case == "12mp":
        _jpeg(path, 4000, 3000)
    elif case == "50mp":
        _jpeg(path, 8160, 6120)
    elif case == "largest":
        h = int(math.sqrt(limit * 3 / 4)) // 16 * 16
        _jpeg(path, h * 4 // 3, h)
    elif case in ("bilevel", "palette"):
        _bomb(path, int(math.sqrt(limit)) - 8, "1" if case == "bilevel" else "P")
    else:
        import videofactory

        w, h, n = (3840, 2160, 25) if case == "4k" else (1920, 1080, 50)
        videofactory.make_clip(path, width=w, height=h, n=n, audio=("aac",), flash_at=None)


# --------------------------------------------------------------------------- measuring

def _tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants."""
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def measure(args: list[str]) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
    peak, t0 = 0, time.monotonic()
    started = False
    while proc.poll() is None:
        if not started:      # between fork and exec the child still shows this process's pages
            try:
                started = b"--child" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
            except OSError:
                pass
        if started:
            peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.01)
    out, err = proc.communicate()
    seconds = time.monotonic() - t0
    try:
        child = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        child = {"error": (err or out)[-800:]}
    child["sampled_mb"] = round(peak / 2**20)
    child["peak_mb"] = max(child["sampled_mb"], child.get("maxrss_mb", 0))
    child["seconds"] = round(seconds, 1)
    return child


def _report(extra: dict) -> None:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({**extra, "maxrss_mb": round(max(me, kids) / 1024)}))


def child_worker(path: Path, out: Path, warm: Path | None = None) -> None:
    from blurkit.config import load_settings
    from blurkit.engine.pipeline import VIDEO_SUFFIXES, Job, Options, Worker, default_workers

    s = load_settings(Path(tempfile.mkdtemp()))
    worker = Worker(Options(models_dir=s.models_dir, threads=default_workers(),
                            text=os.environ.get("BLURKIT_MEMORY_TEXT", s.text)))
    if warm is not None:     # a long-running worker: its network arena from an earlier file
        worker.process(Job(warm, Path(tempfile.mkdtemp()), Path("."), "photo"))
    kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "photo"
    result = worker.process(Job(path, out, Path("."), kind))
    _report({"ok": result.ok, "error": result.error, "width": result.width,
             "height": result.height})


def child_web(what: str, path: Path, work: Path) -> None:
    import blurkit.web.app  # noqa: F401  (the server's own imports)
    from blurkit.usecases.previews import Previews

    if what == "preview":
        kind = "video" if path.suffix == ".mp4" else "photo"
        dest = Previews(work).get(1, path, "0" * 64, kind, "display")
        size = dest.stat().st_size
    else:
        from blurkit.media.reduced import display_jpeg
        size = len(display_jpeg(path))
    _report({"ok": True, "bytes": size})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--no-web", action="store_true")
    ap.add_argument("--keep", type=Path, default=Path("/tmp/blurkit-memory-inputs"))
    ap.add_argument("--warm", action="store_true",
                    help="photos: also measure a worker that processed the 12-MP photo first "
                         "(as the watch folder's long-running worker)")
    ap.add_argument("--text", choices=["hide", "off"], default="hide",
                    help="the text setting of the measured workers (off: what text costs)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--make", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:
        _make(args.make[0], Path(args.make[1]), int(args.make[2]))
        return 0
    if args.child:
        what, a, b = args.child[:3]
        if what == "worker":
            child_worker(Path(a), Path(b), Path(args.child[3]) if len(args.child) > 3 else None)
        else:
            child_web(what, Path(a), Path(b))
        return 0
    os.environ.setdefault("BLURKIT_MODELS_DIR", str(ROOT / ".cache" / "models"))
    os.environ["BLURKIT_MEMORY_TEXT"] = args.text      # read by the children
    from blurkit.media import budget

    b = budget.current()
    print(f"# {machine()}")
    print(f"# memory {b.total_mb} MB (of which the budget derives), budget {b.budget_mb} MB, "
          f"photo limit {b.photo_pixels / 1e6:.1f} MP, video limit {b.video_pixels / 1e6:.1f} MP "
          f"per frame")
    rows = []
    for case in args.cases.split(","):
        path = make_input(case, args.keep, b.photo_pixels)
        with tempfile.TemporaryDirectory() as tmp:
            w = measure(["--child", "worker", str(path), tmp])
            row = {"case": case, "file": path.name, "file_kb": path.stat().st_size // 1024,
                   "worker_mb": w["peak_mb"], "worker_s": w["seconds"], "ok": w.get("ok"),
                   "error": w.get("error")}
            outputs = [p for p in Path(tmp).iterdir() if not p.name.startswith(".")]
            if args.warm and path.suffix != ".mp4":
                warm = make_input("12mp", args.keep, b.photo_pixels)
                with tempfile.TemporaryDirectory() as tmp2:
                    row["worker_warm_mb"] = measure(["--child", "worker", str(path), tmp2,
                                                     str(warm)])["peak_mb"]
            if not args.no_web:
                if outputs:
                    row["web_preview_mb"] = measure(["--child", "preview", str(outputs[0]),
                                                     tmp + "/cache"])["peak_mb"]
                if path.suffix != ".mp4":
                    o = measure(["--child", "original", str(path), tmp])
                    row["web_original_mb"] = o["peak_mb"] if o.get("ok") else o.get("error")
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    print("| input | file | worker peak | after a 12-MP photo | web: preview | web: original |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        status = "" if r["ok"] else f" (refused: {(r['error'] or '')[:90]})"
        print(f"| {r['case']} | {r['file_kb']} KB | {r['worker_mb']} MB, {r['worker_s']} s{status} "
              f"| {r.get('worker_warm_mb', '-')} MB "
              f"| {r.get('web_preview_mb', '-')} MB | {r.get('web_original_mb', '-')} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
