"""Text benchmark: planted names and phrases no longer readable, text-free photos left alone,
the cost of text hiding against text off in the same run.

    nice -n 10 .venv/bin/python benchmarks/text.py --half check --work /tmp/textbench
        [--data ../shared/data] [--limit N] [--rounds 1] [--skip-real]

1. The planted set of the half (benchmarks/textset.py: names and short Swedish phrases on
   badges, paper, screens, cakes and signs planted into the photos of ../shared/data that
   photos.py uses, split tune/check by source photo) is built in WORK/planted.
2. blurkit runs from the command line over (a) the planted photos with text = hide and
   (b) the half's original photos (WIDER subset + negatives, as photos.py uses them) with
   text = off and with text = hide, `--rounds` times each, alternating, in this one run;
   wall time and the CPU seconds of the blurkit processes are printed (the ratio is what
   counts: the machine is shared).
3. Planted words: a word counts as hidden when the independent reader (Tesseract, see
   textset.py) no longer reads it in the output AND blurkit's own text detector, run on the
   output, no longer finds a line covering at least half of it. Reported for words at least
   12 px tall, over all of them and over those the reader could read in the planted input;
   and by height, carrier and angle. Collateral: the pixels text hiding changed (photosplit's
   changed_mask between the text-off and text-hide outputs of the planted photos) per
   planted word-box area.
4. Text-free photos: the half's originals in which the reader finds no word (`--psm 11`,
   confidence >= 80, three letters or more) AND that are not listed in
   benchmarks/text_eye.json as showing text (looked at by eye: every photo text hiding
   changed was looked at, see DESIGN.md); a photo counts as changed by text hiding when its
   text-hide output differs from its text-off output (photosplit.changed_mask, any pixel).
5. Real text: words the reader finds in the originals (same rule as 4), and how many of
   them it still finds in the text-hide output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import textset
from common import DEFAULT_DATA, ROOT, machine, read_rgb
from photosplit import changed_mask, half

EYE = Path(__file__).resolve().parent / "text_eye.json"
FOUND_SHARE = 0.5      # a detection covering this much of a word finds it


def run_blurkit(inputs: list[Path], out: Path, text: str,
                data_dir: Path) -> tuple[float, float, dict]:
    """One CLI run; (wall seconds, CPU seconds of blurkit's processes, report)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    report = out / "report.json"
    env = dict(os.environ)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "blurkit"), "--data-dir", str(data_dir),
                           "process", *map(str, inputs), "-o", str(out / "files"),
                           "--text", text, "--report", str(report)],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"blurkit failed: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(report.read_text(encoding="utf-8"))


def outputs_by_source(report: dict) -> dict[str, Path]:
    return {Path(f["source"]).name: Path(f["output"]) for f in report["files"] if f.get("output")}


def quad_mask(shape, quad) -> np.ndarray:
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(quad)).astype(np.int32)], 1)
    return m.astype(bool)


def found_share(shape, regions, quad) -> float:
    """The share of a word's quad covered by detected regions."""
    word = quad_mask(shape, quad)
    cover = np.zeros(shape[:2], bool)
    for r in regions:
        cover |= quad_mask(shape, r.quad)
    return float((word & cover).sum()) / max(int(word.sum()), 1)


def bucket_height(h: float) -> str:
    for lo, hi in ((10, 12), (12, 16), (16, 24), (24, 40), (40, 1000)):
        if lo <= h < hi:
            return f"{lo}-{hi - 1}" if hi < 1000 else f"{lo}+"
    return "other"


def pct(a: int, b: int) -> str:
    return f"{a}/{b} = {100 * a / b:.1f} %" if b else "0/0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--half", choices=("tune", "check"), default="check")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="first N photos of the half only")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--skip-real", action="store_true", help="skip steps 4 and 5 (tuning)")
    ap.add_argument("--no-timing", action="store_true",
                    help="skip step 2's runs over the originals (and so steps 4 and 5)")
    ap.add_argument("--timing-only", action="store_true", help="only step 2's runs and times")
    ap.add_argument("--photos-only", action="store_true",
                    help="only steps 4 and 5, on the original-photo outputs an earlier run left "
                         "in WORK")
    ap.add_argument("--summary", action="store_true",
                    help="only print step 4 and 5 again from WORK/photos_result.json (after "
                         "looking at the changed photos and labelling them in text_eye.json)")
    args = ap.parse_args()
    if args.summary:
        photos = json.loads((args.work / "photos_result.json").read_text(encoding="utf-8"))
        summarize_photos(photos, len(photos))
        return
    if not textset.tesseract_ok() or not textset.fonts_present():
        raise SystemExit("needs tesseract-ocr, tesseract-ocr-swe and the fonts "
                         "(scripts/setup --test installs them)")
    print(machine())
    print(f"half: {args.half}")
    work = args.work
    data_dir = work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    items = textset.build(args.data, args.half, work / "planted", args.limit)
    planted = [work / "planted" / it["file"] for it in items]
    originals = [p for p in textset.sources(args.data) if half(p) == args.half][:args.limit]
    words = [(it, w) for it in items for w in it["words"]]
    print(f"{len(items)} planted photos, {len(words)} words; {len(originals)} original photos")

    if args.photos_only:
        photo_steps(work, originals)
        return
    # -- runs (same run, alternating)
    times = {"off": [], "hide": []}
    for r in range(0 if args.no_timing else args.rounds):
        for mode in ("off", "hide"):
            wall, cpu, rep = run_blurkit(originals, work / f"orig-{mode}", mode, data_dir)
            times[mode].append((wall, cpu))
            if mode == "hide":
                orig_hide = rep
    if not args.no_timing:
        report_times(times, len(originals), args.half, args.rounds, orig_hide)
    if args.timing_only:
        return
    _, _, planted_hide = run_blurkit(planted, work / "planted-hide", "hide", data_dir)
    _, _, planted_off = run_blurkit(planted, work / "planted-off", "off", data_dir)
    words_step(work, items, words, planted_hide, planted_off)
    if not (args.skip_real or args.no_timing):
        photo_steps(work, originals)


def report_times(times: dict, n: int, which: str, rounds: int, orig_hide: dict) -> None:
    best = {m: (min(t[0] for t in v), min(t[1] for t in v)) for m, v in times.items()}
    print(f"time over the {n} original photos of the {which} half (best of "
          f"{rounds}): text off {best['off'][0]:.1f} s wall, {best['off'][1]:.1f} s CPU; "
          f"text hide {best['hide'][0]:.1f} s wall, {best['hide'][1]:.1f} s CPU; "
          f"+{100 * (best['hide'][0] / best['off'][0] - 1):.0f} % wall, "
          f"+{100 * (best['hide'][1] / best['off'][1] - 1):.0f} % CPU")
    stage = [f["timings"].get("text", 0.0) for f in orig_hide["files"] if f.get("timings")]
    print(f"text stage inside blurkit: mean {np.mean(stage):.3f} s per photo (one worker's thread)")


def words_step(work: Path, items, words, planted_hide: dict, planted_off: dict) -> None:
    """Step 3: the planted words in the text-hide outputs."""
    from blurkit.detect.text import load_text_search
    search = load_text_search(Path(os.environ["BLURKIT_MODELS_DIR"]), threads=1)
    hide_out = outputs_by_source(planted_hide)
    off_out = outputs_by_source(planted_off)
    pairs_in, pairs_out, found, collateral_px, word_px = [], [], [], 0, 0
    for it in items:
        src = read_rgb(work / "planted" / it["file"])
        out = read_rgb(hide_out[it["file"]])
        regions = search.detect(out)
        for w in it["words"]:
            pairs_in.append((src, w))
            pairs_out.append((out, w))
            found.append(found_share(out.shape, regions, w["quad"]) >= FOUND_SHARE)
        base = read_rgb(off_out[it["file"]])
        collateral_px += int(changed_mask(base, out).sum())
        union = np.zeros(src.shape[:2], bool)
        for w in it["words"]:
            union |= quad_mask(src.shape, w["quad"])
        word_px += int(union.sum())
    t = time.perf_counter()
    read_in = textset.read_all(pairs_in)
    read_out = textset.read_all(pairs_out)
    print(f"(the reader took {time.perf_counter() - t:.0f} s)")
    rows = []
    for (it, w), ri, ro, fo in zip(words, read_in, read_out, found):
        rows.append({"file": it["file"], **w, "read_in": ri, "read_out": ro, "found_out": fo,
                     "hidden": (not ro) and (not fo)})
    (work / "words_result.json").write_text(json.dumps(rows, ensure_ascii=False, indent=0),
                                            encoding="utf-8")
    big = [r for r in rows if r["height"] >= textset.MIN_HEIGHT]
    readable = [r for r in big if r["read_in"]]
    print(f"planted words >= {textset.MIN_HEIGHT} px: hidden (not read, not found in the "
          f"output): {pct(sum(r['hidden'] for r in big), len(big))}; of those the reader "
          f"read in the input: {pct(sum(r['hidden'] for r in readable), len(readable))}")
    small = [r for r in rows if r["height"] < 12]
    print(f"  still read by the reader: {sum(r['read_out'] for r in big)}; still found by the "
          f"detector: {sum(r['found_out'] for r in big)}; words 10-11 px: "
          f"{pct(sum(r['hidden'] for r in small), len(small))}")
    for key, fn in (("height", lambda r: bucket_height(r["height"])),
                    ("carrier", lambda r: r["kind"]),
                    ("angle", lambda r: "|a|<10" if abs(r["angle"]) < 10 else
                     ("10-20" if abs(r["angle"]) < 20 else "20-30"))):
        groups: dict[str, list] = {}
        for r in readable:
            groups.setdefault(fn(r), []).append(r["hidden"])
        print(f"  by {key} (readable in the input): " + "; ".join(
            f"{k} {pct(sum(v), len(v))}" for k, v in sorted(groups.items())))
    print(f"collateral: text hiding changed {collateral_px / max(word_px, 1):.2f} x the planted "
          f"words' area")


def photo_steps(work: Path, originals: list[Path]) -> None:
    """Steps 4 and 5, from the original photos' text-off and text-hide outputs in WORK."""
    off_map = {Path(p).name: p for p in (work / "orig-off" / "files").rglob("*") if p.is_file()}
    hide_map = {Path(p).name: p for p in (work / "orig-hide" / "files").rglob("*") if p.is_file()}
    photos = []
    for p in originals:
        rgb = read_rgb(p)
        words_in = textset.page_words(rgb)
        a, b = read_rgb(off_map[p.name]), read_rgb(hide_map[p.name])
        left = textset.page_words(b) if words_in else []
        photos.append({"name": p.name, "words_in": len(words_in),
                       "words_left": sum(1 for w in words_in if w in left),
                       "changed": bool(changed_mask(a, b).any()),
                       "changed_px": int(changed_mask(a, b).sum())})
    (work / "photos_result.json").write_text(json.dumps(photos, indent=0), encoding="utf-8")
    summarize_photos(photos, len(originals))


def summarize_photos(photos: list[dict], n: int) -> None:
    eye = json.loads(EYE.read_text(encoding="utf-8")) if EYE.exists() else {}
    eye.pop("_about", None)
    free = [p["name"] for p in photos if not p["words_in"] and eye.get(p["name"]) != "text"]
    changed_free = [p["name"] for p in photos if p["name"] in free and p["changed"]]
    changed_any = [p["name"] for p in photos if p["changed"]]
    real_in = sum(p["words_in"] for p in photos)
    real_out = sum(p["words_left"] for p in photos)
    print(f"text-free photos (no word read by the reader, not marked 'text' by eye): "
          f"{len(free)}; changed by text hiding: {len(changed_free)} "
          f"({', '.join(changed_free) or 'none'})")
    print(f"photos changed by text hiding in all: {len(changed_any)} of {n}; "
          f"real text: the reader read {real_in} words in the originals, {real_out} of them "
          f"still in the outputs")
    unlabelled = [n for n in changed_any if n not in eye
                  and not next(p for p in photos if p["name"] == n)["words_in"]]
    if unlabelled:
        print(f"changed photos without a text word and without an eye label in {EYE.name}: "
              f"{', '.join(unlabelled)}")


if __name__ == "__main__":
    sys.exit(main())
