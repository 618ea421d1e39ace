"""The second look's benchmark: are the faces left visible pointed at, and at what cost?

    .venv/bin/python benchmarks/secondlook.py [--halves tune,check] [--large 4]
        [--large-half check] [--grid] [--limit N]

Sets, per half of benchmarks/photosplit.py (the parity of the first byte of each file's
SHA-256): the WIDER photos, the face-free negatives, and the camera photos of the shared
EXIF folders that show nobody (EXIF_WITH_PEOPLE lists the ones that show people, looked at
one by one; they are left out). `--large K` adds K 12-MP mosaics of 4 x 4 WIDER photos of
`--large-half` (benchmarks/photos.py), for crowds in big photos.

Each photo goes through the photo flow twice in this process (blurkit.engine.pipeline.Worker, one
inference thread each, who goes first alternating): without the second look and with it.
Judged from the written outputs and the report:

* a *visible* face: a WIDER box >= 16 px tall whose detail survives hiding: it still
  correlates with the original (benchmarks/common.covered is False) and keeps at least a
  fifth of its strength (blurkit.engine.redact.still_visible, the pipeline's own self-check: a face
  destroyed to a few per cent of its detail is not visible to anyone, even where that little
  still correlates); the figures by correlation alone are printed too; *clearly* visible:
  and not annotated as heavily blurred or heavily occluded (WIDER's blur 2 / occlusion 2);
* a photo *flagged*: its report lists a pointer (blurkit.engine.secondlook.needs_look); *marked*:
  a clearly visible face lies under a pointer (at least half of its box inside);
* a *clean* photo: no clearly visible face (WIDER photos fully hidden, negatives, EXIF);
* crowd coverage: of the visible 16-31 px faces, those under a crowd pointer, and those
  covered after hiding every crowd region as the review page's action would
  (blurkit.engine.revise's hide_region), with the collateral that costs;
* collateral: pixels changed (photosplit.changed_mask) over the annotated face-box area
  (WIDER photos), without and with the second look (it may hide confirmed faces);
* cost: photo time (the flow's own timings, read to write) with the second look over
  without it, same photos, same process.

`--video` runs only the shared clips (talking heads, pedestrians, the Obama addresses)
through the video flow with and without the second look: the pointers each gets (time,
place, score) and the cost.
`--set NAME=VALUE` overrides a threshold of blurkit.engine.secondlook.LookParams for the run.
`--grid` also judges a grid of thresholds from one observation per photo (the second
detector run once on the output without the second look): how choices were made on the
tune half.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_DATA, covered, machine, read_rgb
from photos import load_sets, make_large
from photosplit import HALVES, changed_mask, face_area, half

from blurkit.engine.pipeline import Job, Options, Worker  # noqa: E402
from blurkit.engine.redact import Style, redact, still_visible  # noqa: E402
from blurkit.engine.revise import REGION_MARGIN  # noqa: E402
from blurkit.engine.secondlook import LookParams, judge, needs_look  # noqa: E402
from blurkit.engine.secondlook.people import PERSON_HEIGHT, PERSON_SCORE  # noqa: E402

PHOTO_EXT = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".tif", ".tiff", ".webp", ".avif")
# Camera photos in the shared EXIF folders that show people (or painted people): not clean.
EXIF_WITH_PEOPLE = {
    "exif_ianare_samples/jpg/Konica_Minolta_DiMAGE_Z3.jpg",
    "exif_ianare_samples/jpg/Samsung_Digimax_i50_MP3.jpg",
    "exif_ianare_samples/jpg/exif-org/canon-ixus.jpg",
    "exif_ianare_samples/jpg/exif-org/kodak-dc210.jpg",
    "exif_ianare_samples/jpg/exif-org/sony-cybershot.jpg",
    "exif_ianare_samples/jpg/exif-org/sony-d700.jpg",
    "exif_ianare_samples/jpg/gps/DSCN0025.jpg",
    "exif_ianare_samples/jpg/gps/DSCN0027.jpg",
    "exif_ianare_samples/jpg/gps/DSCN0040.jpg",
    "exif_ianare_samples/jpg/invalid/image00971.jpg",
    "exif_ianare_samples/jpg/invalid/image01088.jpg",
    "exif_ianare_samples/jpg/invalid/image01137.jpg",
    "exif_ianare_samples/jpg/long_description.jpg",
    "exif_ianare_samples/jpg/tests/28-hex_value.jpg",
    "exif_ianare_samples/jpg/tests/42_IndexError.jpg",
    "exif_ianare_samples/jpg/xmp/no_exif.jpg",
    "exif_ianare_samples/tiff/BSG1.tiff",
    "exif_ianare_samples/tiff/DudleyLeavittUtah.tiff",
    "exif_immich_test_assets/metadata/faces/portrait-orientation-6.jpg",
    "exif_immich_test_assets/metadata/faces/portrait.jpg",
    "exif_immich_test_assets/metadata/faces/solvay.jpg",
}


def exif_clean(data: Path, which: str) -> list[Path]:
    out = []
    for p in sorted(data.glob("exif_*/**/*")):
        if p.is_file() and p.suffix.lower() in PHOTO_EXT \
                and str(p.relative_to(data)) not in EXIF_WITH_PEOPLE and half(p) == which:
            out.append(p)
    return out


def xyxy(box_xywh) -> tuple[float, float, float, float]:
    x, y, w, h = box_xywh
    return (x, y, x + w, y + h)


def inside(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max((a[2] - a[0]) * (a[3] - a[1]), 1e-6)


def under(face_box, pointers) -> bool:
    return any(inside(face_box, p["box"]) >= 0.5 for p in pointers)


def clear(face: dict) -> bool:
    return face["blur"] < 2 and face["occlusion"] < 2


def run_photo(worker: Worker, path: Path, out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    result = worker.process(Job(path, out_dir, Path("."), "photo"))
    if not result.ok:
        return None, result
    return Path(result.output), result


def load(path: Path) -> np.ndarray:
    from blurkit.media.image import read_photo
    return read_photo(path).pixels


class Tally:
    def __init__(self) -> None:
        self.c = dict.fromkeys(
            ("pos", "pos_flagged", "pos_marked", "clean", "clean_flagged", "clear_faces",
             "clear_under", "vis_faces", "vis_under", "pos_all", "pos_all_marked",
             "clean_all", "clean_all_flagged", "small", "small_crowd", "small_crowd_covered",
             "changed_off", "changed_on", "changed_regions", "area", "errors",
             "people_err", "people_truth", "people_counted", "detections"), 0)
        self.t_off = self.t_on = self.t_look = 0.0
        self.kinds: dict[str, int] = {}
        self.clean_by: dict[str, list[int]] = {}
        self.auto: dict[str, list[int]] = {}     # kind -> [faces hidden by it, photos]

    def add(self, key: str, n: int | float = 1) -> None:
        self.c[key] += n


def shows(original, output, face: dict, measure: str) -> bool:
    """Is this annotated face visible in the output? "detail": its detail still correlates
    with the original's AND keeps at least a fifth of its strength
    (blurkit.engine.redact.still_visible, the pipeline's own self-check); "corr": it still
    correlates (benchmarks/common.covered false, the photo benchmark's coverage measure), which
    also counts a face whose detail was destroyed to a few per cent of its strength when the
    little that is left correlates."""
    x, y, w, h = face["box"]
    if covered(original, output, face["box"]):
        return False
    return measure == "corr" or bool(still_visible(original, output, [(x, y, x + w, y + h)]))


def score_photo(tally: Tally, kind: str, original, out_off, out_on, report: dict,
                faces: list[dict] | None, measure: str = "detail") -> None:
    pointers = (report.get("extra") or {}).get("pointers", [])
    extra_hidden = sum(1 for f in report.get("faces", []) if f.get("reason") == "second_look")
    tally.auto.setdefault(kind, [0, 0])
    tally.auto[kind][0] += extra_hidden
    tally.auto[kind][1] += bool(extra_hidden)
    for p in pointers:
        tally.kinds[p["kind"]] = tally.kinds.get(p["kind"], 0) + 1
    flagged = needs_look(report)
    vis = []
    if faces:
        vis = [f for f in faces if f["box"][3] >= 16 and shows(original, out_on, f, measure)]
    clear_vis = [f for f in vis if clear(f)]
    if clear_vis:
        tally.add("pos")
        tally.add("pos_flagged", flagged)
        tally.add("pos_marked", any(under(xyxy(f["box"]), pointers) for f in clear_vis))
    else:
        tally.add("clean")
        tally.add("clean_flagged", flagged)
        tally.clean_by.setdefault(kind, [0, 0])
        tally.clean_by[kind][0] += flagged
        tally.clean_by[kind][1] += 1
    if vis:
        tally.add("pos_all")
        tally.add("pos_all_marked", any(under(xyxy(f["box"]), pointers) for f in vis))
    else:
        tally.add("clean_all")
        tally.add("clean_all_flagged", flagged)
    tally.add("clear_faces", len(clear_vis))
    tally.add("clear_under", sum(under(xyxy(f["box"]), pointers) for f in clear_vis))
    tally.add("vis_faces", len(vis))
    tally.add("vis_under", sum(under(xyxy(f["box"]), pointers) for f in vis))
    if faces is None:
        return
    crowds = [p for p in pointers if p["kind"] == "crowd"]
    small = [f for f in vis if 16 <= f["box"][3] < 32]
    tally.add("small", len(small))
    tally.add("small_crowd", sum(under(xyxy(f["box"]), crowds) for f in small))
    regions_out = out_on
    if crowds:
        regions_out = redact(out_on, [tuple(p["box"]) for p in crowds],
                             Style(mode="destroy", mask="box", margin=REGION_MARGIN))
    tally.add("small_crowd_covered",
              sum(covered(original, regions_out, f["box"]) for f in small))
    tally.add("area", face_area(original.shape, [f["box"] for f in faces]))
    tally.add("changed_off", int(changed_mask(original, out_off).sum()))
    tally.add("changed_on", int(changed_mask(original, out_on).sum()))
    tally.add("changed_regions", int(changed_mask(original, regions_out).sum()))
    hidden = [f for f in report.get("faces", []) if f.get("action") == "hidden"]
    truth = sum(1 for f in faces if f["box"][3] >= PERSON_HEIGHT)
    people = (report.get("extra") or {}).get("people_faces", 0)
    tally.add("people_err", abs(people - truth))
    tally.add("people_truth", truth)
    tally.add("people_counted", people)
    tally.add("detections", len(hidden))


def pct(a: int, b: int) -> str:
    return f"{a / b * 100:5.1f} % ({a}/{b})" if b else "n/a"


def print_tally(name: str, t: Tally) -> None:
    c = t.c
    print(f"\n== {name}")
    print(f"  photos with a clearly visible face >= 16 px flagged with the place marked: "
          f"{pct(c['pos_marked'], c['pos'])}  (flagged at all {pct(c['pos_flagged'], c['pos'])})")
    print(f"  clean photos flagged: {pct(c['clean_flagged'], c['clean'])}  by set: "
          + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(t.clean_by.items())))
    print(f"  clearly visible faces under a pointer: {pct(c['clear_under'], c['clear_faces'])}")
    print(f"  any visible face >= 16 px (all attributes): photos marked "
          f"{pct(c['pos_all_marked'], c['pos_all'])}, photos without one flagged "
          f"{pct(c['clean_all_flagged'], c['clean_all'])}, faces under a pointer "
          f"{pct(c['vis_under'], c['vis_faces'])}")
    print(f"  crowd regions: visible 16-31 px faces under one {pct(c['small_crowd'], c['small'])}, "
          f"covered after hiding the regions {pct(c['small_crowd_covered'], c['small'])}")
    if c["area"]:
        print(f"  collateral (changed / face-box area): without the second look "
              f"{c['changed_off'] / c['area']:.2f}x, with it {c['changed_on'] / c['area']:.2f}x "
              f"(+{(c['changed_on'] - c['changed_off']) / c['area']:.2f}), with the crowd "
              f"regions hidden {c['changed_regions'] / c['area']:.2f}x")
        print(f"  people counts: {c['people_counted']} faces counted (score >= {PERSON_SCORE}, "
              f">= {PERSON_HEIGHT:.0f} px) of {c['detections']} hidden detections; annotated "
              f"faces >= {PERSON_HEIGHT:.0f} px: {c['people_truth']}; summed |error| per photo "
              f"{c['people_err']}")
    print(f"  pointers by kind: {t.kinds}; errors: {c['errors']}")
    print("  hidden by the second look itself (confirmed candidates): " + ", ".join(
        f"{k} {v[0]} in {v[1]} photos" for k, v in sorted(t.auto.items())))
    if t.t_off:
        print(f"  photo time: without {t.t_off:.1f} s, with {t.t_on:.1f} s "
              f"({(t.t_on / t.t_off - 1) * 100:+.1f} %); the second look itself {t.t_look:.1f} s "
              f"({t.t_look / t.t_off * 100:.1f} % of the time without it)")


# ---------------------------------------------------------------- the threshold grid

GRID_WEAK_MAX = 30      # the grid observes the weak candidates (LookParams.weak_max, off)
GRID = {
    "near_score": (0.3, 1.01),             # 1.01: never unconfirmed
    "weak_max": (0, GRID_WEAK_MAX),
    "weak_confirm": (0.5, 0.7, 0.9),
    "crowd_min": (40, 80, 160),
}


def grid_judge(looker, detector, original, out_off, report, faces, rows: dict,
               measure: str = "detail") -> None:
    hidden = [(tuple(f["box"]), float(f["score"])) for f in report.get("faces", [])
              if f.get("action") == "hidden"]
    cands = [(tuple(c["box"]), float(c["score"]))
             for c in (report.get("extra") or {}).get("candidates", [])]
    weak = [(d.box, d.score) for d in detector.detect_for_review(
        original, looker.params.weak_floor, GRID_WEAK_MAX)[2]]
    obs = looker.observe(out_off, [b for b, _ in cands], [b for b, _ in weak])
    vis = [f for f in (faces or []) if f["box"][3] >= 16 and shows(original, out_off, f, measure)]
    clear_vis = [f for f in vis if clear(f)]
    for combo in itertools.product(*GRID.values()):
        params = dataclasses.replace(looker.params, **dict(zip(GRID, combo)))
        ptrs = [p.to_dict() for p in judge(original, out_off, hidden, cands, obs, params,
                                           weak).pointers]
        r = rows.setdefault(combo, [0, 0, 0, 0, 0, 0])
        if clear_vis:
            r[0] += 1
            r[1] += any(under(xyxy(f["box"]), ptrs) for f in clear_vis)
        else:
            r[2] += 1
            r[3] += bool(ptrs)
        r[4] += len(vis)
        r[5] += sum(under(xyxy(f["box"]), ptrs) for f in vis)


def print_grid(rows: dict) -> None:
    print("\n-- grid (" + ", ".join(GRID) + "): positives marked, clean flagged, "
          "visible faces (any attribute) under a pointer")
    for combo, r in sorted(rows.items()):
        print(f"  {combo}: {pct(r[1], r[0])}  clean {pct(r[3], r[2])}  faces {pct(r[5], r[4])}")


# ---------------------------------------------------------------- video

VIDEO_SETS = ("video_talking_heads_sadtalker_hdtf", "video_facenet_pytorch_pedestrians",
              "video_cross_recording_obama")


def run_videos(data: Path, tmp: Path) -> None:
    """Each shared clip through the video flow with and without the second look: its
    pointers (time, place, score) and its cost."""
    models = Path(os.environ["BLURKIT_MODELS_DIR"])
    off = Worker(Options(models_dir=models, threads=1, second_look=False))
    on = Worker(Options(models_dir=models, threads=1, second_look=True))
    total_off = total_on = look = 0.0
    print("\n== video (shared clips; no consent, so every track hidden)")
    for clip in sorted(p for name in VIDEO_SETS for p in (data / name).glob("*.mp4")):
        seconds = {}
        for label, worker in (("off", off), ("on", on)):
            t = time.perf_counter()
            result = worker.process(Job(clip, tmp / f"video-{label}", Path("."), "video"))
            seconds[label] = time.perf_counter() - t
            if not result.ok:
                print(f"  {clip.name}: {result.error}")
                break
            shutil.rmtree(tmp / f"video-{label}")
        else:
            total_off += seconds["off"]
            total_on += seconds["on"]
            look += result.extra.get("secondlook_seconds", 0.0)
            ptrs = result.extra.get("pointers", [])
            print(f"  {clip.parent.name}/{clip.name}: {result.extra['frames']} frames, "
                  f"{len(ptrs)} pointer(s) "
                  + "; ".join(f"{p['time']}-{p.get('last_time', p['time'])} s "
                              f"{[int(v) for v in p['box']]} {p['score']:.2f}" for p in ptrs[:6])
                  + f"; {seconds['off']:.1f} s without, {seconds['on']:.1f} s with")
    if total_off:
        print(f"  video time: without {total_off:.1f} s, with {total_on:.1f} s "
              f"({(total_on / total_off - 1) * 100:+.1f} %); the second look itself {look:.1f} s")


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--halves", default="tune,check")
    ap.add_argument("--large", type=int, default=0)
    ap.add_argument("--large-half", default="check", choices=HALVES)
    ap.add_argument("--limit", type=int, default=None, help="only the first N WIDER photos")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--no-exif", action="store_true")
    ap.add_argument("--video", action="store_true",
                    help="only the shared video clips: pointers and cost")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a LookParams field for this run (e.g. hide_score=0.9)")
    args = ap.parse_args()
    models = Path(os.environ["BLURKIT_MODELS_DIR"])
    print(f"machine: {machine()}")
    if args.video:
        with tempfile.TemporaryDirectory(prefix="blurkit-secondlook-") as tmp:
            run_videos(args.data, Path(tmp))
        return
    split = load_sets(args.data, args.limit)
    off = Worker(Options(models_dir=models, threads=1, second_look=False))
    on = Worker(Options(models_dir=models, threads=1, second_look=True))
    for item in args.set:
        name, value = item.split("=", 1)
        kind = type(getattr(LookParams(), name))
        value = None if value == "None" else (float(value) if kind in (float, type(None))
                                               else kind(value))
        on.looker.params = dataclasses.replace(on.looker.params, **{name: value})
    print(f"second look parameters: {dataclasses.asdict(on.looker.params)}")
    with tempfile.TemporaryDirectory(prefix="blurkit-secondlook-") as tmp:
        tmp = Path(tmp)
        sets = {}
        for h in [h for h in args.halves.split(",") if h]:
            faces, negatives = split[h]
            exif = [] if args.no_exif else exif_clean(args.data, h)
            sets[h] = ([(p, "wider", b) for p, b in faces.items()]
                       + [(p, "negatives", None) for p in negatives]
                       + [(p, "exif", None) for p in exif])
        if args.large:
            (tmp / "large").mkdir()
            mosaics = make_large(split[args.large_half][0], args.large, tmp / "large")
            sets[f"12-MP {args.large_half}"] = [(p, "mosaic", b) for p, b in mosaics.items()]
        for name, items in sets.items():
            tally, rows, tally_corr = Tally(), {}, Tally()
            counts = {}
            for k in ("wider", "negatives", "exif", "mosaic"):
                counts[k] = sum(1 for _, kind, _ in items if kind == k)
            print(f"\n{name}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v),
                  flush=True)
            started = time.perf_counter()
            for i, (path, kind, faces) in enumerate(items):
                dirs = (tmp / name / f"off{i}", tmp / name / f"on{i}")
                order = [(off, dirs[0]), (on, dirs[1])]
                results = {}
                for worker, d in (order if i % 2 == 0 else order[::-1]):
                    results[worker is on] = run_photo(worker, path, d)
                (p_off, r_off), (p_on, r_on) = results[False], results[True]
                if p_off is None or p_on is None:
                    tally.add("errors")
                    continue
                tally.t_off += sum(r_off.timings.values())
                tally.t_on += sum(r_on.timings.values())
                tally.t_look += r_on.timings.get("secondlook", 0.0)
                original = load(path)
                out_off, out_on = read_rgb(p_off), read_rgb(p_on)
                report = json.loads(json.dumps(r_on.to_dict()))
                score_photo(tally, kind, original, out_off, out_on, report, faces)
                score_photo(tally_corr, kind, original, out_off, out_on, report, faces, "corr")
                if args.grid:
                    grid_judge(on.looker, off.detector, original, out_off,
                               json.loads(json.dumps(r_off.to_dict())), faces, rows)
                shutil.rmtree(dirs[0]), shutil.rmtree(dirs[1])
            print(f"  ({time.perf_counter() - started:.0f} s)")
            print_tally(name, tally)
            c = tally_corr.c
            print(f"  -- visible measured by correlation alone (common.covered): photos with a "
                  f"clearly visible face marked {pct(c['pos_marked'], c['pos'])}, clean photos "
                  f"flagged {pct(c['clean_flagged'], c['clean'])}, clearly visible faces under a "
                  f"pointer {pct(c['clear_under'], c['clear_faces'])}; any visible face: photos "
                  f"marked {pct(c['pos_all_marked'], c['pos_all'])}, faces under a pointer "
                  f"{pct(c['vis_under'], c['vis_faces'])}, 16-31 px under a crowd region "
                  f"{pct(c['small_crowd'], c['small'])}")
            if args.grid:
                print_grid(rows)


if __name__ == "__main__":
    main()
