"""Two bars: the machine shows a face by itself only above a strict bar; between a lower bar
and the strict one it hides the face and suggests the person to a reviewer.

matching.py decides whom a face looks like (the "match bar": 0.94, a margin of 0.04, two
references agreeing, one face per person). On public photos nobody here had tuned on, one
stranger - a look-alike of a registered actress - was shown at 0.942 against that bar, and
nothing in the output said it was close (issue 26). So matching's verdict is no longer enough
to show a face without a person looking; this module adds, per face:

* **automatic** (`Identity.person_id` set): matching named person P AND
  - P has two reference templates or more: the best of them >= `Bars.strict` (0.945) and the
    second best >= `Bars.agree` (0.94) - two of the person's own registration photos both
    close, which a look-alike rarely is; a person whose photos agree with each other only at
    0.93 is therefore held to a stricter test than one whose photos agree at 0.98, since a
    face must come near both;
  - P has one template: the similarity alone >= `Bars.one_template` (0.955);
  - and in both cases a margin of `Bars.margin` (0.04) over the next enrolled person and
    the unknown-stranger baseline (matching.UNKNOWN_SIMILARITY).
* **suggestion** (`Identity.suggestion`): not automatic, but the face passed the quality
  gate and its nearest enrolled person is at least `Bars.lower` (0.90) similar. Hidden; a
  reviewer may confirm the person (see suggest.py for who may, and the report fields).
* nothing: below the lower bar (clearly nobody enrolled) or not judgeable.

How the numbers were chosen (benchmarks/recognition.py --bars-sweep; `benchmarks/twobars.py`
has the protocol): the shared identity sets split into tune and check people (per set,
people sorted by label; even index tune, odd check) and the stranger photos by index the
same way; every person registered as a registrar would (the first two photos in natural
file order whose labelled face passes the enrolment gate, the face picked by hand where a
photo holds several, "same person" confirmed where the tool asks), in two rotations so that
each person is registered once and a stranger once. On the TUNE half only:

* the closest stranger to anyone registered was a magazine-cover model in WIDER FACE at
  0.9427 to a registered actress (second-best template 0.9299; margin 0.033); different-person
  pairs of the identity sets reached 0.9163 within the tune people.
* `strict` is the lowest value on a 0.005 grid above every tune stranger's similarity
  (0.945); `agree` and `one_template` were picked from a grid so that every tune stranger
  stays at least 0.01 below passing (headroom: by how much every bar could drop before one is
  shown): with `agree` 0.94 the look-alike misses by 0.0101, without it by 0.0023; a person
  with one template has no second photo to agree, so the similarity alone keeps that
  headroom: 0.9427 + 0.01 -> 0.955. Among the cells with headroom >= 0.01 the one showing the
  most registered people automatically was taken (ties: the stricter).
* Measured and not adopted: a larger margin for a person with a close enrolled neighbour
  (registration runner-up >= 0.90: +0.01 margin) - no headroom gained, one more tune face
  held back; margin 0.05 - two more held back, no headroom gained; the support rule of
  matching's step 4 (looser than the match bar) as automatic - it is what showed the
  look-alike at looser margins, so its faces are suggestions now.
* `lower` is matching.UNKNOWN_SIMILARITY (0.90), not tuned here: the level of a close
  stranger (99th percentile of different-person similarities), the same line the video vote
  draws between "unsure" and "clearly a stranger". Every tune registered face is above it.

The figures on the check half are in DESIGN.md ("Two bars").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from blurkit import i18n
from blurkit.identify.matching import DUPLICATE, UNKNOWN_SIMILARITY, Gallery, Identity

# The bars (see the module docstring for where each comes from).
STRICT = 0.945
AGREE = 0.94
ONE_TEMPLATE = 0.955
STRICT_MARGIN = 0.04
LOWER = UNKNOWN_SIMILARITY

# Why a face with a suggestion was not shown automatically (Suggestion.why).
BELOW_BAR = "below_bar"                   # the similarity is under the strict bar
REFERENCES_DISAGREE = "references_disagree"  # only one of the person's photos is close
ONE_REFERENCE = "one_reference"           # one registration photo: its stricter bar missed
CLOSE_TO_ANOTHER = "close_to_another"     # another enrolled person is nearly as similar
DUPLICATE_IN_IMAGE = "duplicate_in_image"  # another face in the picture claims the person
WHY = (BELOW_BAR, REFERENCES_DISAGREE, ONE_REFERENCE, CLOSE_TO_ANOTHER, DUPLICATE_IN_IMAGE)

# The reason a face matched at the match bar but held back by the strict one is hidden with.
DOUBTFUL = "doubtful"

_WHY_KEYS = {BELOW_BAR: "identify.why.below_bar",
             REFERENCES_DISAGREE: "identify.why.references_disagree",
             ONE_REFERENCE: "identify.why.one_reference",
             CLOSE_TO_ANOTHER: "identify.why.close_to_another",
             DUPLICATE_IN_IMAGE: "identify.why.duplicate_in_image"}


def why_text(why: str, lang: str | None = None) -> str:
    """Why a suggested face was not shown automatically, for people (Swedish or English)."""
    key = _WHY_KEYS.get(why)
    return i18n.t(key, lang=lang) if key else why


@dataclass(frozen=True)
class Bars:
    """The strict bar (automatic), its per-person forms, and the lower bar (suggestions)."""
    strict: float = STRICT
    agree: float = AGREE
    one_template: float = ONE_TEMPLATE
    margin: float = STRICT_MARGIN
    lower: float = LOWER

    def looser_than(self, other: Bars) -> bool:
        """Would these bars show a face automatically that `other` would not? (A lower
        `lower` only adds suggestions, which show nothing.)"""
        return (self.strict < other.strict or self.agree < other.agree
                or self.one_template < other.one_template or self.margin < other.margin)


BARS = Bars()


@dataclass(frozen=True)
class PersonProfile:
    """What a person's registration tells, from their templates in the gallery.

    templates: how many; self_similarity: the least similar pair of their own templates
    (None with one); runner_up: the highest similarity of any of their templates to another
    enrolled person's (None when alone)."""
    person_id: int
    templates: int
    self_similarity: float | None
    runner_up: float | None

    def to_dict(self) -> dict:
        r = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
        return {"person_id": self.person_id, "templates": self.templates,
                "self_similarity": r(self.self_similarity), "runner_up": r(self.runner_up)}


def profiles(gallery: Gallery) -> dict[int, PersonProfile]:
    """One PersonProfile per enrolled person of `gallery`."""
    m = gallery.matrix
    n = len(gallery.person_ids)
    starts = list(gallery._starts) if n else []
    ends = starts[1:] + [m.shape[0]]
    out = {}
    for k in range(n):
        a, b = int(starts[k]), int(ends[k])
        own = m[a:b]
        self_sim = None
        if b - a >= 2:
            sims = own @ own.T
            self_sim = float(sims[np.triu_indices(b - a, 1)].min())
        others = np.concatenate([m[:a], m[b:]]) if m.shape[0] > b - a else None
        runner_up = None if others is None else float((others @ own.T).max())
        pid = int(gallery.person_ids[k])
        out[pid] = PersonProfile(pid, b - a, self_sim, runner_up)
    return out


@dataclass(frozen=True)
class Suggestion:
    """A hidden face that looks like an enrolled person: for a reviewer to confirm or not.

    similarity: to the person's nearest template; margin: over the next enrolled person
    (None when nobody else is enrolled); second_id: that next person; why: one of WHY."""
    person_id: int
    similarity: float
    margin: float | None
    second_id: int | None
    why: str

    def to_dict(self) -> dict:
        return {"person_id": self.person_id, "similarity": round(float(self.similarity), 4),
                "margin": None if self.margin is None else round(float(self.margin), 4),
                "second_id": self.second_id, "why": self.why}


def strict_shortfall(best: float, agree: float, margin: float, profile: PersonProfile,
                     bars: Bars) -> str | None:
    """None when a face matched to the profile's person passes the strict bar, else why not
    (a key of WHY). `agree`: the face's similarity to the person's second-best template (-1
    with one template); `margin`: best minus max(next person, unknown baseline)."""
    if profile.templates <= 1:
        if best < bars.one_template:
            return ONE_REFERENCE if best >= bars.strict else BELOW_BAR
    else:
        if best < bars.strict:
            return BELOW_BAR
        if agree < bars.agree:
            return REFERENCES_DISAGREE
    if margin < bars.margin:
        return CLOSE_TO_ANOTHER
    return None


def apply(identities: Sequence[Identity], vectors: Sequence[np.ndarray | None],
          gallery: Gallery, bars: Bars | None,
          person_profiles: dict[int, PersonProfile] | None = None,
          unknown: float = UNKNOWN_SIMILARITY) -> list[Identity]:
    """The identities of one picture's faces (matching.identities, same order) with the two
    bars applied: `person_id` stays only on faces that pass the strict bar, `match_id` keeps
    matching's verdict (the video vote counts it), `second_id` names the next person and
    `suggestion` is set for the doubtful band. `bars=None`: matching's verdict unchanged
    (no strict bar, no suggestions)."""
    if len(identities) != len(vectors):
        raise ValueError("one template per identity expected")
    judged = [i for i, ident in enumerate(identities)
              if ident.similarity is not None and vectors[i] is not None]
    judged_set = set(judged)
    out = list(identities)
    if not judged or len(gallery) == 0:
        return [dataclasses.replace(ident, match_id=ident.person_id) for ident in out]
    if person_profiles is None:
        person_profiles = profiles(gallery)
    stacked = np.stack([np.asarray(vectors[i], np.float32) for i in judged])
    scores = gallery.person_scores(stacked)
    seconds = gallery.person_second_scores(stacked)
    pids = gallery.person_ids
    for row, i in enumerate(judged):
        ident = identities[i]
        order = np.argsort(-scores[row])
        best_k = int(order[0])
        pid = int(pids[best_k])
        best = float(scores[row, best_k])
        second_id = int(pids[order[1]]) if len(order) > 1 else None
        other = float(scores[row, order[1]]) if len(order) > 1 else None
        matched = ident.person_id
        if bars is None:
            out[i] = dataclasses.replace(ident, match_id=matched, second_id=second_id)
            continue
        margin = best - max(other if other is not None else -1.0, unknown)
        short = None
        if matched is not None:
            short = strict_shortfall(best, float(seconds[row, best_k]), margin,
                                     person_profiles[matched], bars) \
                if matched == pid else BELOW_BAR   # cannot happen: matching names the best
        auto = matched is not None and short is None
        suggestion = None
        if not auto and best >= bars.lower:
            why = short or (DUPLICATE_IN_IMAGE if ident.reason == DUPLICATE else
                            CLOSE_TO_ANOTHER if best >= bars.strict else BELOW_BAR)
            suggestion = Suggestion(pid, best, None if other is None else best - other,
                                    second_id, why)
        out[i] = dataclasses.replace(
            ident, person_id=matched if auto else None,
            reason=ident.reason if matched is None else (None if auto else DOUBTFUL),
            match_id=matched, second_id=second_id, suggestion=suggestion)
    for i, ident in enumerate(out):
        if i not in judged_set:
            out[i] = dataclasses.replace(ident, match_id=ident.person_id)
    return out
