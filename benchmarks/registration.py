"""Registration benchmark: how many people can be registered from their first two photos?

    .venv/bin/python benchmarks/registration.py [--data ../shared/data] [--cache FILE]
                                                [--order natural|labels]

As a new user would: for every person of identity_deepface_tests,
identity_face_recognition_examples and identity_faceapi_bbt, `blurkit consent add` with the
person's first two photos (natural file-name order, img2 before img10; photos that are crops or
re-saves of another photo are skipped; people with one photo are listed, not counted). Each
photo goes through the library the CLI and the register page call
(blurkit.identify.enrol.enrol_detected: the face rule, the ENROLMENT gate, the template, the
same-person check), on the detector's (CenterFace) detections.

Counted, side by side:
- before: the rule before face picking existed - a photo with two faces large enough to be
  recognised is refused (pick_dominant=False; the rest of the flow is the same code);
- after: the only or the clearly dominant face is taken automatically;
- after + a person picking the face: photos still refused with "several faces" get the face
  a person would click. The sets have no face boxes for single-person photos, so the
  labelled person is taken to be the largest face (checked: it is, on every such photo);
- after + a registrar confirming "same person" (a separate, human decision; listed only).

Safety, for the "after" registrations (person picking included):
- different-person pairs: every pair of two registered people's photos (one of each), as if a
  wrong photo had been given: how many would be accepted as one person (target 0);
- strangers shown: everyone registered in one gallery, then every photo of the identity sets
  (not the reference photos) and the strangers of benchmarks/recognition.py (WIDER FACE
  subset, negatives, samples) processed with the pipeline's matcher: faces shown as a person
  they are not, and faces of people not registered shown (target 0 each).

--cache: the face table of benchmarks/recognition.py (same file, same format), so a run after
recognition.py --cache FILE only computes the reference photos again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import recognition as rb  # noqa: E402
from common import machine  # noqa: E402

from blurkit.identify import matching  # noqa: E402
from blurkit.identify import quality as q  # noqa: E402
from blurkit.identify.embedder import load_embedder  # noqa: E402
from blurkit.identify.enrol import SEVERAL_FACES, enrol_detected, list_faces, same_person_check  # noqa: E402

SETS = ("identity_deepface_tests", "identity_face_recognition_examples", "identity_faceapi_bbt")


def natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def first_photos(data: Path, ds: str, order: str, n: int = 2) -> dict[str, list[str]]:
    """Per person of set `ds`: the keys (relative to `data`) of their first `n` photos."""
    labels = json.loads((data / ds / "identity_labels.json").read_text())
    derived = labels.get("derived_or_duplicate", {})
    people: dict[str, list[str]] = {}
    items = list(labels["labels"].items())
    if order == "natural":
        items.sort(key=lambda kv: natural_key(kv[0]))
    for rel, person in items:
        key = f"{ds}/{rel}"
        if rel in derived or key in rb.EXCLUDED:
            continue
        people.setdefault(person, []).append(key)
    return {p: keys[:n] for p, keys in people.items()}


def register(photos_by_key, keys, data: Path, embedder, mode: str):
    """Enrolment of one person from `keys` under `mode` (before / after / picked)."""
    loaded = []
    for key in keys:
        photo = photos_by_key[key]
        rgb = rb.read(data, key)
        dets = [f.det for f in photo.faces]
        loaded.append((rgb, dets, key, None))
    res = enrol_detected(loaded, embedder, pick_dominant=(mode != "before"))
    if mode == "picked":
        redo = False
        for i, v in enumerate(res.photos):
            if v.reason == SEVERAL_FACES:
                largest = max(v.faces.faces, key=lambda f: f.height_px)
                rgb, dets, key, _ = loaded[i]
                loaded[i] = (rgb, dets, key, largest.index)
                redo = True
        if redo:
            res = enrol_detected(loaded, embedder)
    return res


def reason_of(res) -> str:
    if res.ok:
        return "registered"
    bad = next((v for v in res.photos if not v.accepted), None)
    if bad is not None:
        return bad.reason
    return "not_same_person"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get(
        "BLURKIT_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--models", type=Path, default=Path(os.environ.get(
        "BLURKIT_MODELS_DIR", ROOT / ".cache" / "models")))
    ap.add_argument("--cache", type=Path, default=None,
                    help="the face table of benchmarks/recognition.py --cache (keep it outside "
                         "the repository: it holds face templates of the test media)")
    ap.add_argument("--order", choices=("natural", "labels"), default="natural",
                    help="which photos are a person's first two: natural file-name order "
                         "(default) or the order of identity_labels.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"hardware: {machine()}")
    model = rb.MODELS[rb.MODEL_NAME]
    # a cache written by recognition.py run as a script pickles its classes as __main__.*
    import __main__
    __main__.Photo, __main__.Face = rb.Photo, rb.Face
    photos, _ = rb.build_table(args.data, args.models, True, args.cache, model)
    rb.attach_labels(args.data, photos)
    by_key = {p.key: p for p in photos}
    embedder = load_embedder(args.models)

    modes = ("before", "after", "picked")
    outcome: dict[str, dict[str, str]] = {m: {} for m in modes}
    results: dict[str, dict] = {m: {} for m in modes}
    refs: dict[str, list[str]] = {}
    single: list[str] = []
    for ds in SETS:
        for person, keys in sorted(first_photos(args.data, ds, args.order).items()):
            label = f"{rb.SHORT[ds]}:{person}"
            if len(keys) < 2:
                single.append(label)
                continue
            refs[label] = keys
            for mode in modes:
                res = register(by_key, keys, args.data, embedder, mode)
                outcome[mode][label] = reason_of(res)
                results[mode][label] = res

    people = sorted(refs)
    print(f"\n{len(people)} people with two photos or more "
          f"({len(single)} with one photo, not counted: {', '.join(single)}); "
          f"first two photos in {args.order} order")
    print(f"{'set':12s} {'people':>6s} {'before':>7s} {'after':>6s} {'+picked':>8s}")
    totals = Counter()
    for ds in SETS:
        short = rb.SHORT[ds]
        members = [p for p in people if p.startswith(short + ":")]
        row = [sum(outcome[m][p] == "registered" for p in members) for m in modes]
        totals.update({"people": len(members), **dict(zip(modes, row))})
        print(f"{short:12s} {len(members):>6d} {row[0]:>7d} {row[1]:>6d} {row[2]:>8d}")
    n = totals["people"]
    print(f"{'all':12s} {n:>6d} {totals['before']:>7d} {totals['after']:>6d} "
          f"{totals['picked']:>8d}")
    b = max(totals["before"], 1)
    print(f"registered: before {totals['before']}/{n}, after {totals['after']}/{n} "
          f"(x{totals['after'] / b:.2f} of before), with a person picking the face "
          f"{totals['picked']}/{n} (x{totals['picked'] / b:.2f})")
    for mode in modes:
        why = Counter(r for r in outcome[mode].values() if r != "registered")
        print(f"  {mode:7s} refused: " + (", ".join(f"{k} {v}" for k, v in why.most_common())
                                          or "none"))
    confirm = [p for p in people if outcome["picked"][p] == "not_same_person"]
    print(f"would also register with a registrar confirming 'same person': {len(confirm)} "
          f"({', '.join(confirm) or '-'}; lowest similarities " + ", ".join(
              f"{results['picked'][p].same_person.weakest.similarity:.3f}" for p in confirm)
          + f", bar {matching.THRESHOLD})")
    print("\nper person (before / after / picked):")
    for p in people:
        row = [outcome[m][p] for m in modes]
        if len(set(row)) > 1 or row[0] != "registered":
            notes = "; ".join(f"{v.name.split('/')[-1]}: face {v.face.index} of "
                              f"{len(v.faces.faces)} ({v.chosen_by})"
                              for v in results["picked"][p].photos
                              if v.face is not None and v.faces and len(v.faces.faces) > 1)
            print(f"  {p:32s} {' / '.join(row)}  {notes}")
    # the numbers behind the dominant-face rule: every photo of the sets with two faces or
    # more large enough to be recognised
    print("\nphotos with two or more faces >= 56 px: the tallest face against each other one "
          "(height ratio x sharpness ratio), and what the rule does")
    for photo in photos:
        if photo.dataset not in {rb.SHORT[ds] for ds in SETS}:
            continue
        dets = [f.det for f in photo.faces]
        confident = [d for d in dets if d.score >= q.min_score_for(d.detector, q.ENROLMENT)
                     and d.height >= q.RECOGNITION.min_height_px]
        if len(confident) < 2:
            continue
        pf = list_faces(rb.read(args.data, photo.key), dets, embedder, photo.key)
        cands = sorted((f for f in pf.faces if f.index in pf.candidates),
                       key=lambda f: -f.height_px)
        if len(cands) < 2:
            continue
        top = cands[0]
        pairs = ", ".join(
            f"{top.height_px / g.height_px:.2f}x" + (
                f"/{top.quality.sharpness / max(g.quality.sharpness, 1e-6):.1f}x"
                if top.quality.sharpness and g.quality.sharpness else "/-")
            for g in cands[1:])
        label = "labelled person" if any(f.label for f in photo.faces) and \
            photo.key not in rb.MULTI_PERSON else "group"
        print(f"  {'dominant' if pf.dominant else 'asks':8s} {label:15s} {photo.key}: {pairs}")

    # ------------------------------------------------------------------ every photo alone
    # The first two photos of these sets rarely show a second face; every labelled photo on
    # its own shows what the face rule does with the ones that do.
    print("\nevery labelled photo as a person's only reference photo (derived copies skipped):")
    print(f"{'set':12s} {'photos':>6s} {'before':>7s} {'after':>6s} {'+picked':>8s}   "
          f"{'several faces: before / after / picked'}")
    wrong_face = []
    for ds in SETS:
        short = rb.SHORT[ds]
        keys = [k for keys in first_photos(args.data, ds, args.order, n=99).values()
                for k in keys]
        ok = Counter()
        several = Counter()
        for key in keys:
            labelled = next((f for f in by_key[key].faces if f.label), None)
            for mode in modes:
                res = register(by_key, [key], args.data, embedder, mode)
                ok[mode] += res.ok
                several[mode] += res.photos[0].reason == SEVERAL_FACES
                v = res.photos[0]
                if mode != "before" and res.ok and len(v.faces.candidates) > 1 and (
                        labelled is None or tuple(float(c) for c in labelled.det.box)
                        != v.face.box):
                    wrong_face.append((mode, key, v.face.index, v.chosen_by))
                if mode == "after" and len(v.faces.candidates) > 1:
                    print(f"    {key}: {len(v.faces.candidates)} faces >= 56 px, "
                          f"{v.chosen_by or v.reason}")
        print(f"{short:12s} {len(keys):>6d} {ok['before']:>7d} {ok['after']:>6d} "
              f"{ok['picked']:>8d}   {several['before']} / {several['after']} / "
              f"{several['picked']}")
    print(f"a face other than the labelled person's taken: {len(wrong_face)}   (target 0)")
    for w in wrong_face:
        print("   WRONG FACE", *w)

    # ------------------------------------------------------------------ safety
    registered = [p for p in people if results["picked"][p].ok]
    ids = {p: i + 1 for i, p in enumerate(registered)}
    names = {i: p for p, i in ids.items()}
    templates = {p: results["picked"][p].templates for p in registered}
    diff_pairs = accepted = 0
    closest = (-1.0, "", "")
    for i, a in enumerate(registered):
        for b_ in registered[i + 1:]:
            for ta in templates[a]:
                for tb in templates[b_]:
                    diff_pairs += 1
                    check = same_person_check([ta, tb])
                    accepted += check.same_person
                    closest = max(closest, (check.pairs[0].similarity, a, b_))
    print(f"\ndifferent-person pairs accepted as one person: {accepted}/{diff_pairs}   "
          f"(target 0; most similar: {closest[0]:.3f}, {closest[1]} / {closest[2]}; "
          f"bar {matching.THRESHOLD})")

    gallery = matching.Gallery([(ids[p], t) for p in registered for t in templates[p]],
                               len(next(iter(templates.values()))[0]))
    params = rb.Params(matching.THRESHOLD, matching.MARGIN)
    ref_families = {by_key[k].family for p in registered for k in refs[p]}
    sets = {rb.SHORT[ds] for ds in SETS} | {"johns", "strangers"}
    c = Counter()
    listed = []
    for photo in photos:
        if photo.dataset not in sets or photo.family in ref_families:
            continue
        for f, ident in zip(photo.faces, rb.process(photo, gallery, params)):
            if ident.person_id is None:
                continue
            shown = names[ident.person_id]
            if f.label == shown:
                c["genuine shown"] += 1
            elif f.label is None and photo.dataset != "strangers":
                c["unlabelled shown"] += 1
                listed.append(("unlabelled (check by eye)", photo.key, shown,
                               round(ident.similarity, 4)))
            else:
                c["wrong"] += 1
                listed.append(("BREACH", photo.key, f.label, shown, round(ident.similarity, 4)))
    print(f"gallery of the {len(registered)} people registered (person picking included), "
          f"{gallery.template_count} templates, against every other photo of the identity "
          f"sets, the Johns and the strangers:")
    print(f"  faces shown as someone they are not, or of someone not registered: "
          f"{c['wrong']}   (target 0)")
    print(f"  registered people's faces shown as themselves: {c['genuine shown']}; unlabelled "
          f"faces shown: {c['unlabelled shown']}")
    for row in listed:
        print("  ", *row)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
