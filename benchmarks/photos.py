"""Photo benchmark: coverage and speed of blurkit against deface, same images, same run.

    .venv/bin/python benchmarks/photos.py [--data ../shared/data] [--rounds 1] [--large 4]

Images: the WIDER FACE validation subset (official boxes) and the face-free negatives in
../shared/data. Both tools process copies of the same files from the command line, end to
end (start-up, decoding, detection, hiding, encoding). Everything is judged from the output
pixels only:

* a ground-truth face counts as covered when the high-pass detail (image minus its Gaussian
  blur, sigma 2) of original and output correlates below 0.3 over the inner 70% of the box;
  coverage is reported by face height (16-31, 32-63, 64+ px);
* a negative image counts as touched when any region of it was hidden.

`--large K` also builds K 12-megapixel photos, each a 4 x 4 mosaic of WIDER images (faces
keep their pixel size), to check that small faces are still found in large photos.
deface runs in its own virtual environment (deface==1.5.0, default settings). The machine
and its load are printed; the ratio is what to compare, since the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from common import DEFAULT_DATA, ROOT, covered, deface_bin, machine, read_rgb, touched

BUCKETS = (("16-31", 16, 32), ("32-63", 32, 64), ("64+", 64, 10 ** 9))


def bucket(h: float) -> str | None:
    for name, lo, hi in BUCKETS:
        if lo <= h < hi:
            return name
    return None


def load_sets(data: Path, limit: int | None):
    wider = data / "wider_face_val_subset"
    boxes = json.loads((wider / "boxes_xywh.json").read_text())
    faces = {wider / k: v for k, v in sorted(boxes.items())[:limit]}
    negatives = sorted((data / "negatives_no_faces").glob("*.jpg"))
    return faces, negatives


def make_large(faces: dict[Path, list], count: int, dest: Path) -> dict[Path, list]:
    """`count` ~12-MP mosaics of 4 x 4 WIDER photos, with their boxes moved along."""
    out = {}
    items = list(faces.items())
    for m in range(count):
        tiles = items[m * 16:(m + 1) * 16]
        if len(tiles) < 16:
            break
        cell_w, cell_h = 1024, 768
        canvas = np.zeros((cell_h * 4, cell_w * 4, 3), np.uint8)
        boxes = []
        for i, (path, bxs) in enumerate(tiles):
            img = read_rgb(path)[:cell_h, :cell_w]
            oy, ox = (i // 4) * cell_h, (i % 4) * cell_w
            canvas[oy:oy + img.shape[0], ox:ox + img.shape[1]] = img
            for x, y, w, h in bxs:
                if y + h <= img.shape[0] and x + w <= img.shape[1]:
                    boxes.append([x + ox, y + oy, w, h])
        path = dest / f"mosaic12mp_{m}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        out[path] = boxes
    return out


def run_blurkit(src: Path, out: Path, work: Path, workers: int | None,
                detector: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "blurkit", "--data-dir", str(work / "blurkit-data"),
           "process", str(src), "-o", str(out), "--report", str(work / "report.json"),
           "--detector", detector]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"blurkit failed:\n{proc.stderr[-2000:]}")
    return seconds, json.loads((work / "report.json").read_text())


def run_deface(src: Path) -> float:
    exe = deface_bin()
    files = sorted(str(p) for p in src.iterdir())
    t = time.perf_counter()
    proc = subprocess.run([str(exe), *files], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"deface failed:\n{proc.stderr[-2000:]}")
    return seconds


def score(faces: dict[Path, list], negatives: list[Path], output_of) -> dict:
    """Coverage and touched negatives. A photo a tool did not publish (an error) counts as
    not covered: from the outputs alone there is nothing to show it was handled."""
    hits = {name: [0, 0] for name, _, _ in BUCKETS}
    missing = 0
    for path, boxes in faces.items():
        original = read_rgb(path)
        out = output_of(path)
        result = read_rgb(out) if out.exists() else None
        missing += result is None
        for box in boxes:
            b = bucket(box[3])
            if b is None:
                continue
            hits[b][1] += 1
            hits[b][0] += result is not None and covered(original, result, box)
    neg = 0
    for p in negatives:
        out = output_of(p)
        if not out.exists():
            missing += 1
            continue
        neg += touched(read_rgb(p), read_rgb(out))
    return {"coverage": hits, "negatives_touched": neg, "negatives": len(negatives),
            "missing": missing}


def fmt_cov(c: list[int]) -> str:
    return f"{c[0] / c[1] * 100:5.1f}% ({c[0]}/{c[1]})" if c[1] else "  n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="only the first N WIDER images")
    ap.add_argument("--rounds", type=int, default=1, help="repeat, alternating who goes first")
    ap.add_argument("--large", type=int, default=0, help="also K 12-MP mosaics")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--detector", default="centerface", help="centerface | scrfd | ensemble")
    ap.add_argument("--no-deface", action="store_true")
    args = ap.parse_args()

    faces, negatives = load_sets(args.data, args.limit)
    print(f"machine: {machine()}")
    print(f"images: {len(faces)} WIDER + {len(negatives)} negatives; "
          f"faces >= 16 px: {sum(1 for v in faces.values() for b in v if b[3] >= 16)}")
    with tempfile.TemporaryDirectory(prefix="blurkit-bench-") as tmp:
        tmp = Path(tmp)
        sets = {"photos": (faces, negatives)}
        if args.large:
            (tmp / "large").mkdir()
            sets[f"12-MP mosaics"] = (make_large(faces, args.large, tmp / "large"), [])
        for set_name, (set_faces, set_neg) in sets.items():
            inputs = list(set_faces) + list(set_neg)
            totals = {"blurkit": 0.0, "deface": 0.0}
            for rnd in range(args.rounds):
                work = tmp / f"{set_name}-{rnd}"
                src_b, src_d = work / "in-blurkit", work / "in-deface"
                for d in (src_b, src_d):
                    d.mkdir(parents=True)
                # unique flat names (WIDER names are unique; negatives too)
                names = {p: f"{i:04d}_{p.name}" for i, p in enumerate(inputs)}
                for p, n in names.items():
                    shutil.copy(p, src_b / n)
                    shutil.copy(p, src_d / n)
                order = ["blurkit", "deface"] if rnd % 2 == 0 else ["deface", "blurkit"]
                for tool in order:
                    if tool == "blurkit":
                        secs, report = run_blurkit(src_b, work / "out-blurkit", work,
                                                   args.workers, args.detector)
                        errors = report["summary"]["errors"]
                        if errors:
                            print(f"  blurkit reported {errors} errors")
                    elif not args.no_deface:
                        secs = run_deface(src_d)
                    else:
                        continue
                    totals[tool] += secs
                    print(f"  round {rnd + 1} {tool:8}: {len(inputs)} images in {secs:6.1f} s "
                          f"= {len(inputs) / secs:5.2f} images/s")
            results = {"blurkit": score(set_faces, set_neg,
                                        lambda p: work / "out-blurkit" / names[p])}
            if not args.no_deface:
                results["deface"] = score(
                    set_faces, set_neg,
                    lambda p: src_d / (Path(names[p]).stem + "_anonymized" + Path(names[p]).suffix))
            n = len(inputs) * args.rounds
            print(f"\n== {set_name}: coverage (high-pass correlation < 0.3 over the inner 70% of "
                  f"the box) and speed")
            print(f"{'':10} {'16-31 px':>20} {'32-63 px':>20} {'64+ px':>20} {'>=32 px':>20} "
                  f"{'negatives touched':>18} {'images/s':>9}")
            for tool, r in results.items():
                c = r["coverage"]
                ge32 = [c["32-63"][0] + c["64+"][0], c["32-63"][1] + c["64+"][1]]
                neg = f"{r['negatives_touched']}/{r['negatives']}" if r["negatives"] else "-"
                print(f"{tool:10} {fmt_cov(c['16-31']):>20} {fmt_cov(c['32-63']):>20} "
                      f"{fmt_cov(c['64+']):>20} {fmt_cov(ge32):>20} {neg:>18} "
                      f"{n / totals[tool]:9.2f}"
                      + (f"   ({r['missing']} not published)" if r["missing"] else ""))
            if not args.no_deface:
                print(f"speed ratio blurkit/deface (images per second): "
                      f"{totals['deface'] / totals['blurkit']:.2f}")


if __name__ == "__main__":
    main()
