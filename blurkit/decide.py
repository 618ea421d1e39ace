"""Which faces stay visible: recognition result + consent rules, fail-safe.

A face is shown only when recognition named a person (the recognizer already demands a
similarity above its threshold, a margin to the next identity, and a face large and sharp
enough to judge) AND that person's consent is valid today for the output's purpose.
Everything else is hidden, and every decision carries its reason for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

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

    def to_dict(self) -> dict:
        d = self.detection.to_dict()
        d["action"] = "shown" if self.show else "hidden"
        d["reason"] = self.reason
        if self.show:
            d["person_id"] = self.person_id
            d["consent_id"] = self.consent_id
        if self.similarity is not None:
            d["similarity"] = round(float(self.similarity), 4)
        return d


def hide_all(detections: Sequence[Detection], reason: str = "no_consented_person") -> list[FaceDecision]:
    return [FaceDecision(d, False, reason) for d in detections]


def decide(detections: Sequence[Detection], identities: Sequence[IdentityLike] | None,
           snapshot: SnapshotLike | None, purpose: str) -> list[FaceDecision]:
    """One decision per detection, same order."""
    if identities is None or snapshot is None:
        return hide_all(detections)
    if len(identities) != len(detections):
        raise ValueError("one identity per detection expected")
    out = []
    for det, ident in zip(detections, identities):
        if ident.person_id is None:
            out.append(FaceDecision(det, False, ident.reason, similarity=ident.similarity))
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
