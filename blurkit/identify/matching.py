"""Who is this face? Several templates per person, a threshold, a margin, one face per person.

Similarities are cosine similarities of L2-normalised dlib templates (1 = identical). For this
model, pictures of the same person score ~0.92-0.99 and strangers ~0.75-0.93 (dlib's usual
Euclidean limit 0.6 on its raw ~1.4-long vectors is ~0.91 here): the scale is compressed, so
the numbers below differ by hundredths.

A face is matched to person P only when all of this holds (fail-safe: anything else hides it):

1. its similarity to P (the best over P's templates) is at least `threshold`;
2. it beats every other enrolled person by at least `margin` - and when there is no other
   person, or the next one is far away, it beats the implicit "unknown stranger" baseline
   `UNKNOWN_SIMILARITY` by the margin (so a gallery of one is never judged more loosely than
   a full one; with the default numbers the threshold is the stricter rule and the baseline
   only shows in reports);
3. no other face in the same picture claims P nearly as well: when several faces have P as
   their best person (above the threshold, margin or not), only the strongest can be shown,
   and only if it beats the runner-up by `margin` too; otherwise all of them are hidden
   (two faces both looking like P means one of them is a look-alike, and if we cannot tell
   which, neither is shown). The weaker ones are never re-assigned to their second choice.

4. (several reference photos agreeing) a face close to two different reference photos of P is
   stronger evidence than a face close to one, so for a person with two templates or more
   `SupportRule` allows two looser cases:
   a. just below the threshold: best template >= `best`, the person's second-best template
      >= `second`, margin >= `margin`;
   b. another person close: best template >= `close_best`, margin >= `close_margin`, and
      the person's second-best template beats every other person's best template by
      `close_lead` (two of P's photos are each nearer than anything of the other person).
   Step 3 holds for these faces too (they claim their person like any other).

The gallery holds every enrolled person, with or without a valid consent: a look-alike who is
enrolled but may not be shown still takes the margin away from the person who may.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from blurkit.identify.quality import FaceQuality

# Chosen with benchmarks/recognition.py (its sweep table; 5 splits, run of 2026-11-25 with
# the detector of commit d1361a7):
# at 0.94 / 0.04 no face of anyone not enrolled was shown - not among the 578 labelled faces
# of non-enrolled people in the identity sets (incl. the look-alike Johns), not in deepface's
# 380 different-person pairs (both ways), not among the 382 judgeable stranger faces of WIDER
# FACE against a 32-person gallery - while 90.9 % of enrolled people's faces >= 80 px were
# shown (deepface 100 %, Johns 100 %, face_recognition examples 92.5 % - the misses are a
# deliberately half-cut crop -, BBT grey 150-px TV crops 74 %; 98.4 % without BBT).
# Every looser cell of the sweep showed someone: 0.94 / 0.02 two WIDER strangers (0.943 as an
# actress, 0.944 as an actor; their second-best persons 0.918 / 0.906), 0.93 / 0.03 one
# non-enrolled face. The margin, more than the threshold, stops them: a stranger who reaches
# 0.94 is usually "generic", close to several enrolled people at once.
THRESHOLD = 0.94
MARGIN = 0.04
# The margin of a face with no close second person is measured against this: the similarity
# a close stranger reaches (different-person similarities in the identity sets: 99th
# percentile 0.89-0.91 per set, maximum 0.934 - Matt Damon vs Leonardo DiCaprio). With
# 0.90 + MARGIN = THRESHOLD a gallery of one person is judged exactly as strictly as a full one.
UNKNOWN_SIMILARITY = 0.90



@dataclass(frozen=True)
class SupportRule:
    """Step 4: the looser matches allowed when two of a person's templates agree."""
    best: float
    second: float
    margin: float
    close_best: float = 1.01         # > 1: case b off
    close_margin: float = 1.0
    close_lead: float = 1.0

    def looser_than(self, other: SupportRule) -> bool:
        return (self.best < other.best or self.second < other.second
                or self.margin < other.margin or self.close_best < other.close_best
                or self.close_margin < other.close_margin
                or self.close_lead < other.close_lead)


# Chosen with benchmarks/recognition.py --part tune --support-sweep (people of even index per
# set, stranger photos of even index): the strictest of the cells showing the most, none of
# which showed anyone else; reported on --part check. See DESIGN.md "Consent registration".
SUPPORT = SupportRule(best=0.935, second=0.93, margin=0.03,
                      close_best=0.945, close_margin=0.02, close_lead=0.01)

NO_MATCH = "no_match"
AMBIGUOUS = "ambiguous"
DUPLICATE = "duplicate_in_image"
MATCH_REASONS = (NO_MATCH, AMBIGUOUS, DUPLICATE)


@dataclass(frozen=True)
class Identity:
    """The recognition verdict for one face.

    person_id: the enrolled person this face is shown as, or None (hidden). Whether that person
        may be shown today for this purpose is the consent rules' decision, made afterwards.
    similarity: similarity to the nearest enrolled person (None: not compared - quality gate).
    second_similarity: the competitor the margin is measured against: the next different
        person, or the unknown-stranger baseline if that is higher (None: not compared).
    nearest_id: the nearest enrolled person even when not matched (reports, video voting);
        never a reason to show a face.
    quality: the quality gate's measures.
    reason: None when matched; else a quality reason (low_score, partial, too_small,
        misaligned, pose, blurry) or no_match, ambiguous, duplicate_in_image (or bars.py's
        doubtful).
    match_id, second_id, suggestion: set by bars.apply (the Recognizer does): the person
        matched by the rules above (the video vote counts it; `person_id` is then only set
        when the strict bar is passed too), the next enrolled person, and bars.Suggestion for
        a face in the doubtful band (hidden; a reviewer may confirm).
    """

    person_id: int | None
    similarity: float | None
    second_similarity: float | None
    quality: FaceQuality
    reason: str | None
    nearest_id: int | None = None
    match_id: int | None = None
    second_id: int | None = None
    suggestion: object | None = None

    @property
    def matched(self) -> bool:
        return self.person_id is not None

    def to_dict(self) -> dict:
        r = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
        return {"person_id": self.person_id, "similarity": r(self.similarity),
                "second_similarity": r(self.second_similarity), "reason": self.reason,
                "nearest_id": self.nearest_id, "quality": self.quality.to_dict(),
                **({"suggestion": self.suggestion.to_dict()} if self.suggestion else {})}


class Gallery:
    """Every enrolled person's templates of one model, as one matrix."""

    def __init__(self, templates: Iterable[tuple[int, np.ndarray]], dim: int) -> None:
        pairs = [(int(pid), np.asarray(v, dtype=np.float64).reshape(-1)) for pid, v in templates]
        for pid, v in pairs:
            if v.shape != (dim,):
                raise ValueError(f"template of person {pid} has {v.size} values, the model "
                                 f"makes {dim}: templates of another model?")
            if not np.all(np.isfinite(v)) or np.linalg.norm(v) < 1e-9:
                raise ValueError(f"template of person {pid} is not a usable vector")
        pairs.sort(key=lambda p: p[0])
        self.person_ids = np.array(sorted({pid for pid, _ in pairs}), dtype=np.int64)
        if pairs:
            m = np.stack([v / np.linalg.norm(v) for _, v in pairs]).astype(np.float32)
            owners = np.array([pid for pid, _ in pairs], dtype=np.int64)
        else:
            m = np.zeros((0, dim), np.float32)
            owners = np.zeros(0, np.int64)
        self.matrix = m
        # templates are sorted by person: person k's rows start at self._starts[k]
        self._starts = np.searchsorted(owners, self.person_ids) if len(pairs) else owners

    def __len__(self) -> int:
        return len(self.person_ids)

    @property
    def template_count(self) -> int:
        return int(self.matrix.shape[0])

    def person_second_scores(self, vectors: np.ndarray) -> np.ndarray:
        """(faces, persons) similarity of each face to each person's SECOND-best template
        (-1 for a person with one template)."""
        n = len(self.person_ids)
        out = np.full((len(vectors), n), -1.0, np.float32)
        if n == 0:
            return out
        sims = np.asarray(vectors, np.float32) @ self.matrix.T
        ends = list(self._starts[1:]) + [self.matrix.shape[0]]
        for k, (a, b) in enumerate(zip(self._starts, ends)):
            if b - a >= 2:
                out[:, k] = np.sort(sims[:, a:b], axis=1)[:, -2]
        return out

    def person_scores(self, vectors: np.ndarray) -> np.ndarray:
        """(faces, persons) similarity of each face to each person: best over the templates."""
        if len(self.person_ids) == 0:
            return np.zeros((len(vectors), 0), np.float32)
        sims = np.asarray(vectors, np.float32) @ self.matrix.T
        return np.maximum.reduceat(sims, self._starts, axis=1)


def decide(scores: np.ndarray, person_ids: np.ndarray, threshold: float, margin: float,
           unknown: float = UNKNOWN_SIMILARITY, second_scores: np.ndarray | None = None,
           support: SupportRule | None = None
           ) -> list[tuple[int | None, float | None, float | None, str | None, int | None]]:
    """Steps 1-4 above for the faces of one picture.

    scores: (faces, persons) from Gallery.person_scores; second_scores from
    Gallery.person_second_scores (step 4 runs only with both it and `support`). Returns per
    face (person_id or None, similarity, second_similarity, reason, nearest_id)."""
    n = scores.shape[0]
    out: list = [None] * n
    if scores.shape[1] == 0:
        return [(None, None, None, NO_MATCH, None)] * n
    order = np.argsort(-scores, axis=1)
    best_idx = order[:, 0]
    best = scores[np.arange(n), best_idx]
    other = scores[np.arange(n), order[:, 1]] if scores.shape[1] > 1 else np.full(n, -1.0)
    second = np.maximum(other, unknown)
    for i in range(n):
        pid = int(person_ids[best_idx[i]])
        b, s = float(best[i]), float(second[i])
        agree = -1.0 if second_scores is None else float(second_scores[i, best_idx[i]])
        if b >= threshold and b - s >= margin:
            out[i] = (pid, b, s, None, pid)
        elif support is not None and agree >= 0 and (
                (b >= support.best and agree >= support.second and b - s >= support.margin)
                or (b >= support.close_best and b - s >= support.close_margin
                    and agree - float(other[i]) >= support.close_lead)):
            out[i] = (pid, b, s, None, pid)          # step 4: two references agree
        elif b < threshold:
            out[i] = (None, b, s, NO_MATCH, pid)
        else:
            out[i] = (None, b, s, AMBIGUOUS, pid)
    # step 3: one face per person (a face matched by step 4 claims its person too)
    claim_from = threshold if support is None else min(threshold, support.best)
    claims: dict[int, list[int]] = {}
    for i in range(n):
        if best[i] >= claim_from:
            claims.setdefault(int(person_ids[best_idx[i]]), []).append(i)
    for pid, faces in claims.items():
        if len(faces) < 2:
            continue
        faces.sort(key=lambda i: -best[i])
        top, runner_up = faces[0], faces[1]
        for i in faces[1:]:
            _, b, s, _, nearest = out[i]
            out[i] = (None, b, s, DUPLICATE, nearest)
        if best[top] - best[runner_up] < margin:
            _, b, s, reason, nearest = out[top]
            out[top] = (None, b, s, reason or DUPLICATE, nearest)
    return out


def identities(qualities: Sequence[FaceQuality], vectors: Sequence[np.ndarray | None],
               gallery: Gallery, threshold: float, margin: float,
               unknown: float = UNKNOWN_SIMILARITY,
               support: SupportRule | None = None) -> list[Identity]:
    """One Identity per face; faces without a template (failed gate) are never matched.
    `support`: step 4 (None: steps 1-3 only)."""
    if len(qualities) != len(vectors):
        raise ValueError("one quality per template expected")
    judged = [i for i, v in enumerate(vectors) if v is not None and qualities[i].usable]
    result: list[Identity | None] = [None] * len(vectors)
    if judged:
        stacked = np.stack([np.asarray(vectors[i]) for i in judged])
        scores = gallery.person_scores(stacked)
        second = gallery.person_second_scores(stacked) if support is not None else None
        for i, (pid, b, s, reason, nearest) in zip(
                judged, decide(scores, gallery.person_ids, threshold, margin, unknown,
                               second, support)):
            result[i] = Identity(pid, b, s, qualities[i], reason, nearest)
    for i, quality in enumerate(qualities):
        if result[i] is None:
            reason = quality.reason if not quality.usable else NO_MATCH
            result[i] = Identity(None, None, None, quality, reason or NO_MATCH, None)
    return result  # type: ignore[return-value]
