"""Tuning the text search on the tune half: how many planted words each setting covers, and
its CPU time, without running the whole flow or the reader.

    nice -n 10 .venv/bin/python benchmarks/texttune.py --work /tmp/texttune \\
        '{}' '{"coarse_side": 512}' '{"coarse_side": 4000}' ...

Each argument is a JSON object of `blurkit.detect.text.TextParams` fields (`{}`: the
defaults). The planted set of the tune half (benchmarks/textset.py) is built in WORK. A word
at least 12 px tall counts as covered when 90 % of its quadrilateral lies inside the lines
found, each grown as the text mask grows it (blurkit/textmask.py, TEXT_MARGIN). CPU seconds
of the search per photo (one thread) are printed beside; the machine is shared, CPU time is
far less disturbed by other work than wall time. This is the proxy the search's settings were
chosen with; benchmarks/text.py is the measure (the independent reader, end to end).
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--margin", type=float, default=None, help="text mask margin (default: "
                    "blurkit.engine.textmask.TEXT_MARGIN)")
    ap.add_argument("settings", nargs="*", default=["{}"])
    args = ap.parse_args()
    from blurkit import modelstore
    from blurkit.detect.text import TextNet, TextParams, TextSearch
    from blurkit.engine.textmask import TEXT_MARGIN, grown_quad

    margin = TEXT_MARGIN if args.margin is None else args.margin
    print(machine())
    items = textset.build(args.data, "tune", args.work)
    images = [read_rgb(args.work / it["file"]) for it in items]
    net = TextNet(modelstore.model_path(Path(os.environ["BLURKIT_MODELS_DIR"]), "ppocr_det"), 1)
    print(f"tune half: {len(items)} photos, "
          f"{sum(w['height'] >= textset.MIN_HEIGHT for it in items for w in it['words'])} "
          f"words >= {textset.MIN_HEIGHT} px; margin {margin}")
    for setting in args.settings:
        search = TextSearch(net, TextParams(**json.loads(setting)))
        t = time.process_time()
        found = [search.detect(img) for img in images]
        seconds = (time.process_time() - t) / len(images)
        groups: dict[str, list[bool]] = {}
        for it, img, regions in zip(items, images, found):
            cover = np.zeros(img.shape[:2], np.uint8)
            for r in regions:
                cv2.fillPoly(cover, [np.round(grown_quad(r, margin)).astype(np.int32)], 1)
            for w in it["words"]:
                if w["height"] < textset.MIN_HEIGHT:
                    continue
                word = np.zeros(img.shape[:2], np.uint8)
                cv2.fillPoly(word, [np.round(np.asarray(w["quad"])).astype(np.int32)], 1)
                share = float((word & cover).sum()) / max(int(word.sum()), 1)
                key = "12-19" if w["height"] < 20 else ("20-39" if w["height"] < 40 else "40+")
                groups.setdefault(key, []).append(share >= 0.9)
        every = [v for g in groups.values() for v in g]
        print(f"{setting}: covered {sum(every)}/{len(every)} = {100 * np.mean(every):.1f} % ("
              + ", ".join(f"{k} px {sum(v)}/{len(v)}" for k, v in sorted(groups.items()))
              + f"); {seconds:.3f} CPU s per photo", flush=True)


if __name__ == "__main__":
    main()
