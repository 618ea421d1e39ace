"""Which faces stay visible: recognition result + consent rules, fail-safe.

A face is shown only when recognition named a person (the recognizer already demands a
similarity above its threshold, a margin to the next identity, and a face large and sharp
enough to judge) AND that person's consent is valid today for the output's purpose.
Everything else is hidden, and every decision carries its reason for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from blurkit.detect.common import Detection


class IdentityLike(Protocol):
    person_id: int | None
    similarity: float
    reason: str


class SnapshotLike(Protocol):
    def decide(self, person_id: int, purpose: str): ...


@dataclass(frozen=True)
class FaceDecision:
    detection: Detection
    show: bool
    reason: str                    # why hidden (or "consent_valid" when shown)
    person_id: int | None = None   # only when shown
    consent_id: int | None = None  # the consent record that allows showing
    similarity: float | None = None
    suggestion: dict | None = None  # hidden, but looks like a consenting person (suggest.py)

    def to_dict(self) -> dict:
        d = self.detection.to_dict()
        d["action"] = "shown" if self.show else "hidden"
        d["reason"] = self.reason
        if self.show:
            d["person_id"] = self.person_id
            d["consent_id"] = self.consent_id
        if self.similarity is not None:
            d["similarity"] = round(float(self.similarity), 4)
        if self.suggestion is not None and not self.show:
            d["suggestion"] = self.suggestion
        return d


def hide_all(detections: Sequence[Detection],
             reason: str = "no_consented_person") -> list[FaceDecision]:
    return [FaceDecision(d, False, reason) for d in detections]


NESTED = 0.5  # share of a detection inside a shown face that makes it part of that face


def inside_share(inner, outer) -> float:
    """How much of box `inner` (x1, y1, x2, y2) lies inside box `outer`, 0..1."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    return ix * iy / max((inner[2] - inner[0]) * (inner[3] - inner[1]), 1e-6)


def decide(detections: Sequence[Detection], identities: Sequence[IdentityLike] | None,
           snapshot: SnapshotLike | None, purpose: str) -> list[FaceDecision]:
    """One decision per detection, same order.

    A smaller detection lying mostly inside a face that is shown is the same face found
    again at another scale of the search (the detector is tuned to find too much rather
    than too little); hiding it would blot out part of the consented face, so it is shown
    with that face. Everything else that is not clearly a consented person is hidden.
    """
    decisions = _decide(detections, identities, snapshot, purpose)
    shown = [d for d in decisions if d.show]
    if not shown:
        return decisions
    out = []
    for d in decisions:
        host = None if d.show else next(
            (s for s in shown if s.detection.width * s.detection.height
             >= d.detection.width * d.detection.height
             and inside_share(d.detection.box, s.detection.box) >= NESTED), None)
        out.append(d if host is None else FaceDecision(
            d.detection, True, "part_of_shown_face", host.person_id, host.consent_id,
            d.similarity))
    return out


def _decide(detections: Sequence[Detection], identities: Sequence[IdentityLike] | None,
            snapshot: SnapshotLike | None, purpose: str) -> list[FaceDecision]:
    if identities is None or snapshot is None:
        return hide_all(detections)
    if len(identities) != len(detections):
        raise ValueError("one identity per detection expected")
    out = []
    for det, ident in zip(detections, identities):
        if ident.person_id is None:
            out.append(FaceDecision(det, False, ident.reason, similarity=ident.similarity,
                                    suggestion=_suggestion(ident, snapshot, purpose)))
            continue
        verdict = snapshot.decide(ident.person_id, purpose)
        if verdict.valid and verdict.consent_id is not None:
            out.append(FaceDecision(det, True, "consent_valid", ident.person_id,
                                    verdict.consent_id, ident.similarity))
        else:
            # the person is known but may not be shown: the reason names the rule, not the person
            out.append(FaceDecision(det, False, verdict.reason_key.rsplit(".", 1)[-1],
                                    similarity=ident.similarity))
    return out


def _suggestion(ident, snapshot, purpose: str) -> dict | None:
    """The doubtful band (blurkit.identify.bars): whom a hidden face may be, for a reviewer."""
    if getattr(ident, "suggestion", None) is None:
        return None
    from blurkit.identify.suggest import suggestion_report
    return suggestion_report(ident.suggestion, snapshot, purpose)
