"""A person's corrections applied to a photo (blurkit.engine.revise), without the web page."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES

from blurkit.engine.revise import BadDecision, ShowRefused, final_faces, render_photo
from tests.webmedia import detail, load_rgb, missed_face_photo

PORTRAIT = SAMPLES / "portrait_exif_gps_thumbnail.jpg"
FACE = [150.0, 118.0, 372.0, 338.0]


class NobodyMayBeShown:
    def decide(self, person_id, purpose):
        from blurkit.consent.rules import Decision
        return Decision(False, None, "consent.reason.no_consent")


def machine(action="hidden"):
    face = {"box": FACE, "score": 0.9, "action": action, "reason": "no_consented_person"}
    if action == "shown":
        face.update(reason="consent_valid", person_id=1, consent_id=9)
    return {"faces": [face]}


def test_hiding_a_shown_face_hides_its_nested_parts_too():
    m = {"faces": [
        {"box": [0, 0, 100, 100], "action": "shown", "reason": "consent_valid", "person_id": 1,
         "consent_id": 9},
        {"box": [20, 20, 60, 60], "action": "shown", "reason": "part_of_shown_face",
         "person_id": 1, "consent_id": 9}]}
    out = final_faces(m, [{"action": "hide_face", "face": 0}], None, "public")
    assert [f["action"] for f in out] == ["hidden", "hidden"]
    assert all("person_id" not in f for f in out)


def test_show_needs_a_valid_consent_and_bad_decisions_are_refused(tmp_path):
    with pytest.raises(ShowRefused):
        final_faces(machine(), [{"action": "show", "face": 0, "person_id": 3}],
                    NobodyMayBeShown(), "public")
    for bad in ({"action": "explode"}, {"action": "unhide", "face": 5},
                {"action": "hide_region", "box": [1, 1, 2, 2]},
                {"action": "hide_region", "box": "x"}):
        with pytest.raises(BadDecision):
            render_photo(PORTRAIT, machine(), [bad], tmp_path / "x.jpg", snapshot=None,
                         purpose="public")
    assert not (tmp_path / "x.jpg").exists()


def test_a_drawn_region_is_destroyed_and_an_unhidden_face_left_as_it_is(tmp_path):
    src = tmp_path / "missed.jpg"
    box = missed_face_photo(src)
    report = {"faces": [], "width": 640, "height": 480}
    new = render_photo(src, report, [{"action": "hide_region", "shape": "ellipse",
                                      "box": list(box)}], tmp_path / "a.jpg", snapshot=None,
                       purpose="public")
    assert detail(load_rgb(tmp_path / "a.jpg"), box) < 0.25 * detail(load_rgb(src), box)
    assert new["hidden_regions"] == [list(box)] and new["machine"]["faces"] == []
    # again from the new report: the machine's part is kept, decisions are not stacked
    again = render_photo(src, new, [], tmp_path / "b.jpg", snapshot=None, purpose="public")
    assert np.abs(load_rgb(tmp_path / "b.jpg").astype(int) - load_rgb(src).astype(int)).mean() < 3
    assert again["hidden_regions"] == []

    kept = render_photo(PORTRAIT, machine(), [{"action": "unhide", "face": 0}],
                        tmp_path / "c.jpg", snapshot=None, purpose="public")
    assert kept["faces"][0]["action"] == "untouched" and kept["hidden"] == 0
    assert detail(load_rgb(tmp_path / "c.jpg"), FACE) > 0.8 * detail(load_rgb(PORTRAIT), FACE)
    hidden = render_photo(PORTRAIT, machine(), [], tmp_path / "d.jpg", snapshot=None,
                          purpose="public")
    assert hidden["hidden"] == 1
    assert detail(load_rgb(tmp_path / "d.jpg"), FACE) < 0.3 * detail(load_rgb(PORTRAIT), FACE)
