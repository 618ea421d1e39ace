"""What the video benchmarks count as a leaked face (benchmarks/leakcheck.py `judge`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from leakcheck import judge  # noqa: E402


def test_a_face_found_where_the_input_has_a_face_is_a_leak():
    found = [((100.0, 100.0, 160.0, 180.0), 0.9)]
    leaks, artefacts = judge(found, [(98.0, 95.0, 162.0, 178.0)])
    assert leaks == found and artefacts == []


def test_a_partly_uncovered_face_still_counts_as_a_leak():
    """The chin under a mask that is too short: the output's box only grazes the input's."""
    found = [((105.0, 170.0, 155.0, 215.0), 0.6)]
    leaks, _ = judge(found, [(100.0, 100.0, 160.0, 180.0)])
    assert leaks == found


def test_a_face_like_pattern_with_no_face_under_it_in_the_input_is_an_artefact():
    """A shirt collar under a smeared head: the input's face box ends above it."""
    found = [((309.2, 759.1, 361.1, 847.9), 0.526)]
    leaks, artefacts = judge(found, [(291.0, 649.0, 353.0, 729.0)])
    assert leaks == [] and artefacts == found


def test_plain_boxes_are_judged_too():
    leaks, artefacts = judge([(0.0, 0.0, 10.0, 10.0), (50.0, 50.0, 60.0, 60.0)],
                             [(5.0, 5.0, 20.0, 20.0)])
    assert leaks == [(0.0, 0.0, 10.0, 10.0)] and artefacts == [(50.0, 50.0, 60.0, 60.0)]
