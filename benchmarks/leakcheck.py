"""Independent leak check for anonymized videos.

Runs SCRFD-2.5G (InsightFace weights from the pinned `scrfd` sdist; blurkit's default
detector is CenterFace, a different model and training) at full resolution on every frame
and lists every face it finds at least `min_height` px tall (score >= 0.5, its usual
operating point).

    .venv/bin/python benchmarks/leakcheck.py OUTPUT.mp4 [--min-height 32] [--reference INPUT.mp4]

With --reference, the same detector also runs on the input, so the report says how many
faces were there to hide.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from common import ROOT  # noqa: F401  (puts the project on sys.path)
from blurkit import modelstore
from blurkit.detect.common import nms
from blurkit.detect.scrfd import ScrfdNet
from blurkit.media.video import read_frames

SCORE = 0.5


def models_dir() -> Path:
    from blurkit.config import load_settings
    return load_settings().models_dir


def faces_per_frame(path: Path, net: ScrfdNet, min_height: float) -> list[list[tuple]]:
    """[(box, score), ...] per frame: SCRFD at full resolution, faces >= min_height px."""
    out = []
    for frame in read_frames(path):
        boxes, scores, _ = net.infer(frame.rgb, SCORE)
        keep = nms(boxes, scores, 0.4) if len(boxes) else []
        found = [(tuple(round(float(v), 1) for v in boxes[i]), round(float(scores[i]), 3))
                 for i in keep if boxes[i][3] - boxes[i][1] >= min_height]
        out.append(found)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video", type=Path)
    ap.add_argument("--reference", type=Path)
    ap.add_argument("--min-height", type=float, default=32)
    args = ap.parse_args()
    net = ScrfdNet(modelstore.model_path(models_dir(), "scrfd"), threads=os.cpu_count() or 1)
    if args.reference:
        ref = faces_per_frame(args.reference, net, args.min_height)
        print(f"input: {sum(map(len, ref))} faces >= {args.min_height:g} px in "
              f"{sum(1 for f in ref if f)} of {len(ref)} frames")
    leaks = faces_per_frame(args.video, net, args.min_height)
    bad = [(i, f) for i, f in enumerate(leaks) if f]
    print(f"output: {sum(len(f) for _, f in bad)} faces >= {args.min_height:g} px in "
          f"{len(bad)} of {len(leaks)} frames")
    for i, found in bad[:50]:
        print(f"  frame {i}: {found}")


if __name__ == "__main__":
    main()
