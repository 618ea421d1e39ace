"""The consent vote of one video track: who its sampled frames say it is, and whether that is
clear enough to show it.

Every sampled frame of a track gives one vote (see DESIGN.md, "Video: tracks and the consent
vote"):

* ``clear``: recognition named an enrolled person (threshold and margin of matching.py);
* ``other``: the frame clearly names another enrolled person than the track's leading one
  (matching's bar and margin), or sits too close to two enrolled people to tell them apart
  (matching's "ambiguous") when neither of them is the track's leading person;
* ``stranger``: a judgeable face (it passed the quality gate) whose best similarity to every
  enrolled person is under STRANGER_SIMILARITY: clearly nobody enrolled;
* ``unsure``: the face failed the quality gate (small, blurred, turned, cut off), or it is
  judgeable but lands between STRANGER_SIMILARITY and the match bar, or it is ambiguous
  between the track's leading person and another enrolled person (either of them nearest):
  doubt, not evidence of someone else (issue 23).

One ``other`` or ``stranger`` vote hides the track: a face in it looked like somebody else.
``unsure`` votes abstain. A track is shown only with at least MIN_CLEAR clear votes for one
person, which are at least MIN_SHARE of the track's judgeable votes, and when the mean of the
track's templates is matched to that same person too. Plain data in and out: the video flow
records votes while it samples and asks `decide_votes` once the track is complete.

Two bars (blurkit/identify/bars.py), as for photos: a track the vote would show is shown
automatically only when the mean of its templates passes the strict bar for that person;
otherwise it is hidden as "doubtful" with a suggestion for a reviewer (`two_bars`). A track
hidden because a frame in it is clearly someone else (other, stranger) never gets one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from blurkit import i18n
from blurkit.identify.matching import AMBIGUOUS, UNKNOWN_SIMILARITY

CLEAR, OTHER, STRANGER, UNSURE = "clear", "other", "stranger", "unsure"
KINDS = (CLEAR, OTHER, STRANGER, UNSURE)

# A judgeable face under this similarity to everybody enrolled is a stranger. matching.py's
# "close stranger" level: different-person similarities in the shared identity sets reach
# 0.89-0.91 at their 99th percentile, and in the shared clips no judgeable face of a
# non-enrolled person (talking heads, the Trump montage, the flag emblem of address 03:
# 385 samples) reached 0.883 against Obama's references, while every judgeable Obama sample
# (320, three recordings and their degraded copies) was >= 0.942. Between this and the
# match bar (0.94) a face is a near miss: unsure, never a reason to show.
STRANGER_SIMILARITY = UNKNOWN_SIMILARITY
MIN_CLEAR = 3       # clear votes (samples >= 0.5 s apart: at least a second of clear views)
# Of the judgeable votes (gate passed), the share that must be clear. First set at 2/3; the
# cross-recording benchmark with Obama registered from one photo (obama2.jpg) showed him at 8
# clear of 13 judgeable samples (62 %) in the shrunken, dark, blurred copy of address 01 (the
# rest near misses at 0.90-0.94), so it is a majority: a face that is clearly the person in
# most of its judgeable frames and never clearly anyone else. Checked on address 03's copies.
MIN_SHARE = 0.5

# reasons a track is hidden by the vote (the report's "reason"; consent reasons come after)
STRANGER_IN_TRACK = "stranger_in_track"
OTHER_PERSON_IN_TRACK = "other_person_in_track"
TOO_FEW_CLEAR = "too_few_clear_frames"
NOT_CLEAR_ENOUGH = "too_many_unclear_frames"
MEAN_DISAGREES = "ambiguous"
DOUBTFUL_TRACK = "doubtful"   # the vote names a person, the track mean misses the strict bar
# hidden for too little evidence, not for someone else in it: a suggestion may be made
SUGGESTIBLE = (TOO_FEW_CLEAR, NOT_CLEAR_ENOUGH, MEAN_DISAGREES, DOUBTFUL_TRACK)

# For people reading a report (the review page): what each vote kind and track reason means.
# what each track reason means, in words
REASON_WORDS = {
    STRANGER_IN_TRACK: "video.reason.stranger_in_track",
    OTHER_PERSON_IN_TRACK: "video.reason.other_person_in_track",
    TOO_FEW_CLEAR: "video.reason.too_few_clear_frames",
    NOT_CLEAR_ENOUGH: "video.reason.too_many_unclear_frames",
    MEAN_DISAGREES: "video.reason.ambiguous",
    DOUBTFUL_TRACK: "video.reason.doubtful",
    "duplicate_in_frame": "video.reason.duplicate_in_frame",
    "no_consented_person": "video.reason.no_consented_person",
}


def reason_text(reason: str, lang: str | None = None) -> str:
    """A track's hiding reason for people (Swedish or English); consent-rule reasons and
    unknown keys come back as they are."""
    key = REASON_WORDS.get(reason)
    return i18n.t(key, lang=lang) if key else reason


@dataclass
class Vote:
    """One sampled frame of a track. `person_id`: the person recognised (clear), else the
    nearest enrolled person (for the reader; never a reason to show). `margin`: similarity
    minus the competitor's (the next person or the stranger baseline). `judged`: the face
    passed the quality gate and got a template."""
    frame: int
    kind: str                     # CLEAR / OTHER / STRANGER / UNSURE as seen by the frame alone
    person_id: int | None
    similarity: float | None
    margin: float | None
    quality: float | None         # sharpness of the aligned face (None: not measured)
    reason: str | None            # recognition's reason when not matched
    judged: bool
    height: float = 0.0           # the face box height in pixels
    second_id: int | None = None  # the next enrolled person (an ambiguous frame's other one)

    def to_dict(self, lead: int | None = None) -> dict:
        r = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
        return {"frame": self.frame, "person_id": self.person_id, "kind": kind_for(self, lead),
                "similarity": r(self.similarity), "margin": r(self.margin),
                "quality": r(self.quality), **({"why": self.reason} if self.reason else {}),
                **({"second_id": self.second_id}
                   if self.reason == AMBIGUOUS and self.second_id is not None else {})}


def vote_from(frame: int, identity, judged: bool) -> Vote:
    """The vote of one frame from recognition's verdict (`matching.Identity`)."""
    q = identity.quality
    sim, second = identity.similarity, identity.second_similarity
    margin = None if sim is None or second is None else sim - second
    common = dict(frame=frame, similarity=sim, margin=margin, quality=q.sharpness,
                  judged=judged, height=q.height_px,
                  second_id=getattr(identity, "second_id", None))
    # matching's verdict (a frame above it is clear; the strict bar applies to the track)
    matched = getattr(identity, "match_id", None)
    matched = identity.person_id if matched is None else matched
    if matched is not None:
        return Vote(kind=CLEAR, person_id=matched, reason=None, **common)
    if not judged or sim is None:
        return Vote(kind=UNSURE, person_id=None, reason=identity.reason, **common)
    if identity.reason == AMBIGUOUS:
        return Vote(kind=OTHER, person_id=identity.nearest_id, reason=identity.reason, **common)
    if sim < STRANGER_SIMILARITY:
        return Vote(kind=STRANGER, person_id=None, reason=identity.reason, **common)
    return Vote(kind=UNSURE, person_id=identity.nearest_id, reason=identity.reason, **common)


def kind_for(vote: Vote, lead: int | None) -> str:
    """A clear vote for somebody else than the track's leading person counts as OTHER; a
    frame ambiguous between the leading person and another one is UNSURE (doubt, not
    evidence of someone else), and so is any ambiguous frame of a track without a clear
    vote (nobody to be someone else than; such a track is never shown); ambiguous between
    two others than the leading person stays OTHER."""
    if vote.kind == CLEAR and lead is not None and vote.person_id != lead:
        return OTHER
    if vote.kind == OTHER and vote.reason == AMBIGUOUS and \
            (lead is None or lead in (vote.person_id, vote.second_id)):
        return UNSURE
    return vote.kind


def leading_person(votes: Sequence[Vote]) -> int | None:
    counts = Counter(v.person_id for v in votes if v.kind == CLEAR)
    if not counts:
        return None
    (best, n), *rest = counts.most_common()
    return best if not rest or rest[0][1] < n else min(p for p, c in counts.items() if c == n)


@dataclass(frozen=True)
class VoteResult:
    show: bool                 # the vote names one person clearly (consent is checked after)
    reason: str | None         # why not, else None
    person_id: int | None      # the leading person (also when not shown, for the report)
    clear: int
    judged: int


def decide_votes(votes: Sequence[Vote], mean_person: int | None) -> VoteResult:
    """The rule above. `mean_person`: whom recognition names from the mean of the track's
    templates (None: nobody)."""
    lead = leading_person(votes)
    kinds = Counter(kind_for(v, lead) for v in votes)
    clear, judged = kinds[CLEAR], sum(1 for v in votes if v.judged)

    def no(reason: str) -> VoteResult:
        return VoteResult(False, reason, lead, clear, judged)

    if kinds[STRANGER]:
        return no(STRANGER_IN_TRACK)
    if kinds[OTHER]:
        return no(OTHER_PERSON_IN_TRACK)
    if clear < MIN_CLEAR:
        return no(TOO_FEW_CLEAR)
    if clear < MIN_SHARE * judged:
        return no(NOT_CLEAR_ENOUGH)
    if mean_person != lead:
        return no(MEAN_DISAGREES)
    return VoteResult(True, None, lead, clear, judged)


@dataclass(frozen=True)
class TrackVerdict:
    """The vote with the two bars applied: shown automatically, or hidden with a reason and,
    in the doubtful band, the suggestion (bars.Suggestion) for a reviewer."""
    show: bool
    reason: str | None
    person_id: int | None      # the leading person (as VoteResult.person_id)
    suggestion: object | None = None


def two_bars(result: VoteResult, mean_identity) -> TrackVerdict:
    """`result` of `decide_votes`; `mean_identity`: recognition's verdict on the mean of the
    track's templates (bars applied: `person_id` only above the strict bar), or None.

    Shown automatically only when the vote shows the track AND the mean passes the strict
    bar for the same person. A track hidden for too little evidence (SUGGESTIBLE) gets the
    mean's suggestion when it names the leading person (or there is none); a track with a
    vote for someone else in it (other, stranger) never gets one."""
    lead = result.person_id
    mean_auto = None if mean_identity is None else mean_identity.person_id
    suggestion = None if mean_identity is None else getattr(mean_identity, "suggestion", None)
    if result.show and mean_auto is not None and mean_auto == lead:
        return TrackVerdict(True, None, lead)
    reason = DOUBTFUL_TRACK if result.show else result.reason
    if reason not in SUGGESTIBLE or suggestion is None or \
            (lead is not None and suggestion.person_id != lead):
        suggestion = None
    return TrackVerdict(False, reason, lead, suggestion)


def report_votes(votes: Sequence[Vote], lead: int | None, cap: int = 30) -> list[dict]:
    """At most `cap` votes for the report, in frame order: the votes that hid the track
    (other, stranger) first, then the clear ones, then the unsure ones, each group spread
    evenly over the track when it does not fit."""
    def spread(group: list, room: int) -> list:
        if room <= 0 or not group:
            return []
        if len(group) <= room:
            return group
        return [group[round(i * (len(group) - 1) / max(room - 1, 1))] for i in range(room)]

    chosen: list[Vote] = []
    for kinds in ((OTHER, STRANGER), (CLEAR,), (UNSURE,)):
        group = [v for v in votes if kind_for(v, lead) in kinds]
        chosen += spread(group, cap - len(chosen))
    chosen.sort(key=lambda v: v.frame)
    return [v.to_dict(lead) for v in chosen]
