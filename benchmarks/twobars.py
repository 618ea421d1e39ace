"""Two bars (issue 26): strangers shown by the machine, registered people shown by the machine
or by one confirmed suggestion, and the reviewer's work - registered as a registrar would.

    .venv/bin/python benchmarks/twobars.py --cache FILE [--sweep] [--floor]
    (also run by benchmarks/recognition.py, which builds the face table FILE)

Protocol ("registrar"):
* People: every labelled person of the four shared identity sets. Halves: per set, people
  sorted by label, even index = tune, odd = check (benchmarks/recognition.py --part); the
  stranger photos (WIDER FACE subset, negatives, samples) by their index the same way. A
  half is its own world: its registered people, its strangers, its photos.
* Rotations: person i of a set is registered in rotation r when (i // 2 + r) is even, so in
  two rotations every person is registered once and is a stranger once, and each half has
  registered people and non-registered people in both.
* Registration as a registrar does it: the person's photos in natural file order (derived
  copies skipped, as benchmarks/registration.py), the first two whose labelled face passes
  the enrolment gate (a registrar picks the person's face where a photo holds several, and
  confirms "same person" where the tool asks), keeping at least one other photo family to
  look for them in.
* Then every photo of the half that is not a registration photo (or a copy of one) goes
  through matching (blurkit.identify.matching.identities) and the two bars
  (blurkit.identify.bars.apply), the code the Recognizer runs, on the faces CenterFace found.
  Counted: registered people's labelled faces >= 80 px: shown automatically, suggested as
  themselves (shown after one confirmation; split by whether any reviewer or only a
  registrar may confirm: blurkit.identify.suggest.CONFIRM_FLOOR), suggested as someone else,
  hidden without a suggestion (not judgeable, or under the lower bar); labelled faces of
  people not registered and every face of the stranger photos: shown automatically (a
  breach), suggested; unlabelled faces of the identity photos are listed when shown.
  Suggestions per 100 photos: every suggestion in the half's photos (registered people,
  strangers, bystanders) per 100 photos processed.

--sweep prints the tune-half grid the bars were chosen from: per cell, registered faces shown
automatically, strangers shown automatically, and the headroom (by how much every bar
could drop before a tune stranger - non-registered person or stranger photo face - passes,
the margin left aside). --floor prints the different-person pairs of the shared identity
photos behind suggest.CONFIRM_FLOOR.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import recognition as rb  # noqa: E402

from blurkit.identify import bars as two_bars  # noqa: E402
from blurkit.identify import matching  # noqa: E402
from blurkit.identify import quality as q  # noqa: E402
from blurkit.identify.suggest import CONFIRM_FLOOR  # noqa: E402

HALF_NAMES = ("tune", "check")
ROTATIONS = 2
MAX_REFS = 2


def natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def person_half(label_or_key: str) -> int:
    """0 (tune) or 1 (check) of a person label or a stranger photo key (rb.set_part first)."""
    return rb._PART_INDEX.get(label_or_key, 0) % 2


def registrar_refs(data: Path, photos: list[rb.Photo]) -> dict[str, list[tuple]]:
    """Per labelled person: the (photo, face) a registrar registers them with."""
    by_key = {p.key: p for p in photos}
    fam = rb.families(photos)
    refs: dict[str, list[tuple]] = {}
    for ds in rb.IDENTITY_SETS:
        labels = json.loads((data / ds / "identity_labels.json").read_text())
        derived = labels.get("derived_or_duplicate", {})
        keys_of: dict[str, list[str]] = defaultdict(list)
        for rel, person in sorted(labels["labels"].items(), key=lambda kv: natural_key(kv[0])):
            key = f"{ds}/{rel}"
            if rel not in derived and key not in rb.EXCLUDED:
                keys_of[f"{rb.SHORT[ds]}:{person}"].append(key)
        for label, keys in keys_of.items():
            chosen: list[tuple] = []
            for key in keys:
                photo = by_key.get(key)
                if photo is None or key in rb.MULTI_PERSON:
                    continue
                face = next((f for f in photo.faces if f.label == label), None)
                if face is None or face.template is None or \
                        not rb.judge(face, q.ENROLMENT).usable or \
                        any(photo.family == p.family for p, _ in chosen):
                    continue
                chosen.append((photo, face))
            n = min(MAX_REFS, len(chosen), len(fam[label]) - 1)
            if n >= 1:
                refs[label] = chosen[:n]
    return refs


def registered_in(people: list[str], half: int, rotation: int, refs: dict) -> list[str]:
    return [p for p in people if person_half(p) == half and p in refs
            and (rb._PART_INDEX[p] // 2 + rotation) % 2 == 0]


@dataclass
class Counts:
    photos: int = 0
    genuine: Counter = field(default_factory=Counter)     # outcome -> faces >= 80 px
    genuine_small: Counter = field(default_factory=Counter)
    others: Counter = field(default_factory=Counter)      # (kind, outcome)
    suggestions: int = 0
    suggestions_below_floor: int = 0
    breaches: list = field(default_factory=list)
    unlabelled_shown: list = field(default_factory=list)
    near: list = field(default_factory=list)              # strangers' closest calls

    def add(self, other: Counts) -> None:
        self.photos += other.photos
        self.genuine.update(other.genuine)
        self.genuine_small.update(other.genuine_small)
        self.others.update(other.others)
        self.suggestions += other.suggestions
        self.suggestions_below_floor += other.suggestions_below_floor
        self.breaches += other.breaches
        self.unlabelled_shown += other.unlabelled_shown
        self.near += other.near


def judge_photo(photo: rb.Photo, gallery: matching.Gallery, bars: two_bars.Bars | None,
                profiles: dict) -> list[matching.Identity]:
    """What the Recognizer decides for the faces of one photo (from the face table)."""
    p = rb.Params(matching.THRESHOLD, matching.MARGIN, support=matching.SUPPORT)
    qualities = [rb.judge(f, p.limits) for f in photo.faces]
    vectors = [f.template if qu.usable else None for f, qu in zip(photo.faces, qualities)]
    found = matching.identities(qualities, vectors, gallery, p.threshold, p.margin, p.unknown,
                                p.support)
    return two_bars.apply(found, vectors, gallery, bars, profiles)


def run_half(photos: list[rb.Photo], refs: dict, half: int, bars: two_bars.Bars | None,
             rotations: int = ROTATIONS) -> Counts:
    people = sorted(rb.families(photos))
    total = Counts()
    for rotation in range(rotations):
        reg = registered_in(people, half, rotation, refs)
        ids = {p: i + 1 for i, p in enumerate(reg)}
        names = {i: p for p, i in ids.items()}
        gallery = matching.Gallery([(ids[p], f.template) for p in reg for _, f in refs[p]],
                                   128)
        profiles = two_bars.profiles(gallery)
        ref_families = {ph.family for p in reg for ph, _ in refs[p]}
        c = Counts()
        for photo in photos:
            if photo.family in ref_families:
                continue
            if photo.dataset == "strangers":
                if person_half(photo.key) != half:
                    continue
            elif not any(f.label and person_half(f.label) == half for f in photo.faces):
                continue
            c.photos += 1
            for f, ident in zip(photo.faces, judge_photo(photo, gallery, bars, profiles)):
                if f.label is not None and person_half(f.label) != half:
                    continue            # a face of the other half's person: not counted
                shown = names.get(ident.person_id)
                sug = ident.suggestion
                sug_name = names.get(sug.person_id) if sug is not None else None
                if sug is not None:
                    c.suggestions += 1
                    c.suggestions_below_floor += sug.similarity < CONFIRM_FLOOR
                where = (photo.key, round(f.det.height),
                         None if ident.similarity is None else round(ident.similarity, 4))
                if photo.dataset == "strangers" or (f.label and f.label not in ids):
                    kind = "stranger photo" if photo.dataset == "strangers" else \
                        "not registered"
                    c.others[(kind, "faces")] += 1
                    c.others[(kind, "judged")] += ident.quality.usable
                    if shown:
                        c.others[(kind, "shown")] += 1
                        c.breaches.append((kind, *where, f.label, shown))
                    elif sug is not None:
                        c.others[(kind, "suggested")] += 1
                        c.near.append((round(sug.similarity, 4), kind, photo.key, f.label,
                                       sug_name, sug.why))
                    continue
                if f.label is None:
                    if shown:
                        c.unlabelled_shown.append((*where, shown))
                    continue
                if shown == f.label:
                    outcome = "shown"
                elif shown:
                    outcome = "wrong person"
                    c.breaches.append(("wrong person", *where, f.label, shown))
                elif sug is not None and sug_name == f.label:
                    outcome = ("suggested, any reviewer" if sug.similarity >= CONFIRM_FLOOR
                               else "suggested, registrar")
                elif sug is not None:
                    outcome = "suggested as someone else"
                else:
                    outcome = f"hidden: {ident.reason}"
                (c.genuine if f.det.height >= rb.MIN_PROBE_HEIGHT else
                 c.genuine_small)[outcome] += 1
        total.add(c)
    return total


def report(c: Counts, title: str) -> dict:
    n = sum(c.genuine.values())
    auto = c.genuine["shown"]
    any_rev = c.genuine["suggested, any reviewer"]
    reg = c.genuine["suggested, registrar"]
    print(f"\n== {title}")
    print(f"registered people's faces >= {rb.MIN_PROBE_HEIGHT} px: {n}")
    print(f"  shown automatically:                  {auto:4d} = {100 * auto / max(n, 1):5.1f} %")
    print(f"  shown after confirming a suggestion:  {any_rev + reg:4d} = "
          f"{100 * (any_rev + reg) / max(n, 1):5.1f} %  (any reviewer {any_rev}, only a "
          f"registrar - under the floor {CONFIRM_FLOOR} - {reg})")
    print(f"  together:                             {auto + any_rev + reg:4d} = "
          f"{100 * (auto + any_rev + reg) / max(n, 1):5.1f} %   (target >= 97 %)")
    rest = {k: v for k, v in c.genuine.items() if not k.startswith(("shown", "suggested, "))}
    print("  the rest: " + (", ".join(f"{k} {v}" for k, v in sorted(rest.items())) or "none"))
    print(f"  wrong person shown: {c.genuine['wrong person']}   (target 0)")
    small = sum(c.genuine_small.values())
    if small:
        small_suggested = (c.genuine_small["suggested, any reviewer"]
                           + c.genuine_small["suggested, registrar"])
        print(f"  (faces under {rb.MIN_PROBE_HEIGHT} px, not counted above: {small}, shown "
              f"{c.genuine_small['shown']}, suggested as themselves {small_suggested})")
    for kind in ("not registered", "stranger photo"):
        print(f"{kind:15s}: faces {c.others[(kind, 'faces')]}, judgeable "
              f"{c.others[(kind, 'judged')]}, shown automatically "
              f"{c.others[(kind, 'shown')]} (target 0), suggested {c.others[(kind, 'suggested')]}")
    per100 = 100 * c.suggestions / max(c.photos, 1)
    above = c.suggestions - c.suggestions_below_floor
    print(f"suggestions: {c.suggestions} in {c.photos} photos = {per100:.1f} per 100 photos; "
          f"{above} ({100 * above / max(c.photos, 1):.1f} per 100) at or above the floor (any "
          f"reviewer may confirm), {c.suggestions_below_floor} under it (registrar only)")
    for b in c.breaches:
        print("  BREACH", b)
    for u in c.unlabelled_shown:
        print("  unlabelled face shown (check by eye)", u)
    for s in sorted(c.near, reverse=True)[:5]:
        print("  closest suggested stranger", s)
    return {"faces": n, "auto": auto, "confirmed": any_rev + reg,
            "strangers_auto": sum(v for (k, o), v in c.others.items() if o == "shown"),
            "per100": per100}


# ----------------------------------------------------------------------------- the sweep

def stranger_rows(photos: list[rb.Photo], refs: dict, half: int) -> tuple[list, list]:
    """Per face of the half (every rotation): (kind, best, agree, margin, templates) of the
    nearest registered person, for registered faces (genuine) and everyone else."""
    people = sorted(rb.families(photos))
    genuine, others = [], []
    for rotation in range(ROTATIONS):
        reg = registered_in(people, half, rotation, refs)
        ids = {p: i + 1 for i, p in enumerate(reg)}
        gallery = matching.Gallery([(ids[p], f.template) for p in reg for _, f in refs[p]],
                                   128)
        profiles = two_bars.profiles(gallery)
        ref_families = {ph.family for p in reg for ph, _ in refs[p]}
        for photo in photos:
            if photo.family in ref_families:
                continue
            if photo.dataset == "strangers" and person_half(photo.key) != half:
                continue
            found = judge_photo(photo, gallery, None, profiles)
            for f, ident in zip(photo.faces, found):
                if photo.dataset != "strangers" and (f.label is None
                                                     or person_half(f.label) != half):
                    continue
                is_genuine = photo.dataset != "strangers" and f.label in ids
                if ident.similarity is None:
                    if is_genuine and f.det.height >= rb.MIN_PROBE_HEIGHT:
                        genuine.append(None)
                    continue
                scores = gallery.person_scores(f.template[None])[0]
                seconds = gallery.person_second_scores(f.template[None])[0]
                order = np.argsort(-scores)
                k = int(order[0])
                best = float(scores[k])
                other = float(scores[order[1]]) if len(order) > 1 else -1.0
                row = (best, float(seconds[k]),
                       best - max(other, matching.UNKNOWN_SIMILARITY),
                       profiles[int(gallery.person_ids[k])].templates,
                       ident.match_id is not None and
                       (not is_genuine or ident.match_id == ids[f.label]))
                if is_genuine:
                    if f.det.height >= rb.MIN_PROBE_HEIGHT:
                        genuine.append(row)
                else:
                    others.append(row)
    return genuine, others


def sweep(photos: list[rb.Photo], refs: dict) -> None:
    genuine, others = stranger_rows(photos, refs, 0)

    def passes(row, b: two_bars.Bars) -> bool:
        best, agree, margin, n, matched = row
        if not matched:
            return False
        bar_ok = best >= b.one_template if n <= 1 else (best >= b.strict and agree >= b.agree)
        return bar_ok and margin >= b.margin

    def gap(row, b: two_bars.Bars) -> float:
        best, agree, margin, n, _ = row
        return b.one_template - best if n <= 1 else max(b.strict - best, b.agree - agree)

    print("\n== the sweep the bars were chosen from: TUNE half, registrar protocol, "
          f"{len(genuine)} registered faces >= {rb.MIN_PROBE_HEIGHT} px, {len(others)} "
          f"judgeable faces of everyone else")
    print(f"{'strict':>6s} {'agree':>6s} {'one':>6s} {'margin':>6s} | {'shown':>6s} | "
          f"{'strangers shown':>15s} | {'headroom':>8s}")
    cells = []
    for strict, agree, one, margin in itertools.product(
            (0.94, 0.945, 0.95, 0.955, 0.96), (0.0, 0.93, 0.935, 0.94, 0.945),
            (0.945, 0.95, 0.955, 0.96), (0.04, 0.05)):
        if agree > strict or one < strict:
            continue
        b = two_bars.Bars(strict, agree, one, margin)
        shown = sum(1 for r in genuine if r is not None and passes(r, b))
        strangers = sum(1 for r in others if passes(r, b))
        head = min(gap(r, b) for r in others)
        cells.append((b, shown, strangers, head))
    # The rule (each bar the lowest value on the 0.005 grid that keeps it):
    # * strict: above every tune stranger's similarity (anyone's nearest, margin aside);
    # * one_template: a person with one photo has nothing to corroborate a match, and a
    #   look-alike may resemble anyone, so the similarity alone keeps 0.01 of headroom over
    #   every tune stranger;
    # * agree: with that strict bar, every tune stranger nearest to a person with two
    #   templates or more stays at least 0.01 from passing;
    # * margin: matching's 0.04 (0.05 gains no headroom and shows fewer, in the table).
    step = 0.005
    up = lambda v: round(float(np.ceil(round(v / step, 6))) * step, 3)  # noqa: E731
    top = max(r[0] for r in others)
    strict = up(top + 1e-6)
    one = up(top + 0.01)
    two = [r for r in others if r[3] >= 2]
    agree = next(a for a in np.round(np.arange(0.90, strict + 1e-9, step), 3)
                 if min(max(strict - r[0], a - r[1]) for r in two) >= 0.01)
    chosen = two_bars.Bars(strict, float(agree), one, two_bars.STRICT_MARGIN)
    for b, shown, strangers, head in cells:
        if b.margin == two_bars.STRICT_MARGIN or b == chosen:
            mark = " <- chosen" if b == chosen else ""
            if b == two_bars.BARS:
                mark += " (shipped)"
            print(f"{b.strict:6.3f} {b.agree:6.3f} {b.one_template:6.3f} {b.margin:6.2f} | "
                  f"{shown:6d} | {strangers:15d} | {head:+8.4f}{mark}")
    print(f"closest tune stranger: {top:.4f} (second-best template of that person "
          f"{max(others)[1]:.4f}) -> strict {strict}, one template {one}, agree {agree}")
    shown = sum(1 for r in genuine if r is not None and passes(r, chosen))
    print(f"chosen: {chosen}: {shown} of {len(genuine)} tune registered faces shown "
          f"automatically, {sum(passes(r, chosen) for r in others)} others; shipped "
          f"{two_bars.BARS}" + (" (the same)" if chosen == two_bars.BARS else " (DIFFERENT)"))

# ----------------------------------------------------------------------------- the floor

def floor_pairs(photos: list[rb.Photo]) -> None:
    probes, refs = [], []
    for ph in photos:
        if ph.dataset == "strangers":
            continue
        for f in ph.faces:
            if f.label is None or f.template is None:
                continue
            if rb.judge(f, q.RECOGNITION).usable:
                probes.append((f.label, ph.key, f.template))
            if rb.judge(f, q.ENROLMENT).usable and ph.key not in rb.MULTI_PERSON:
                refs.append((f.label, ph.key, f.template))
    s = np.stack([t for *_, t in probes]) @ np.stack([t for *_, t in refs]).T
    pl = np.array([lab for lab, *_ in probes])
    rl = np.array([lab for lab, *_ in refs])
    diff = pl[:, None] != rl[None, :]
    hp = np.array([person_half(lab) for lab in pl])
    hr = np.array([person_half(lab) for lab in rl])
    print(f"\n== the confirmation floor: different-person pairs of the shared identity photos "
          f"(a face passing the recognition gate against another person's face passing the "
          f"enrolment gate; {len(probes)} x {len(refs)} faces)")
    for name, mask in (("tune people", (hp[:, None] == 0) & (hr[None, :] == 0)),
                       ("check people", (hp[:, None] == 1) & (hr[None, :] == 1)),
                       ("across the halves", hp[:, None] != hr[None, :]),
                       ("all", np.ones_like(diff))):
        m = diff & mask
        v = s[m]
        i, j = np.unravel_index(np.argmax(np.where(m, s, -2.0)), s.shape)
        print(f"  {name:18s}: {int(m.sum()):6d} pairs, max {v.max():.4f} ({probes[i][1]} "
              f"{pl[i]} / {refs[j][1]} {rl[j]}), 99.9th percentile "
              f"{np.percentile(v, 99.9):.4f}, >= floor {CONFIRM_FLOOR}: "
              f"{int((v >= CONFIRM_FLOOR).sum())}")
    same = ~diff & (s < 0.99999)
    v = s[same]
    print(f"  same-person pairs: {int(same.sum())}, under the floor: "
          f"{100 * float((v < CONFIRM_FLOOR).mean()):.1f} % (median {np.median(v):.4f})")


def main_report(photos: list[rb.Photo], data: Path, do_sweep: bool, do_floor: bool) -> None:
    rb.set_part(rb.PART, photos)         # fills the person / photo indices (halves)
    refs = registrar_refs(data, photos)
    people = sorted(rb.families(photos))
    n_two = sum(len(v) == 2 for v in refs.values())
    print(f"\n== two bars (issue 26), registrar protocol: {len(refs)} of {len(people)} people "
          f"registrable ({n_two} with two photos, {len(refs) - n_two} with one), "
          f"{ROTATIONS} rotations; bars {two_bars.BARS}; confirmation floor {CONFIRM_FLOOR}")
    if do_sweep:
        sweep(photos, refs)
    if do_floor:
        floor_pairs(photos)
    for half in (0, 1):
        role = "the bars were chosen here" if half == 0 else "reported: nobody tuned on it"
        report(run_half(photos, refs, half, two_bars.BARS),
               f"{HALF_NAMES[half]} half ({role}), two bars")
    before = run_half(photos, refs, 1, None)
    report(before, "check half, before: matching's bar alone (0.94 / 0.04 / two references "
                   "agreeing), no suggestions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=rb.ROOT.parent / "shared" / "data")
    ap.add_argument("--models", type=Path, default=rb.ROOT / ".cache" / "models")
    ap.add_argument("--cache", type=Path, required=True,
                    help="the face table of benchmarks/recognition.py --cache")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--floor", action="store_true")
    args = ap.parse_args()
    import __main__
    __main__.Photo, __main__.Face = rb.Photo, rb.Face
    print(f"hardware: {rb.hardware()}")
    photos, _ = rb.build_table(args.data, args.models, True, args.cache,
                               rb.MODELS[rb.MODEL_NAME])
    rb.attach_labels(args.data, photos)
    main_report(photos, args.data, args.sweep, args.floor)


if __name__ == "__main__":
    main()
