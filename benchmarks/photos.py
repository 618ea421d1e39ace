"""Photo benchmark: coverage, collateral and speed of blurkit against deface, same images,
same run, on a fixed tune half and check half.

    .venv/bin/python benchmarks/photos.py [--data ../shared/data] [--rounds 1] [--large 4]
        [--halves tune,check] [--compare DIR] [--save /tmp/DIR] [--no-deface]

Images: the WIDER FACE validation subset (official boxes and attributes) and the face-free
negatives in ../shared/data, split once into a *tune* and a *check* half by the parity of
the first byte of each file's SHA-256 (benchmarks/photosplit.py). Thresholds and rules are
chosen on the tune half only; the check half is what a closing note quotes. Each tool
processes copies of one half's files from the command line, end to end (start-up,
decoding, detection, hiding, encoding). Everything is judged from the output pixels only:

* a ground-truth face counts as covered when the high-pass detail (image minus its Gaussian
  blur, sigma 2) of original and output correlates below 0.3 over the inner 70% of the box;
  coverage is reported by face height (16-31, 32-63, 64+ px) and, for faces >= 16 px, by
  WIDER attribute (occlusion, pose, illumination, blur);
* a negative image counts as touched when any region of it was hidden;
* collateral: the pixels a tool changed (photosplit.changed_mask) on the WIDER photos, as a
  multiple of the annotated face-box area, and as the mean fraction of each image.

`--compare DIR` also runs the blurkit found in DIR (e.g. an export of an older commit:
`git archive COMMIT | tar -x -C /tmp/before`) as a third tool, for before/after in one run.
`--save DIR` writes the original and every tool's output of three group photos of the check
half (the Family_Group photos with the most faces) to DIR, for looking at; never the repo.
`--large K` also builds K 12-megapixel photos, each a 4 x 4 mosaic of WIDER images (faces
keep their pixel size), to check that small faces are still found in large photos. They are
made of the check half; `--large-half tune` makes them of the tune half, for choices that
only large photos show (tiling, crowds over a whole 12-MP picture).
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
from photosplit import ATTRIBUTES, HALVES, changed_mask, face_area, half, load_detailed

BUCKETS = (("16-31", 16, 32), ("32-63", 32, 64), ("64+", 64, 10 ** 9))


def bucket(h: float) -> str | None:
    for name, lo, hi in BUCKETS:
        if lo <= h < hi:
            return name
    return None


def load_sets(data: Path, limit: int | None):
    """{half: (faces, negatives)}; faces: path -> list of annotated boxes with attributes."""
    faces = dict(list(load_detailed(data / "wider_face_val_subset").items())[:limit])
    negatives = sorted((data / "negatives_no_faces").glob("*.jpg"))
    out = {h: ({}, []) for h in HALVES}
    for path, boxes in faces.items():
        out[half(path)][0][path] = boxes
    for path in negatives:
        out[half(path)][1].append(path)
    return out


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
            for face in bxs:
                x, y, w, h = face["box"]
                if y + h <= img.shape[0] and x + w <= img.shape[1]:
                    boxes.append({**face, "box": [x + ox, y + oy, w, h]})
        path = dest / f"mosaic12mp_{m}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        out[path] = boxes
    return out


def run_blurkit(src: Path, out: Path, work: Path, workers: int | None, detector: str,
                code: Path = ROOT, extra: list[str] = ()) -> tuple[float, dict]:
    report = work / f"report-{out.name}.json"
    cmd = [sys.executable, "-m", "blurkit", "--data-dir", str(work / f"data-{out.name}"),
           "process", str(src), "-o", str(out), "--report", str(report),
           "--detector", detector, *extra]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=code, env=env)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"blurkit ({code}) failed:\n{proc.stderr[-2000:]}")
    return seconds, json.loads(report.read_text())


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
    """Coverage (by size and by attribute), touched negatives and collateral. A photo a tool
    did not publish (an error) counts as not covered: from the outputs alone there is
    nothing to show it was handled."""
    hits = {name: [0, 0] for name, _, _ in BUCKETS}
    attrs = {a: {v: [0, 0] for v in range(len(names))} for a, names in ATTRIBUTES.items()}
    missing = 0
    changed = area = 0
    fractions = []
    for path, boxes in faces.items():
        original = read_rgb(path)
        out = output_of(path)
        result = read_rgb(out) if out.exists() else None
        missing += result is None
        if result is not None:
            mask = changed_mask(original, result)
            changed += int(mask.sum())
            area += face_area(original.shape, [f["box"] for f in boxes])
            fractions.append(float(mask.mean()))
        for face in boxes:
            box = face["box"]
            b = bucket(box[3])
            if b is None:
                continue
            ok = result is not None and covered(original, result, box)
            hits[b][1] += 1
            hits[b][0] += ok
            for a in ATTRIBUTES:
                attrs[a][face[a]][1] += 1
                attrs[a][face[a]][0] += ok
    neg = 0
    for p in negatives:
        out = output_of(p)
        if not out.exists():
            missing += 1
            continue
        neg += touched(read_rgb(p), read_rgb(out))
    return {"coverage": hits, "attributes": attrs, "negatives_touched": neg,
            "negatives": len(negatives), "missing": missing,
            "collateral": changed / area if area else float("nan"),
            "changed_fraction": float(np.mean(fractions)) if fractions else float("nan")}


def fmt_cov(c: list[int]) -> str:
    return f"{c[0] / c[1] * 100:5.1f}% ({c[0]}/{c[1]})" if c[1] else "  n/a"


def ge32(c: dict) -> list[int]:
    return [c["32-63"][0] + c["64+"][0], c["32-63"][1] + c["64+"][1]]


def print_results(title: str, results: dict, speeds: dict) -> None:
    """results: {(half, tool): score}, speeds: {(half, tool): images/s}."""
    print(f"\n== {title}: coverage (high-pass correlation < 0.3 over the inner 70% of the box), "
          f"negatives touched, collateral (changed area / face-box area; mean share of the "
          f"image), speed")
    print(f"{'half':6} {'tool':9} {'16-31 px':>18} {'32-63 px':>18} {'64+ px':>18} "
          f"{'>=32 px':>18} {'neg.':>6} {'collat.':>8} {'image%':>7} {'img/s':>6}")
    for (h, tool), r in results.items():
        c = r["coverage"]
        neg = f"{r['negatives_touched']}/{r['negatives']}" if r["negatives"] else "-"
        print(f"{h:6} {tool:9} {fmt_cov(c['16-31']):>18} {fmt_cov(c['32-63']):>18} "
              f"{fmt_cov(c['64+']):>18} {fmt_cov(ge32(c)):>18} {neg:>6} "
              f"{r['collateral']:7.2f}x {r['changed_fraction'] * 100:6.1f}% "
              f"{speeds[(h, tool)]:6.2f}"
              + (f"   ({r['missing']} not published)" if r["missing"] else ""))
    print(f"\n-- {title}: coverage of faces >= 16 px by WIDER attribute")
    cols = [(a, v, name) for a, names in ATTRIBUTES.items() for v, name in enumerate(names)]
    print(f"{'half':6} {'tool':9} " + " ".join(f"{a[:5] + ':' + n:>15}" for a, _, n in cols))
    for (h, tool), r in results.items():
        cells = []
        for a, v, _ in cols:
            ok, n = r["attributes"][a][v]
            cells.append(f"{ok / n * 100:5.1f}% of {n:4d}" if n else "n/a")
        print(f"{h:6} {tool:9} " + " ".join(f"{c:>15}" for c in cells))


def save_group_photos(faces: dict[Path, list], outputs: dict[str, callable], dest: Path) -> None:
    groups = sorted((p for p in faces if "Family_Group" in p.parent.name),
                    key=lambda p: (-len(faces[p]), p.name))[:3]
    dest.mkdir(parents=True, exist_ok=True)
    for p in groups:
        shutil.copy(p, dest / f"{p.stem}__original.jpg")
        for tool, output_of in outputs.items():
            out = output_of(p)
            if out.exists():
                shutil.copy(out, dest / f"{p.stem}__{tool}.jpg")
    print(f"\ngroup photos (check half) written to {dest}: " + ", ".join(p.name for p in groups))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="only the first N WIDER images")
    ap.add_argument("--halves", default="tune,check", help="tune, check or both (default)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat, alternating who goes first")
    ap.add_argument("--large", type=int, default=0, help="also K 12-MP mosaics (check half)")
    ap.add_argument("--large-half", default="check", choices=HALVES,
                    help="the half the mosaics are made of: check (what a note quotes), or "
                         "tune (to choose tiling or crowd rules on mosaics)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--detector", default="centerface", help="centerface | scrfd | ensemble")
    ap.add_argument("--compare", type=Path, default=None,
                    help="also run the blurkit source tree in this folder (label 'before')")
    ap.add_argument("--blurkit-args", default="", help="extra arguments for blurkit process")
    ap.add_argument("--save", type=Path, default=None,
                    help="write three check-half group photos before/after to this folder")
    ap.add_argument("--no-deface", action="store_true")
    args = ap.parse_args()
    if args.save is not None and ROOT in args.save.resolve().parents:
        raise SystemExit("--save must be outside the repository")

    split = load_sets(args.data, args.limit)
    halves = [h for h in args.halves.split(",") if h]
    print(f"machine: {machine()}")
    for h in HALVES:
        f, n = split[h]
        print(f"{h} half: {len(f)} WIDER + {len(n)} negatives; faces >= 16 px: "
              f"{sum(1 for v in f.values() for b in v if b['box'][3] >= 16)}")
    tools = (["blurkit"] + (["before"] if args.compare else [])
             + ([] if args.no_deface else ["deface"]))
    with tempfile.TemporaryDirectory(prefix="blurkit-bench-") as tmp:
        tmp = Path(tmp)
        sets = {h: split[h] for h in halves}
        if args.large:
            (tmp / "large").mkdir()
            large = "12-MP" if args.large_half == "check" else f"12MP-{args.large_half}"
            sets[large] = (make_large(split[args.large_half][0], args.large, tmp / "large"), [])
        results, speeds = {}, {}
        for set_name, (set_faces, set_neg) in sets.items():
            inputs = list(set_faces) + list(set_neg)
            totals = dict.fromkeys(tools, 0.0)
            for rnd in range(args.rounds):
                work = tmp / f"{set_name}-{rnd}"
                srcs = {tool: work / f"in-{tool}" for tool in tools}
                for d in srcs.values():
                    d.mkdir(parents=True)
                # unique flat names (WIDER names are unique; negatives too)
                names = {p: f"{i:04d}_{p.name}" for i, p in enumerate(inputs)}
                for p, n in names.items():
                    for d in srcs.values():
                        shutil.copy(p, d / n)
                order = tools if rnd % 2 == 0 else tools[::-1]
                for tool in order:
                    if tool == "deface":
                        secs = run_deface(srcs[tool])
                    else:
                        secs, report = run_blurkit(
                            srcs[tool], work / f"out-{tool}", work, args.workers, args.detector,
                            args.compare if tool == "before" else ROOT,
                            args.blurkit_args.split() if tool == "blurkit" else [])
                        if report["summary"]["errors"]:
                            print(f"  {tool} reported {report['summary']['errors']} errors")
                    totals[tool] += secs
                    print(f"  {set_name} round {rnd + 1} {tool:8}: {len(inputs)} images in "
                          f"{secs:6.1f} s = {len(inputs) / secs:5.2f} images/s", flush=True)
            outputs = {tool: (lambda p, t=tool: work / f"out-{t}" / names[p]) for tool in tools
                       if tool != "deface"}
            if "deface" in tools:
                outputs["deface"] = lambda p: srcs["deface"] / (
                    Path(names[p]).stem + "_anonymized" + Path(names[p]).suffix)
            n = len(inputs) * args.rounds
            for tool, output_of in outputs.items():
                results[(set_name, tool)] = score(set_faces, set_neg, output_of)
                speeds[(set_name, tool)] = n / totals[tool]
            if set_name == "check" and args.save is not None:
                save_group_photos(set_faces, outputs, args.save)
            if "deface" in tools:
                for tool in tools[:-1]:
                    print(f"  {set_name}: speed ratio {tool}/deface (images per second): "
                          f"{totals['deface'] / totals[tool]:.2f}")
        print_results(", ".join(sets), results, speeds)


if __name__ == "__main__":
    main()
