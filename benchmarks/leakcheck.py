"""Independent leak check for anonymized videos.

Runs SCRFD-2.5G (InsightFace weights from the pinned `scrfd` sdist; blurkit's default
detector is CenterFace, a different model and training) at full resolution on every frame
and lists every face it finds at least `min_height` px tall (score >= 0.5, its usual
operating point).

    .venv/bin/python benchmarks/leakcheck.py OUTPUT.mp4 [--min-height 32] [--reference INPUT.mp4]

With --reference, the same detector also runs on the input, so the report says how many
faces were there to hide, and every face found in the output is judged against the input
frame it came from (`judge`):

* a *leak* when the input frame has a face there: any detection of the same detector at a
  score as low as ARTEFACT_SCORE (0.2, far below the 0.5 used on the output) that overlaps
  the output's box at all;
* an *artefact* when the input has nothing face-like at that place even at that low score:
  a pattern the hiding itself made (a smeared head above a shirt collar reads as a face to
  SCRFD at 0.53 in one pedestrian frame). Artefacts are listed frame by frame with their
  boxes so a person can look; they are never silently dropped.

A face partly uncovered by a mask that is too small overlaps the input's face box, so it is
a leak under this rule; only a detection with no face anywhere under it in the input is not.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from common import ROOT  # noqa: F401  (puts the project on sys.path)

from blurkit import modelstore
from blurkit.detect.nms import nms
from blurkit.detect.scrfd import ScrfdNet
from blurkit.media.video import read_frames

SCORE = 0.5
ARTEFACT_SCORE = 0.2   # input detections this weak still make an output face at that place a leak


def models_dir() -> Path:
    from blurkit.config import load_settings
    return load_settings().models_dir


def frame_faces(net: ScrfdNet, rgb: np.ndarray, score: float = SCORE,
                min_height: float = 0.0) -> list[tuple[tuple, float]]:
    """[(box, score), ...]: SCRFD at full resolution on one picture, after NMS, scoring above
    `score` and at least `min_height` px tall. Greedy NMS keeps the same boxes above a score
    whatever weaker ones it was also given, so `strong(frame_faces(net, rgb, ARTEFACT_SCORE))`
    equals `frame_faces(net, rgb)`: one inference serves both bars."""
    boxes, scores, _ = net.infer(rgb, score)
    keep = nms(boxes, scores, 0.4) if len(boxes) else []
    return [(tuple(float(v) for v in boxes[i]), float(scores[i])) for i in keep
            if boxes[i][3] - boxes[i][1] >= min_height]


def strong(found: list[tuple[tuple, float]], min_height: float = 0.0) -> list[tuple[tuple, float]]:
    """The faces of `found` above SCORE and at least `min_height` px tall."""
    return [(b, s) for b, s in found if s > SCORE and b[3] - b[1] >= min_height]


def _rounded(found: list[tuple[tuple, float]]) -> list[tuple[tuple, float]]:
    return [(tuple(round(v, 1) for v in b), round(s, 3)) for b, s in found]


def faces_per_frame(path: Path, net: ScrfdNet, min_height: float) -> list[list[tuple]]:
    """[(box, score), ...] per frame: SCRFD at full resolution, faces >= min_height px."""
    return [_rounded(frame_faces(net, frame.rgb, SCORE, min_height))
            for frame in read_frames(path)]


def input_faces(net: ScrfdNet, rgb: np.ndarray) -> list[tuple[tuple, float]]:
    """Every face-like detection of an input frame, of any size, down to ARTEFACT_SCORE."""
    return frame_faces(net, rgb, ARTEFACT_SCORE)


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def judge(found: list[tuple], in_faces: list[tuple]) -> tuple[list, list]:
    """Split the faces found in an output frame into (leaks, artefacts); see the module text.
    Both lists hold boxes or (box, score) pairs (`input_faces`)."""
    def box(f):
        return f[0] if isinstance(f[0], tuple) else f
    leaks = [f for f in found if any(_overlaps(box(f), box(g)) for g in in_faces)]
    return leaks, [f for f in found if f not in leaks]


def judge_video(output: Path, reference: Path, net: ScrfdNet, min_height: float,
                inputs: list[list[tuple]] | None = None) -> list[tuple[list, list]]:
    """(leaks, artefacts) per frame of `output`, judged against the same frame of `reference`
    (`inputs`: its `input_faces` per frame, when the caller has them already)."""
    found = faces_per_frame(output, net, min_height)
    if inputs is None:
        inputs = [input_faces(net, frame.rgb) for frame in read_frames(reference)]
    if len(inputs) != len(found):
        raise SystemExit(f"{output}: {len(found)} frames, but {len(inputs)} in {reference}")
    return [judge(f, g) for f, g in zip(found, inputs)]


def summary(judged: list[tuple[list, list]]) -> str:
    """'L leaked frames of N; A frames with artefacts' plus each artefact's frame and box."""
    leaked = sum(1 for leaks, _ in judged if leaks)
    odd = [(i, a) for i, (_, a) in enumerate(judged) if a]
    text = f"{leaked} leaked frames of {len(judged)}"
    if odd:
        text += (f"; {len(odd)} frames with an artefact (no face in the input there): "
                 + ", ".join(f"frame {i} {a}" for i, a in odd[:10]))
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video", type=Path)
    ap.add_argument("--reference", type=Path)
    ap.add_argument("--min-height", type=float, default=32)
    args = ap.parse_args()
    net = ScrfdNet(modelstore.model_path(models_dir(), "scrfd"), threads=os.cpu_count() or 1)
    if args.reference:
        inputs = [input_faces(net, frame.rgb) for frame in read_frames(args.reference)]
        ref = [strong(f, args.min_height) for f in inputs]
        print(f"input: {sum(map(len, ref))} faces >= {args.min_height:g} px in "
              f"{sum(1 for f in ref if f)} of {len(ref)} frames")
        print("output: " + summary(judge_video(args.video, args.reference, net,
                                               args.min_height, inputs)))
        return
    leaks = faces_per_frame(args.video, net, args.min_height)
    bad = [(i, f) for i, f in enumerate(leaks) if f]
    print(f"output: {sum(len(f) for _, f in bad)} faces >= {args.min_height:g} px in "
          f"{len(bad)} of {len(leaks)} frames")
    for i, found in bad[:50]:
        print(f"  frame {i}: {found}")


if __name__ == "__main__":
    main()
