"""Planted text in 12-megapixel photos: is small text still found when the picture is large?

    nice -n 10 .venv/bin/python benchmarks/textlarge.py --work /tmp/textlarge [--half check]
        [--count 2]

Each large photo is a 4 x 4 mosaic of planted photos of the half (benchmarks/textset.py;
the 1024-px wide ones: 4096 px wide, 12-17 MP),
so every word keeps its pixel size (10-80 px) in a ~4096 x 3000 picture. Each mosaic goes
through blurkit's photo flow in this process (one thread) with text off and with text hide;
a word at least 12 px tall counts as hidden when the reader (Tesseract) no longer reads it
and blurkit's detector no longer finds it in the output, as in benchmarks/text.py. The CPU
seconds of both flows are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import textset
from common import DEFAULT_DATA, machine, read_rgb
from text import FOUND_SHARE, found_share


def mosaic(items: list[dict], folder: Path, dest: Path) -> list[dict]:
    """16 planted photos in a 4 x 4 grid (each 1024 wide, rows as tall as their tallest);
    returns the words with their quads moved along."""
    tiles = [read_rgb(folder / it["file"]) for it in items]
    rows, words, y = [], [], 0
    for r in range(4):
        row = tiles[r * 4:(r + 1) * 4]
        h = max(t.shape[0] for t in row)
        canvas = np.zeros((h, 4096, 3), np.uint8)
        x = 0
        for t, it in zip(row, items[r * 4:(r + 1) * 4]):
            canvas[:t.shape[0], x:x + t.shape[1]] = t
            for w in it["words"]:
                words.append({**w, "quad": [[px + x, py + y] for px, py in w["quad"]]})
            x += 1024
        rows.append(canvas)
        y += h
    big = np.vstack(rows)
    cv2.imwrite(str(dest), cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return words


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--half", choices=("tune", "check"), default="check")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--count", type=int, default=2)
    args = ap.parse_args()
    from blurkit.detect.text import load_text_search
    from blurkit.engine.pipeline import Job, Options, Worker

    print(machine())
    items = textset.build(args.data, args.half, args.work / "planted")
    items = [it for it in items if read_rgb(args.work / "planted" / it["file"]).shape[1] == 1024]
    models = Path(os.environ["BLURKIT_MODELS_DIR"])
    workers = {t: Worker(Options(models_dir=models, threads=1, text=t)) for t in ("off", "hide")}
    search = load_text_search(models, threads=1)
    cpu = {"off": 0.0, "hide": 0.0}
    rows = []
    for m in range(args.count):
        group = items[m * 16:(m + 1) * 16]
        if len(group) < 16:
            break
        src = args.work / f"large{m}.jpg"
        words = mosaic(group, args.work / "planted", src)
        for mode, worker in workers.items():
            t = time.process_time()
            result = worker.process(Job(src, args.work / mode, Path("."), "photo"))
            cpu[mode] += time.process_time() - t
            assert result.ok, result.error
            out = Path(result.output)
        h, w = read_rgb(src).shape[:2]
        print(f"large{m}.jpg: {w} x {h}, {len(words)} words; text stage "
              f"{result.timings.get('text', 0):.2f} s wall")
        after = read_rgb(out)
        regions = search.detect(after)
        big = [wd for wd in words if wd["height"] >= textset.MIN_HEIGHT]
        read = textset.read_all([(after, wd) for wd in big])
        for wd, ro in zip(big, read):
            fo = found_share(after.shape, regions, wd["quad"]) >= FOUND_SHARE
            rows.append({**wd, "read_out": ro, "found_out": fo, "hidden": not ro and not fo})
    hidden = sum(r["hidden"] for r in rows)
    print(f"12-MP mosaics of the {args.half} half: planted words >= {textset.MIN_HEIGHT} px hidden "
          f"(not read, not found in the output): {hidden}/{len(rows)} = "
          f"{100 * hidden / max(len(rows), 1):.1f} %; still read: "
          f"{sum(r['read_out'] for r in rows)}, still found: {sum(r['found_out'] for r in rows)}")
    print(f"CPU seconds: text off {cpu['off']:.1f}, text hide {cpu['hide']:.1f} "
          f"(+{100 * (cpu['hide'] / cpu['off'] - 1):.0f} %)")
    (args.work / "large_words.json").write_text(json.dumps(rows, ensure_ascii=False, indent=0),
                                                encoding="utf-8")


if __name__ == "__main__":
    main()
