"""Tuning aid for thresholds and masks, in-process and on ONE half of the photo benchmark.

    .venv/bin/python benchmarks/masktune.py [--half tune] [--cache /tmp/blurkit-tune.pkl]
        [--mask head] [--margin 0.35] [--crowd 0.05] [--threshold 0.4]

The detector's raw candidates (every pass, every score above the network's floor) are
computed once per image and cached outside the repository; then a choice of thresholds and
hiding style is applied exactly as the pipeline applies it (select, hide, self-check and
strengthen, JPEG at quality 92) and judged with the benchmark's own measures: coverage by
face size, touched negatives, collateral. Only the half named by --half is read; choices
are made on `tune`, and `benchmarks/photos.py` reports `check` end to end.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np
from common import DEFAULT_DATA, covered, read_rgb, touched
from photos import BUCKETS, bucket, load_sets
from photosplit import changed_mask, face_area

from blurkit.detect import NET_PARAMS, load_detector  # noqa: E402
from blurkit.engine.redact import Style, redact, still_visible  # noqa: E402


def default_models_dir() -> Path:
    """The models folder every benchmark uses (`common` sets BLURKIT_MODELS_DIR on import)."""
    return Path(os.environ["BLURKIT_MODELS_DIR"])


def build_cache(half: str, data: Path, cache: Path, search=None) -> dict:
    """Raw candidates of every photo of `half`, by `search` (the shipped one by default),
    from `cache` when it exists."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    faces, negatives = load_sets(data, None)[half]
    search = search or load_detector("centerface", default_models_dir(), threads=2)
    out = {}
    for path in list(faces) + negatives:
        rgb = read_rgb(path)
        out[str(path)] = search.candidates(rgb)
        print(".", end="", flush=True, file=sys.stderr)
    cache.write_bytes(pickle.dumps(out))
    return out


def jpeg(rgb: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 92])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def hide(rgb, boxes, style: Style):
    out = redact(rgb, boxes, style)
    leaks = still_visible(rgb, out, boxes)
    if leaks:
        out = redact(out, leaks, Style(mode="destroy", mask="box", margin=style.margin))
    return out


MISSES: list | None = None


def _best_raw(per_net, box_xywh) -> tuple[float, str]:
    """The best raw score (any pass, above the floor) of a candidate on this face."""
    x, y, w, h = box_xywh
    best = (0.0, "")
    for _, c in per_net:
        if not len(c.scores):
            continue
        b = c.boxes
        ix = np.clip(np.minimum(b[:, 2], x + w) - np.maximum(b[:, 0], x), 0, None)
        iy = np.clip(np.minimum(b[:, 3], y + h) - np.maximum(b[:, 1], y), 0, None)
        iou = ix * iy / ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) + w * h - ix * iy)
        ok = np.nonzero(iou > 0.3)[0]
        if len(ok):
            i = ok[np.argmax(c.scores[ok])]
            best = max(best, (float(c.scores[i]), c.tags[i]))
    return best


def evaluate(cache: dict, half: str, data: Path, style: Style, net_params: dict) -> dict:
    faces, negatives = load_sets(data, None)[half]
    search = load_detector("centerface", default_models_dir(), threads=1,
                           net_params=net_params)
    hits = {name: [0, 0] for name, _, _ in BUCKETS}
    changed = area = 0
    dets = 0
    for path, boxes in faces.items():
        rgb = read_rgb(path)
        per_net = [(search.nets[0][1], c) for _, c in cache[str(path)]]
        kept, _ = search._select(per_net, with_candidates=False)
        dets += len(kept)
        out = jpeg(hide(rgb, [d.box for d in kept], style))
        changed += int(changed_mask(rgb, out).sum())
        area += face_area(rgb.shape, [f["box"] for f in boxes])
        for f in boxes:
            b = bucket(f["box"][3])
            if b:
                ok = covered(rgb, out, f["box"])
                hits[b][1] += 1
                hits[b][0] += ok
                if not ok and MISSES is not None:
                    MISSES.append((path, f, _best_raw(cache[str(path)], f["box"])))
    neg = 0
    for path in negatives:
        rgb = read_rgb(path)
        per_net = [(search.nets[0][1], c) for _, c in cache[str(path)]]
        kept, _ = search._select(per_net, with_candidates=False)
        neg += bool(kept) and touched(rgb, jpeg(hide(rgb, [d.box for d in kept], style)))
    return {"coverage": hits, "collateral": changed / area, "negatives": f"{neg}/{len(negatives)}",
            "detections": dets}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--half", default="tune")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--mode", default="destroy")
    ap.add_argument("--mask", default=Style().mask)
    ap.add_argument("--margin", type=float, default=Style().margin)
    ap.add_argument("--set", action="append", default=[],
                    help="NetParams field=value for centerface, e.g. crowd_threshold=0.1")
    ap.add_argument("--misses", action="store_true", help="list the faces not covered")
    args = ap.parse_args()
    global MISSES
    if args.misses:
        MISSES = []
    cache_path = args.cache or Path(f"/tmp/blurkit-{args.half}-candidates.pkl")
    cache = build_cache(args.half, args.data, cache_path)
    params = NET_PARAMS["centerface"]
    for kv in args.set:
        k, v = kv.split("=")
        params = dataclasses.replace(params, **{k: float(v)})
    r = evaluate(cache, args.half, args.data, Style(args.mode, args.mask, args.margin),
                 {"centerface": params})
    c = r["coverage"]
    ge = [c["32-63"][0] + c["64+"][0], c["32-63"][1] + c["64+"][1]]
    print(f"{args.half}: mask={args.mask} margin={args.margin} {params} | "
          f"16-31 {c['16-31'][0] / c['16-31'][1]:.3f} >=32 {ge[0] / ge[1]:.3f} "
          f"64+ {c['64+'][0] / c['64+'][1]:.3f} neg {r['negatives']} "
          f"collateral {r['collateral']:.2f}x dets {r['detections']}")
    for path, f, (raw, tag) in MISSES or []:
        attrs = " ".join(f"{a}={f[a]}" for a in ("occlusion", "pose", "illumination", "blur"))
        print(f"  miss {Path(path).name} box={f['box']} {attrs} best raw score {raw:.2f} {tag}")


if __name__ == "__main__":
    main()
