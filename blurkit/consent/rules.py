"""Consent rules: who may be shown, decided from plain data. No I/O, no clock.

`consent_for(person, consents, purpose, today)` is the one decision the pipeline asks for
every recognised face. `check_person()` and `check_new_consent()` are the rules for what the
registry accepts; they raise `ConsentError` or return warnings for the person enrolling.

The rules (DESIGN.md, "The rules it enforces"), and the choices made where the policy is
silent. Whenever a case is uncertain the answer is "not valid" — the face is hidden.

- Purpose: a consent counts only for exactly its purpose. `public` does not imply
  `internal` nor the other way round; a person who agreed to both has two records.
- Signed: the record must be signed on or before today (a future date is refused at entry).
- Expiry is EXCLUSIVE: the expiry date is the first day the consent no longer holds.
  Valid while `today < expires`. If a form says "valid through 31 Dec" and staff type
  31 Dec, the face is hidden one day early — the mistake errs toward hiding.
- Withdrawn: invalid from the withdrawal date on (`withdrawn <= today`).
- Protected identity (skyddad identitet): never valid; no record overrides it.
- Deceased: never valid unless the family asked that the person may still appear; even
  then the person's own consent record must still be valid.
- Oral consent: only for staff, and the record must say who heard it.
- Written consent: must carry the form's reference number.
- Minors: only the birth year is stored, so the age is taken as the YOUNGEST possible
  (`year - birth_year - 1`), and it is taken on the SIGNING date (never older than today's
  age): who may give consent is settled when it is given. A consent recorded for an
  under-13 without guardian consent therefore never becomes valid as the child grows up.
  Under 13: valid only with guardian consent on that record. 13-17: may consent
  themselves, but the record must state yes or no for guardian consent (refused at entry,
  and not valid if it is missing anyway).
- Unknown birth year: treated as an adult. The day centres register adult participants
  and staff, for whom a birth year is needless personal data (GDPR data minimisation);
  forcing one would push staff to invent it. The fail-safe lies elsewhere: enrolment
  warns loudly, `consent show` says "treated as adult", and a valid decision carries
  the reason key `consent.reason.valid_age_unknown` so the audit trail shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from blurkit import choices, i18n
from blurkit.errors import BlurkitError

KINDS = ("written", "oral")
GUARDIAN_REQUIRED_BELOW = 13
ADULT_AGE = 18
MIN_BIRTH_YEAR = 1900
MAX_NAME_LENGTH = 200


class ConsentError(BlurkitError):
    """The registry refuses an entry or cannot find what was asked for."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    birth_year: int | None = None
    staff: bool = False
    protected: bool = False          # skyddad identitet
    deceased: bool = False
    deceased_may_appear: bool = False  # the family asked that the person may still appear
    created: str = ""                # UTC ISO time
    updated: str = ""


@dataclass(frozen=True)
class Consent:
    id: int
    person_id: int
    purpose: str                     # "public" | "internal"
    kind: str                        # "written" | "oral"
    signed: date
    form_ref: str | None = None      # the paper form's reference number (written)
    recorded_by: str | None = None   # who received an oral consent
    expires: date | None = None      # first day it no longer holds (exclusive)
    guardian_consent: bool | None = None  # None = not stated
    withdrawn: date | None = None
    operator: str = ""               # who entered the record
    created: str = ""

    def active(self, today: date) -> bool:
        """Not withdrawn as of `today` (it may still be invalid for other reasons)."""
        return self.withdrawn is None or self.withdrawn > today


@dataclass(frozen=True)
class Decision:
    """valid: the face may be shown; consent_id: the record it is shown under (None when not
    valid); reason_key + params: why, as an i18n message (`message()`)."""

    valid: bool
    consent_id: int | None
    reason_key: str
    params: dict = field(default_factory=dict, compare=False)

    def message(self, lang: str | None = None) -> str:
        return i18n.t(self.reason_key, lang=lang, **self.params)


def youngest_age(birth_year: int, on: date) -> int:
    """The youngest age someone born in `birth_year` can have on `on` (birthday not yet had)."""
    return on.year - birth_year - 1


def consent_for(person: Person, consents: list[Consent] | tuple[Consent, ...], purpose: str,
                today: date) -> Decision:
    """May `person` be shown in an output for `purpose` on `today`? See the module docstring.

    `consents` may hold other people's records too; only this person's count. When several
    records are valid, the most recently signed one is named.
    """
    if purpose not in choices.PURPOSES:
        return Decision(False, None, "consent.reason.unknown_purpose", {"purpose": purpose})
    if person.protected:
        return Decision(False, None, "consent.reason.protected")
    if person.deceased and not person.deceased_may_appear:
        return Decision(False, None, "consent.reason.deceased")
    own = [c for c in consents if c.person_id == person.id]
    candidates = sorted((c for c in own if c.purpose == purpose),
                        key=lambda c: (c.signed, c.id), reverse=True)
    if not candidates:
        if own:
            return Decision(False, None, "consent.reason.other_purpose_only",
                            {"purpose": purpose})
        return Decision(False, None, "consent.reason.no_consent")
    problems = []
    for c in candidates:
        problem = _problem(person, c, today)
        if problem is None:
            key = ("consent.reason.valid" if person.birth_year is not None
                   else "consent.reason.valid_age_unknown")
            return Decision(True, c.id, key, {"consent_id": c.id, "purpose": purpose})
        problems.append(problem)
    key, params = problems[0]  # the most recent record's problem
    return Decision(False, None, key, params)


def _problem(person: Person, c: Consent, today: date) -> tuple[str, dict] | None:
    """Why this one record does not hold today, or None when it does."""
    p: dict = {"consent_id": c.id}
    if c.kind not in KINDS:
        return "consent.reason.unknown_type", p
    if c.kind == "written" and not (c.form_ref or "").strip():
        return "consent.reason.no_form_ref", p
    if c.kind == "oral":
        if not person.staff:
            return "consent.reason.oral_not_staff", p
        if not (c.recorded_by or "").strip():
            return "consent.reason.oral_unrecorded", p
    if c.signed > today:
        return "consent.reason.not_yet_signed", {**p, "signed": c.signed, "today": today}
    if c.withdrawn is not None and c.withdrawn <= today:
        return "consent.reason.withdrawn", {**p, "withdrawn": c.withdrawn}
    if c.expires is not None and today >= c.expires:
        return "consent.reason.expired", {**p, "expires": c.expires}
    if person.birth_year is not None:
        if person.birth_year > c.signed.year:
            return "consent.reason.birth_year_future", {"birth_year": person.birth_year,
                                                        "date": c.signed}
        # signed <= today here, so the age at signing is the younger of the two
        age = youngest_age(person.birth_year, c.signed)
        if age < GUARDIAN_REQUIRED_BELOW and c.guardian_consent is not True:
            return "consent.reason.minor_needs_guardian", p
        if age < ADULT_AGE and c.guardian_consent is None:
            return "consent.reason.minor_guardian_unstated", p
    return None


# --- what the registry accepts -------------------------------------------------------------

def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ConsentError("consent.err.bad_name", max=MAX_NAME_LENGTH)
    return name


def check_birth_year(birth_year: int | None, today: date) -> int | None:
    if birth_year is None:
        return None
    if isinstance(birth_year, bool) or not isinstance(birth_year, int) \
            or not MIN_BIRTH_YEAR <= birth_year <= today.year:
        raise ConsentError("consent.err.bad_birth_year", birth_year=birth_year,
                           min=MIN_BIRTH_YEAR, max=today.year)
    return birth_year


def check_new_consent(person: Person, *, purpose: str, kind: str, signed: date,
                      form_ref: str | None, recorded_by: str | None, expires: date | None,
                      guardian_consent: bool | None, today: date) -> list[tuple[str, dict]]:
    """Raise ConsentError if this record may not be entered; else return warnings
    (message key, params) the person entering it must see."""
    if purpose not in choices.PURPOSES:
        raise ConsentError("consent.err.bad_purpose", purpose=purpose,
                           choices=", ".join(choices.PURPOSES))
    if kind not in KINDS:
        raise ConsentError("consent.err.bad_kind", kind=kind, choices=", ".join(KINDS))
    if kind == "written" and not (form_ref or "").strip():
        raise ConsentError("consent.err.form_ref_required")
    if kind == "oral":
        if not person.staff:
            raise ConsentError("consent.err.oral_staff_only")
        if not (recorded_by or "").strip():
            raise ConsentError("consent.err.oral_recorded_by")
    if signed > today:
        raise ConsentError("consent.err.signed_future", signed=signed, today=today)
    if expires is not None and expires <= signed:
        raise ConsentError("consent.err.expires_before_signed", expires=expires, signed=signed)
    warnings: list[tuple[str, dict]] = []
    if person.birth_year is None:
        warnings.append(("consent.warn.age_unknown", {}))
    else:
        if person.birth_year > signed.year:
            raise ConsentError("consent.err.signed_before_birth", signed=signed,
                               birth_year=person.birth_year)
        age = youngest_age(person.birth_year, signed)
        if age < GUARDIAN_REQUIRED_BELOW:
            if guardian_consent is not True:
                warnings.append(("consent.warn.minor_no_guardian",
                                 {"birth_year": person.birth_year}))
        elif age < ADULT_AGE and guardian_consent is None:
            raise ConsentError("consent.err.guardian_unstated", birth_year=person.birth_year)
    if expires is not None and expires <= today:
        warnings.append(("consent.warn.already_expired", {"expires": expires}))
    if person.protected:
        warnings.append(("consent.warn.protected", {}))
    if person.deceased and not person.deceased_may_appear:
        warnings.append(("consent.warn.deceased", {}))
    return warnings
