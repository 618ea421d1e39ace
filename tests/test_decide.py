from dataclasses import dataclass

from blurkit.detect.common import Detection
from blurkit.engine.decide import decide


@dataclass
class Ident:
    person_id: int | None
    similarity: float = 0.97
    reason: str | None = None


@dataclass
class Verdict:
    valid: bool
    consent_id: int | None
    reason_key: str


class Snapshot:
    def __init__(self, valid: dict[int, bool]):
        self.valid = valid

    def decide(self, person_id, purpose):
        ok = self.valid.get(person_id, False) and purpose == "public"
        return Verdict(ok, 10 + person_id if ok else None,
                       "consent.reason.valid" if ok else "consent.reason.withdrawn")


FACE = Detection((100, 100, 200, 220), 0.95)
NESTED = Detection((120, 130, 170, 190), 0.2)          # the same face found again, smaller
BESIDE = Detection((210, 100, 300, 220), 0.9)          # someone else


def test_no_recognition_hides_everything():
    assert [d.show for d in decide([FACE, BESIDE], None, None, "public")] == [False, False]


def test_shown_only_with_a_valid_consent_for_the_purpose():
    idents = [Ident(1), Ident(2)]
    out = decide([FACE, BESIDE], idents, Snapshot({1: True, 2: False}), "public")
    assert [d.show for d in out] == [True, False]
    assert out[0].consent_id == 11 and out[1].reason == "withdrawn"
    out = decide([FACE, BESIDE], idents, Snapshot({1: True}), "internal")
    assert [d.show for d in out] == [False, False]


def test_unmatched_faces_keep_the_recognizers_reason():
    out = decide([FACE], [Ident(None, 0.5, "no_match")], Snapshot({}), "public")
    assert not out[0].show and out[0].reason == "no_match"


def test_a_detection_nested_in_a_shown_face_is_part_of_it_but_a_neighbour_is_not():
    idents = [Ident(1), Ident(None, reason="low_score"), Ident(None, reason="no_match")]
    out = decide([FACE, NESTED, BESIDE], idents, Snapshot({1: True}), "public")
    assert [d.show for d in out] == [True, True, False]
    assert out[1].reason == "part_of_shown_face" and out[1].person_id == 1
