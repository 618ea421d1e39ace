"""How fast is a keyboard-only review in the browser?

Drives the real thing: photos dropped into the inbox are processed by the real watcher (real
models) into the review stage; `blurkit serve`'s web app runs under uvicorn; Debian's Chromium
(through playwright) reviews 100 photos with the keyboard alone: the start link with Tab and
Enter, then A (approve) on each photo. Page-ready time = from the key press to the next
photo page loaded with its picture decoded. Measured with 100 and with 1,000 items waiting in
the queue when the review begins (the queue shrinks by one per approval).

Baseline in the same run: loading a trivial page of the same app (the 404 page, same template
and middleware) in the same browser, so the ratio says what the review page costs beyond the
browser and server themselves on this (shared, noisy) machine.

    .venv/bin/python benchmarks/review_ui.py                # 100 and 1000 in the queue
    .venv/bin/python benchmarks/review_ui.py --queues 100   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BLURKIT_MODELS_DIR", str(ROOT / ".cache" / "models"))

from tests.webkit import CHROMIUM, LiveServer, WatcherThread, make_web, wait_for  # noqa: E402


def hardware() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.machine()}, "
            f"Python {platform.python_version()}")


def make_photos(inbox: Path, n: int, start: int) -> None:
    """n small, distinct photos (a sample portrait with its own noise), dropped atomically."""
    with Image.open(ROOT / "samples" / "portrait_exif_gps_thumbnail.jpg") as im:
        base = np.asarray(im.convert("RGB").resize((480, 360)))
    rng = np.random.default_rng(start)
    for k in range(start, start + n):
        arr = np.clip(base.astype(np.int16) + rng.integers(-6, 7, base.shape), 0, 255)
        tmp = inbox / f".p{k:05d}.jpg.part"
        Image.fromarray(arr.astype(np.uint8)).save(tmp, "JPEG", quality=88)
        os.rename(tmp, inbox / f"p{k:05d}.jpg")


def pending(web) -> int:
    return web.review.desk.count_pending()


def review(page, server, n: int) -> list[float]:
    page.goto(server.url + "/review")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "start":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#picture")
    times = []
    for _ in range(n):
        before = page.url
        t0 = time.perf_counter()
        page.keyboard.press("a")
        # the load event comes after the page's picture is fetched and decoded
        page.wait_for_url(lambda url, before=before: url != before, wait_until="load")
        times.append(time.perf_counter() - t0)
    return times


def baseline(page, server, n: int = 50) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        page.goto(server.url + "/review/0")
        times.append(time.perf_counter() - t0)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    s = sorted(times)
    return statistics.median(s), s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queues", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--review", type=int, default=100, help="photos reviewed per queue size")
    args = ap.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    print(f"hardware: {hardware()}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        web, app = make_web(data, settle=0.2)
        made = 0
        results = []
        with WatcherThread(web), LiveServer(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            for size in args.queues:
                need = size - pending(web)
                t0 = time.perf_counter()
                if need > 0:
                    make_photos(web.watch.inbox, need, made)
                    made += need
                wait_for(lambda: pending(web) >= size, timeout=60 + 2.0 * size,
                         what=f"{size} items in review")
                seeded = time.perf_counter() - t0
                base = baseline(page, server)
                times = review(page, server, min(args.review, size - 1))
                med, p95 = summary(times)
                bmed, _ = summary(base)
                results.append((size, med, p95, bmed))
                print(f"queue {size:5d}: seeded in {seeded:6.1f} s; page-ready median "
                      f"{med * 1000:6.0f} ms, p95 {p95 * 1000:6.0f} ms over {len(times)} photos; "
                      f"baseline page {bmed * 1000:5.0f} ms; ratio {med / bmed:5.2f}")
            browser.close()
        print("target: median under 300 ms")
        for size, med, p95, bmed in results:
            print(f"  {size:5d} in queue: {'OK' if med < 0.3 else 'OVER'} "
                  f"(median {med * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
