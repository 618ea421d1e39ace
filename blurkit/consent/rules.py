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

from blurkit import i18n
from blurkit.config import PURPOSES
from blurkit.errors import BlurkitError

KINDS = ("written", "oral")
GUARDIAN_REQUIRED_BELOW = 13
ADULT_AGE = 18
MIN_BIRTH_YEAR = 1900
MAX_NAME_LENGTH = 200

i18n.register({
    # why a face may or may not be shown
    "consent.reason.valid": {
        "en": "valid consent {consent_id} for {purpose}",
        "sv": "giltigt samtycke {consent_id} för {purpose}",
    },
    "consent.reason.valid_age_unknown": {
        "en": "valid consent {consent_id} for {purpose} (birth year unknown: treated as adult)",
        "sv": "giltigt samtycke {consent_id} för {purpose} (födelseår okänt: behandlas som vuxen)",
    },
    "consent.reason.unknown_person": {
        "en": "person {person_id} is not in the registry",
        "sv": "person {person_id} finns inte i registret",
    },
    "consent.reason.unknown_purpose": {
        "en": "unknown purpose '{purpose}'",
        "sv": "okänt syfte '{purpose}'",
    },
    "consent.reason.protected": {
        "en": "protected identity: always hidden",
        "sv": "skyddad identitet: döljs alltid",
    },
    "consent.reason.deceased": {
        "en": "deceased: hidden in new material (the family has not asked otherwise)",
        "sv": "avliden: döljs i nytt material (anhöriga har inte begärt annat)",
    },
    "consent.reason.no_consent": {
        "en": "no consent on record",
        "sv": "inget samtycke registrerat",
    },
    "consent.reason.other_purpose_only": {
        "en": "no consent for {purpose} (consent for another purpose does not count)",
        "sv": "inget samtycke för {purpose} (samtycke för ett annat syfte räknas inte)",
    },
    "consent.reason.unknown_type": {
        "en": "consent {consent_id} has an unknown type",
        "sv": "samtycke {consent_id} har en okänd typ",
    },
    "consent.reason.no_form_ref": {
        "en": "written consent {consent_id} has no form reference number",
        "sv": "skriftligt samtycke {consent_id} saknar blankettens referensnummer",
    },
    "consent.reason.oral_not_staff": {
        "en": "consent {consent_id} is oral, which is valid for staff only",
        "sv": "samtycke {consent_id} är muntligt, vilket bara gäller för personal",
    },
    "consent.reason.oral_unrecorded": {
        "en": "oral consent {consent_id} does not say who recorded it",
        "sv": "muntligt samtycke {consent_id} anger inte vem som tog emot det",
    },
    "consent.reason.not_yet_signed": {
        "en": "consent {consent_id} is signed {signed}, which is after {today}",
        "sv": "samtycke {consent_id} är undertecknat {signed}, vilket är efter {today}",
    },
    "consent.reason.withdrawn": {
        "en": "consent {consent_id} was withdrawn on {withdrawn}",
        "sv": "samtycke {consent_id} återkallades {withdrawn}",
    },
    "consent.reason.expired": {
        "en": "consent {consent_id} expired on {expires}",
        "sv": "samtycke {consent_id} upphörde att gälla {expires}",
    },
    "consent.reason.birth_year_future": {
        "en": "the birth year {birth_year} lies after the date {date}",
        "sv": "födelseåret {birth_year} ligger efter datumet {date}",
    },
    "consent.reason.minor_needs_guardian": {
        "en": "consent {consent_id}: the person may have been under 13 when it was given, "
              "and no guardian consent is recorded",
        "sv": "samtycke {consent_id}: personen kan ha varit under 13 år när det gavs, "
              "och inget vårdnadshavarsamtycke är registrerat",
    },
    "consent.reason.minor_guardian_unstated": {
        "en": "consent {consent_id}: the person may have been 13-17 when it was given, and "
              "the record does not say whether a guardian also consented",
        "sv": "samtycke {consent_id}: personen kan ha varit 13-17 år när det gavs, och "
              "det framgår inte om vårdnadshavare också samtyckt",
    },
    # refused at entry
    "consent.err.not_found": {
        "en": "There is no person with id {person_id} in the registry.",
        "sv": "Det finns ingen person med id {person_id} i registret.",
    },
    "consent.err.bad_name": {
        "en": "A name or pseudonym of 1-{max} characters is needed.",
        "sv": "Ett namn eller en pseudonym på 1-{max} tecken behövs.",
    },
    "consent.err.bad_birth_year": {
        "en": "Birth year {birth_year} is not plausible: give a year from {min} to {max}.",
        "sv": "Födelseåret {birth_year} är inte rimligt: ange ett år från {min} till {max}.",
    },
    "consent.err.bad_purpose": {
        "en": "Unknown purpose '{purpose}'. Choose one of: {choices}.",
        "sv": "Okänt syfte '{purpose}'. Välj något av: {choices}.",
    },
    "consent.err.bad_kind": {
        "en": "Unknown consent type '{kind}'. Choose one of: {choices}.",
        "sv": "Okänd samtyckestyp '{kind}'. Välj något av: {choices}.",
    },
    "consent.err.form_ref_required": {
        "en": "A written consent needs the form's reference number (--form-ref).",
        "sv": "Ett skriftligt samtycke behöver blankettens referensnummer (--form-ref).",
    },
    "consent.err.oral_staff_only": {
        "en": "Oral consent is accepted from staff only (--staff). Others need a written "
              "form.",
        "sv": "Muntligt samtycke godtas bara från personal (--staff). Andra behöver en "
              "skriftlig blankett.",
    },
    "consent.err.oral_recorded_by": {
        "en": "An oral consent must say who received it (--recorded-by NAME).",
        "sv": "Ett muntligt samtycke måste ange vem som tog emot det (--recorded-by NAMN).",
    },
    "consent.err.signed_future": {
        "en": "The signing date {signed} is in the future (today is {today}).",
        "sv": "Underskriftsdatumet {signed} ligger i framtiden (i dag är det {today}).",
    },
    "consent.err.expires_before_signed": {
        "en": "The expiry date {expires} must be after the signing date {signed}.",
        "sv": "Slutdatumet {expires} måste ligga efter underskriftsdatumet {signed}.",
    },
    "consent.err.signed_before_birth": {
        "en": "The signing date {signed} lies before the birth year {birth_year}.",
        "sv": "Underskriftsdatumet {signed} ligger före födelseåret {birth_year}.",
    },
    "consent.err.guardian_unstated": {
        "en": "Born {birth_year}, the person may have been 13-17 when signing: the record "
              "must say whether a guardian also consented (--guardian-consent or "
              "--no-guardian-consent).",
        "sv": "Född {birth_year} kan personen ha varit 13-17 år vid underskriften: det måste "
              "framgå om vårdnadshavare också samtyckt (--guardian-consent eller "
              "--no-guardian-consent).",
    },
    # warnings at entry
    "consent.warn.age_unknown": {
        "en": "No birth year given: the person is treated as an adult. Give --birth-year for "
              "anyone who may be under 18.",
        "sv": "Inget födelseår angivet: personen behandlas som vuxen. Ange --birth-year för "
              "alla som kan vara under 18 år.",
    },
    "consent.warn.minor_no_guardian": {
        "en": "Born {birth_year}, the person may have been under 13 when signing and no "
              "guardian consent is recorded: this consent is stored but will NEVER be valid.",
        "sv": "Född {birth_year} kan personen ha varit under 13 år vid underskriften och inget "
              "vårdnadshavarsamtycke är registrerat: samtycket sparas men blir ALDRIG giltigt.",
    },
    "consent.warn.protected": {
        "en": "Protected identity: this person is always hidden, whatever the consent says.",
        "sv": "Skyddad identitet: personen döljs alltid, oavsett samtycke.",
    },
    "consent.warn.deceased": {
        "en": "Marked as deceased: hidden in new material unless the family asked otherwise.",
        "sv": "Markerad som avliden: döljs i nytt material om inte anhöriga begärt annat.",
    },
    "consent.warn.already_expired": {
        "en": "The consent expired on {expires}: it is stored but not valid.",
        "sv": "Samtycket upphörde att gälla {expires}: det sparas men är inte giltigt.",
    },
})


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
    if purpose not in PURPOSES:
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
    if purpose not in PURPOSES:
        raise ConsentError("consent.err.bad_purpose", purpose=purpose,
                           choices=", ".join(PURPOSES))
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
