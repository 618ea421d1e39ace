"""Suggestions for a reviewer, and who may confirm one.

A face in the doubtful band (bars.py) is hidden and its report entry carries a suggestion:

    "suggestion": {"person_id": 12, "similarity": 0.951, "margin": 0.062, "second_id": 4,
                   "why": "references_disagree", "registered": "2026-03-02",
                   "templates": 2, "confirm": "ok"}

- person_id: the nearest enrolled person (never their name: the report stays free of names;
  the page looks the name up). Only a person who has face templates and a valid consent for
  the output's purpose today is ever suggested; otherwise there is no suggestion.
- similarity: the face's similarity to that person's nearest template; margin: over the next
  enrolled person (second_id; None when nobody else is enrolled). A small margin means the
  face looks almost as much like person `second_id`.
- why: why the machine did not show it itself (bars.WHY; `bars.why_text` in Swedish and
  English).
- registered: the date (UTC, YYYY-MM-DD) the person's newest face template was stored, i.e.
  when the registration photos the similarity is measured against were taken in.
- templates: how many templates the person has.
- confirm: `may_confirm(similarity, "staff").verdict`: "ok" (any reviewer may confirm with
  one key) or "registrar_only" (below CONFIRM_FLOOR: only a registrar, with a reason).

Consent and templates are checked again by `may_confirm` when a person confirms (a consent
may have been withdrawn since the report was written).

Who may confirm (issue 19, "showing a face needs grounds"): CONFIRM_FLOOR is the similarity
below which the machine's figure is no ground at all, because two different people of the
shared identity photos reach it: every labelled face that passes the recognition gate
against every other person's labelled face that passes the enrolment gate (207 x 174 faces,
34,614 different-person pairs; benchmarks/twobars.py --floor): the most similar pair is
0.9332 (two actors of the deepface set, img30 against img35), the next 0.9324 and 0.9311;
0.935 is the next step of a 0.005 grid above all of them. Within the tune people alone the
maximum is 0.9163, within the check people 0.9110 (the floor is above both; the 0.93 pairs
are across the halves). Above the floor, any reviewer may confirm a suggested person with
one key; below it (or when the face could not be compared at all), only a registrar or an
admin, with a written reason for the diarium. A person without face templates, or without a
valid consent for the purpose, can never be confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from blurkit import i18n

CONFIRM_FLOOR = 0.935
# the figures behind it (benchmarks/twobars.py --floor, shared identity photos)
FLOOR_FIGURES = {"different_person_pairs": 34614, "max_pair": 0.9332,
                 "max_pair_between": ("deepface img30 (person 07)", "deepface img35 (person 08)"),
                 "max_tune_pairs": 0.9163, "max_check_pairs": 0.9110}

# Mirrors blurkit.accounts.ROLES (tested): who reviews, who keeps the register.
REVIEW_ROLES = ("staff", "registrar", "admin")
REGISTRAR_ROLES = ("registrar", "admin")

OK = "ok"
REGISTRAR_ONLY = "registrar_only"
REFUSED = "refused"


@dataclass(frozen=True)
class ConfirmCheck:
    """May `role` confirm that a hidden face is a given person?

    verdict: OK (any reviewer, one key), REGISTRAR_ONLY (below the floor or not compared:
        registrars and admins only, with a reason) or REFUSED (nobody: no templates, no
        valid consent, or not a reviewing role).
    allowed: this role may confirm now. needs_reason: a written reason must go to the
        diarium with the confirmation. reason_key: an i18n key saying why (`message()`).
    """
    verdict: str
    allowed: bool
    needs_reason: bool
    reason_key: str
    similarity: float | None
    floor: float = CONFIRM_FLOOR

    def message(self, lang: str | None = None) -> str:
        return i18n.t(self.reason_key, lang=lang)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "allowed": self.allowed,
                "needs_reason": self.needs_reason, "reason_key": self.reason_key,
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "floor": self.floor}


def may_confirm(similarity: float | None, role: str, *, has_templates: bool = True,
                consent_valid: bool = True, floor: float = CONFIRM_FLOOR) -> ConfirmCheck:
    """The rule above. `similarity`: the face's similarity to THAT person (None: the face
    was not compared, e.g. it failed the quality gate); `role`: the account's role;
    `has_templates` / `consent_valid`: the person's state now (check it at confirmation)."""
    sim = None if similarity is None else float(similarity)

    def check(verdict: str, allowed: bool, needs_reason: bool, key: str) -> ConfirmCheck:
        return ConfirmCheck(verdict, allowed, needs_reason, key, sim, floor)

    if not has_templates:
        return check(REFUSED, False, False, "identify.confirm.no_templates")
    if not consent_valid:
        return check(REFUSED, False, False, "identify.confirm.no_consent")
    if role not in REVIEW_ROLES:
        return check(REFUSED, False, False, "identify.confirm.not_reviewer")
    if sim is None or sim < floor:
        return check(REGISTRAR_ONLY, role in REGISTRAR_ROLES, True,
                     "identify.confirm.not_compared" if sim is None
                     else "identify.confirm.below_floor")
    return check(OK, True, False, "identify.confirm.ok")


def person_similarity(recognizer, rgb, detection, person_id: int) -> float | None:
    """The similarity of one face of a photo to ONE chosen person (their nearest template),
    for a reviewer who picks a person by hand: the figure to show beside that person and to
    give `may_confirm`. None when the face fails the quality gate or the person has no
    templates in the recognizer's gallery (then only a registrar may confirm, or nobody)."""
    import numpy as np

    ids = list(recognizer.gallery.person_ids)
    if int(person_id) not in ids:
        return None
    vector, _ = recognizer.embed(rgb, detection)
    if vector is None:
        return None
    scores = recognizer.gallery.person_scores(np.asarray([vector]))[0]
    return float(scores[ids.index(int(person_id))])


def registered_on(snapshot, person_id: int) -> tuple[str | None, int]:
    """(date of the person's newest template as YYYY-MM-DD or None, number of templates)."""
    mine = [t for t in getattr(snapshot, "templates", ()) if t.person_id == person_id]
    dates = [str(getattr(t, "created", "") or "")[:10] for t in mine]
    dates = [d for d in dates if d]
    return (max(dates) if dates else None), len(mine)


def suggestion_report(suggestion, snapshot, purpose: str) -> dict | None:
    """The report's `suggestion` for a hidden face (bars.Suggestion or None), or None when
    the person may not be suggested (no templates, no valid consent for `purpose`)."""
    if suggestion is None or snapshot is None:
        return None
    date, count = registered_on(snapshot, suggestion.person_id)
    if count == 0:
        return None
    verdict = snapshot.decide(suggestion.person_id, purpose)
    if not (verdict.valid and verdict.consent_id is not None):
        return None
    out = suggestion.to_dict()
    out.update(registered=date, templates=count,
               confirm=may_confirm(suggestion.similarity, "staff").verdict)
    return out


def count_suggestions(faces) -> int:
    """How many face entries of a report (photo faces or video tracks) carry a suggestion."""
    return sum(1 for f in faces if f.get("action") == "hidden" and f.get("suggestion"))


def held_back_text(n: int, lang: str | None = None) -> str:
    """The summary line for faces held back as suggestions (Swedish or English)."""
    return i18n.t("identify.held_back", lang=lang, n=n)
