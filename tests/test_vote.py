"""The consent vote of a video track: unsure frames abstain, anyone else vetoes."""

from blurkit.engine.vote import (
    CLEAR,
    OTHER,
    STRANGER,
    UNSURE,
    Vote,
    decide_votes,
    report_votes,
    vote_from,
)
from blurkit.identify.matching import AMBIGUOUS, NO_MATCH, Identity
from blurkit.identify.quality import FaceQuality

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


# ----------------------------------------------------------------------------- issue 23

def frame_vote(i, kind, person=None, second=None, sim=0.95, reason=None, judged=True):
    return Vote(i * 10, kind, person, sim, 0.05, 50.0, reason, judged, 120.0, second)


def clear_votes(n, person=7):
    return [frame_vote(i, CLEAR, person, sim=0.96) for i in range(n)]


def test_one_frame_ambiguous_with_the_same_best_person_does_not_veto():
    # the stage clip of issue 23: 29 clear for the performer, one frame where the performer
    # is still the best match but another enrolled person is within the margin
    ambiguous = frame_vote(29, OTHER, person=7, second=9, sim=0.944, reason=AMBIGUOUS)
    r = decide_votes(clear_votes(29) + [ambiguous], 7)
    assert r.show and r.person_id == 7 and r.clear == 29 and r.judged == 30
    # the other way round - the other person a hair ahead of the track's one - is doubt too
    flipped = frame_vote(29, OTHER, person=9, second=7, sim=0.944, reason=AMBIGUOUS)
    assert decide_votes(clear_votes(29) + [flipped], 7).show
    # and the report says so, with the other person named
    rep = report_votes(clear_votes(29) + [ambiguous], 7)
    [amb] = [v for v in rep if v.get("why") == AMBIGUOUS]
    assert amb["kind"] == UNSURE and amb["second_id"] == 9


def test_one_frame_clearly_someone_else_still_vetoes():
    other = frame_vote(29, CLEAR, person=9, sim=0.97)          # another person, with margin
    r = decide_votes(clear_votes(29) + [other], 7)
    assert not r.show and r.reason == "other_person_in_track"
    stranger = frame_vote(29, STRANGER, sim=0.84, reason=NO_MATCH)
    r = decide_votes(clear_votes(29) + [stranger], 7)
    assert not r.show and r.reason == "stranger_in_track"


def test_ambiguous_between_two_other_people_vetoes():
    between_others = frame_vote(29, OTHER, person=9, second=11, sim=0.95, reason=AMBIGUOUS)
    r = decide_votes(clear_votes(29) + [between_others], 7)
    assert not r.show and r.reason == "other_person_in_track"


def test_doubt_alone_never_shows_a_track():
    amb = [frame_vote(i, OTHER, person=7, second=9, reason=AMBIGUOUS) for i in range(10)]
    r = decide_votes(amb, 7)
    assert not r.show and r.reason == "too_few_clear_frames"
    # mostly ambiguous, a few clear: the clear votes must still be half of the judged ones
    r = decide_votes(clear_votes(3) + amb[:4], 7)
    assert not r.show and r.reason == "too_many_unclear_frames"


def test_vote_from_recognition_keeps_the_other_person_of_an_ambiguous_frame():
    amb = Identity(None, 0.944, 0.909, GOOD, AMBIGUOUS, 7, second_id=9)
    v = vote_from(3, amb, True)
    assert v.kind == OTHER and v.person_id == 7 and v.second_id == 9
    assert decide_votes(clear_votes(5) + [v], 7).show
    # a frame above matching's bar but under the strict one still counts as clear: the
    # strict bar is the track's (its mean), not each frame's
    doubtful = Identity(None, 0.942, 0.90, GOOD, "doubtful", 7, match_id=7, second_id=9)
    assert vote_from(4, doubtful, True).kind == CLEAR


# ----------------------------------------------------------------------------- two bars

def test_two_bars_on_a_track():
    from blurkit.engine.vote import two_bars
    from blurkit.identify.bars import BELOW_BAR, Suggestion
    auto = Identity(7, 0.97, 0.90, GOOD, None, 7, match_id=7)
    band = Identity(None, 0.95, 0.90, GOOD, "doubtful", 7, match_id=7,
                    suggestion=Suggestion(7, 0.95, 0.06, 9, BELOW_BAR))
    shown = decide_votes(clear_votes(5), 7)
    assert two_bars(shown, auto).show
    v = two_bars(shown, band)
    assert not v.show and v.reason == "doubtful" and v.suggestion.person_id == 7
    # too little evidence: hidden, suggested
    few = decide_votes(clear_votes(2), 7)
    v = two_bars(few, band)
    assert not v.show and v.reason == "too_few_clear_frames" and v.suggestion.person_id == 7
    # someone else in the track: hidden, never suggested
    mixed = decide_votes(clear_votes(5) + [frame_vote(9, STRANGER, sim=0.8)], 7)
    v = two_bars(mixed, band)
    assert not v.show and v.reason == "stranger_in_track" and v.suggestion is None
    # the mean suggests somebody else than the frames named: no suggestion
    other = Identity(None, 0.95, 0.90, GOOD, "doubtful", 9, match_id=9,
                     suggestion=Suggestion(9, 0.95, 0.06, 7, BELOW_BAR))
    assert two_bars(few, other).suggestion is None
    assert not two_bars(shown, None).show
