"""The consent vote of a video track: unsure frames abstain, anyone else vetoes."""

from blurkit.identify.matching import AMBIGUOUS, NO_MATCH, Identity
from blurkit.identify.quality import FaceQuality
from blurkit.engine.vote import (CLEAR, OTHER, STRANGER, UNSURE, Vote, decide_votes, report_votes,
                          vote_from)

GOOD = FaceQuality(True, None, 0.9, 120.0, sharpness=80.0)
BLURRED = FaceQuality(False, "blurry", 0.9, 120.0, sharpness=5.0)


def ident(pid, sim, second=0.90, reason=None, quality=GOOD, nearest=None):
    return Identity(pid, sim, second, quality, reason, nearest if nearest is not None else pid)


def test_each_frame_votes_clear_other_stranger_or_unsure():
    assert vote_from(0, ident(7, 0.96), True).kind == CLEAR
    assert vote_from(0, ident(None, 0.95, 0.94, AMBIGUOUS, nearest=7), True).kind == OTHER
    assert vote_from(0, ident(None, 0.83, reason=NO_MATCH, nearest=7), True).kind == STRANGER
    # under the bar but not clearly nobody: a near miss abstains
    assert vote_from(0, ident(None, 0.92, reason=NO_MATCH, nearest=7), True).kind == UNSURE
    # failed the quality gate: no template, nothing to say
    blurred = Identity(None, None, None, BLURRED, "blurry", None)
    v = vote_from(0, blurred, False)
    assert v.kind == UNSURE and not v.judged and v.reason == "blurry"


def votes(*kinds, person=7):
    out = []
    for i, k in enumerate(kinds):
        judged = k != "blur"
        kind = {"blur": UNSURE, "near": UNSURE}.get(k, k)
        pid = person if kind == CLEAR else (9 if kind == "q" else None)
        if k == "q":
            kind, pid = CLEAR, 9
        out.append(Vote(i * 10, kind, pid, 0.95 if kind == CLEAR else 0.8, 0.05, 50.0,
                        None, judged))
    return out


def test_unsure_frames_abstain_instead_of_hiding_a_clear_track():
    r = decide_votes(votes(CLEAR, "blur", CLEAR, "blur", "blur", CLEAR, "near"), 7)
    assert r.show and r.person_id == 7 and r.clear == 3 and r.judged == 4


def test_anyone_else_in_the_track_hides_it_however_many_clear_votes():
    assert decide_votes(votes(CLEAR, CLEAR, CLEAR, CLEAR, STRANGER), 7).reason == \
        "stranger_in_track"
    assert decide_votes(votes(CLEAR, CLEAR, CLEAR, CLEAR, "q"), 7).reason == \
        "other_person_in_track"
    assert decide_votes(votes(CLEAR, CLEAR, CLEAR, OTHER), 7).reason == "other_person_in_track"


def test_too_few_or_too_rarely_clear_or_a_disagreeing_mean_hides():
    assert decide_votes(votes(CLEAR, CLEAR, "blur", "blur"), 7).reason == "too_few_clear_frames"
    assert decide_votes(votes(CLEAR, CLEAR, CLEAR, "near", "near", "near", "near"), 7).reason \
        == "too_many_unclear_frames"
    assert decide_votes(votes(CLEAR, CLEAR, CLEAR, "near", "near", "near"), 7).show
    assert decide_votes(votes(CLEAR, CLEAR, CLEAR), None).reason == "ambiguous"
    assert not decide_votes([], None).show


def test_report_keeps_every_veto_and_caps_the_rest():
    vs = votes(*([CLEAR] * 50 + [STRANGER] + [CLEAR] * 10))
    rep = report_votes(vs, 7, cap=30)
    assert len(rep) == 30
    assert [v["frame"] for v in rep] == sorted(v["frame"] for v in rep)
    assert sum(v["kind"] == STRANGER for v in rep) == 1
    assert set(rep[0]) >= {"frame", "person_id", "kind", "similarity", "margin", "quality"}
    # a clear vote for another person is reported as "other" against the track's lead
    assert report_votes(votes(CLEAR, CLEAR, "q"), 7)[2]["kind"] == OTHER


def test_reasons_read_in_swedish_and_english():
    from blurkit.engine.vote import reason_text
    assert reason_text("stranger_in_track", "sv").startswith("någon som inte")
    assert reason_text("stranger_in_track", "en").startswith("someone not registered")
    assert reason_text("no_consent_for_purpose", "sv") == "no_consent_for_purpose"


def test_report_of_a_long_track_keeps_its_clear_votes():
    from blurkit.engine.vote import report_votes
    vs = votes(*(["blur"] * 100 + [CLEAR] * 5))
    rep = report_votes(vs, 7, cap=30)
    assert len(rep) == 30 and sum(v["kind"] == CLEAR for v in rep) == 5
