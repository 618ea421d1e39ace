"""The consent register's plain data and its rules as data, shared by the use cases
(`blurkit.usecases.people`), the web page and the command line: what is entered (a person, a
consent record, a photo as it arrived), what is shown (a person's state at a glance as tags,
their page, the takedown list, the history), what a change wrote, and what to tell the
registrar afterwards (`Notice`s: message ids, never sentences).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from blurkit import choices
from blurkit.audit import AuditLog, local_time
from blurkit.consent.registry import Erasure, Registry, Withdrawal
from blurkit.consent.rules import (
    ADULT_AGE,
    Consent,
    ConsentError,
    Decision,
    Person,
    check_birth_year,
    check_name,
    check_new_consent,
    consent_for,
    youngest_age,
)
from blurkit.errors import BlurkitError
from blurkit.usecases.common import Notice
from blurkit.usecases.diarium import PERSON_FIELDS, summary
from blurkit.usecases.enrolment import Draft, DraftPhoto
from blurkit.usecases.wording import Ref, purpose

EXPIRES_SOON_DAYS = 30
PAGE_SIZE = 100


# --------------------------------------------------------------------------- plain data

@dataclass(frozen=True)
class Record:
    """One consent record as entered (the command line's record options, the page's
    fields); the same record is made for each purpose chosen."""
    kind: str = "written"                 # written | oral
    signed: date | None = None
    form_ref: str | None = None
    recorded_by: str | None = None
    expires: date | None = None           # the first day it no longer holds
    guardian_consent: bool | None = None  # None: not stated

    def args(self) -> dict:
        return {"kind": self.kind, "signed": self.signed, "form_ref": self.form_ref,
                "recorded_by": self.recorded_by, "expires": self.expires,
                "guardian_consent": self.guardian_consent}


@dataclass(frozen=True)
class NewPerson:
    name: str
    purposes: tuple[str, ...]
    record: Record
    birth_year: int | None = None
    staff: bool = False
    protected: bool = False


@dataclass(frozen=True)
class PhotoFile:
    """A reference photo as it arrived (a form's file part): its name as the sender gave it,
    its size when known, and the open file, read only when within MAX_PHOTO_BYTES."""
    name: str
    size: int | None
    file: BinaryIO


@dataclass(frozen=True)
class Tag:
    """One piece of a person's state at a glance: kind ok | no | warn | info (its colour),
    the words (`key`, `params`) and why (`why`, e.g. the consent rule's reason)."""
    kind: str
    key: str
    params: dict = field(default_factory=dict)
    why: Ref | None = None


@dataclass
class PersonRow:
    person: Person
    tags: list[Tag]
    form_refs: list[str]
    consents: list[Consent]
    templates: int


@dataclass
class PeopleList:
    rows: list[PersonRow]
    q: str
    total: int              # people found
    everyone: int           # people in the register
    offset: int
    page_size: int | None
    today: date
    key_error: Notice | None = None   # the registry's key is missing or wrong: nothing runs


@dataclass(frozen=True)
class TakedownRow:
    """An earlier published output that showed the person (from the audit log)."""
    seq: int
    time: datetime | None   # local
    kind: str | None
    purpose: str | None
    file: str               # its name
    path: str               # where it was written
    consent_ids: tuple[int, ...]


@dataclass
class Takedown:
    person_id: int
    person: Person | None   # None: removed from the register (the list stays)
    rows: list[TakedownRow]  # oldest first, as the log holds them
    zone: str

    @property
    def newest_first(self) -> list[TakedownRow]:
        return list(reversed(self.rows))


@dataclass(frozen=True)
class HistoryRow:
    seq: int
    time: datetime | None   # local
    operator: str | None
    kind: str | None
    action: str | None
    summary: list[Ref]


@dataclass
class PersonView:
    person: Person
    consents: list[Consent]
    templates: list[tuple]          # (id, model, dimension, created UTC): never the vectors
    photos: list[tuple]             # (id, suffix, created UTC) of kept reference photos
    decisions: dict[str, Decision]  # purpose -> may the person be shown today
    why: dict[str, Ref]             # purpose -> the decision's reason, in words
    tags: list[Tag]
    takedown: list[TakedownRow]     # newest first
    history: list[HistoryRow]       # newest first
    today: date
    zone: str

    @property
    def template_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, model, _, _ in self.templates:
            out[model] = out.get(model, 0) + 1
        return dict(sorted(out.items()))

    def local(self, iso: str | None) -> datetime | None:
        return local_time(iso)


@dataclass
class Stored:
    """What a registration or a change wrote."""
    person: Person
    before: Person | None = None            # None: a new person
    changed: list[str] = field(default_factory=list)     # person fields that changed
    consents: list[Consent] = field(default_factory=list)   # the records added now
    records: list[Consent] = field(default_factory=list)    # all the person's records
    enrolled: object | None = None          # identify.enrol.Enrolment / EnrolResult
    photos_kept: int = 0
    keep_photos: bool = False
    photos_given: int = 0
    same_name: list[Person] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


@dataclass
class Withdrawn:
    withdrawal: Withdrawal
    redecided: list[int]                     # items waiting in review rendered again
    takedown: int                            # earlier outputs that showed the person
    notices: list[Notice]
    redecide_error: BlurkitError | None = None   # the re-rendering failed (approval checks
                                                 # consent again, so nothing shows them)


@dataclass
class Removed:
    erasure: Erasure
    takedown: int
    notices: list[Notice]


@dataclass
class Preview:
    """What a withdrawal or a removal would touch (its confirmation page)."""
    person: Person
    consents: list[Consent]
    in_force: list[Consent]
    templates: int
    photos: int
    takedown: int
    today: date


@dataclass
class CheckRow:
    i: int
    photo: DraftPhoto
    faces: tuple
    verdict: object | None       # identify.enrol.PhotoVerdict
    selected: int | str | None
    width: int
    height: int


@dataclass
class Pair:
    """The two photos that look like two different people (b None: against the person's
    registered templates)."""
    a: int
    b: int | None
    face_a: int
    face_b: int | None
    similarity: float
    minimum: float


@dataclass
class Check:
    """The registration's check step: every photo with its faces and verdict."""
    draft: Draft
    enrolment: object | None     # identify.enrol.Enrolment
    rows: list[CheckRow]
    pair: Pair | None
    ready: bool                  # nothing needs a person's look: it can be stored
    all_left_out: bool
    stored: Stored | None = None
    error: BlurkitError | None = None


# --------------------------------------------------------------------------- rules as data

def last_day(c: Consent) -> date | None:
    return c.expires - timedelta(days=1) if c.expires else None


def decision_ref(d: Decision) -> Ref:
    """Why a person may or may not be shown, with the purpose in words."""
    params = dict(d.params)
    if "purpose" in params:
        params["purpose"] = purpose(params["purpose"])
    return Ref(d.reason_key, params)


def state_tags(person: Person, consents: list[Consent], templates: int,
               today: date) -> list[Tag]:
    """The person's state at a glance (the same decision the pipeline takes)."""
    own = [c for c in consents if c.person_id == person.id]
    tags: list[Tag] = []
    for code in choices.PURPOSES:
        d = consent_for(person, own, code, today)
        if d.valid:
            tags.append(Tag("ok", "web.reg.tag.shown", {"purpose": purpose(code)},
                            decision_ref(d)))
            c = next(c for c in own if c.id == d.consent_id)
            if c.expires and (c.expires - today).days <= EXPIRES_SOON_DAYS:
                tags.append(Tag("warn", "web.reg.tag.expires_soon",
                                {"purpose": purpose(code), "date": last_day(c)}))
        else:
            tags.append(Tag("no", "web.reg.tag.hidden", {"purpose": purpose(code)},
                            decision_ref(d)))
    withdrawn = [c for c in own if c.withdrawn is not None and c.withdrawn <= today]
    if withdrawn:
        tags.append(Tag("no", "web.reg.tag.withdrawn",
                        {"date": max(c.withdrawn for c in withdrawn)}))
    expired = [c for c in own if c.expires is not None and c.expires <= today
               and not (c.withdrawn and c.withdrawn <= today)]
    if expired:
        tags.append(Tag("no", "web.reg.tag.expired",
                        {"date": max(last_day(c) for c in expired)}))
    if person.protected:
        tags.append(Tag("no", "web.reg.tag.protected"))
    if person.deceased:
        tags.append(Tag("info", "web.reg.tag.deceased_family") if person.deceased_may_appear
                    else Tag("no", "web.reg.tag.deceased"))
    if person.birth_year is not None and youngest_age(person.birth_year, today) < ADULT_AGE:
        active = [c for c in own if c.active(today)]
        if any(c.guardian_consent is True for c in active):
            tags.append(Tag("info", "web.reg.tag.minor_guardian"))
        else:
            tags.append(Tag("warn", "web.reg.tag.minor_no_guardian"))
    if person.staff:
        tags.append(Tag("info", "web.reg.tag.staff"))
    if templates == 0:
        tags.append(Tag("warn", "web.reg.tag.no_templates"))
    return tags


def matches(q: str, person: Person, consents: list[Consent]) -> bool:
    """Does a search (a name, part of one, a person number, a form reference) find them?"""
    if not q:
        return True
    q = q.casefold()
    if q.lstrip("#").isdigit() and int(q.lstrip("#")) == person.id:
        return True
    return q in person.name.casefold() or any(
        q in (c.form_ref or "").casefold() for c in consents if c.person_id == person.id)


def check_records(person: Person, purposes, record: Record, today: date) -> list[Notice]:
    """Every record validated before anything is analysed or written (ConsentError: refused);
    the warnings the registrar must see."""
    warnings: list[Notice] = []
    for code in purposes:
        for key, params in check_new_consent(person, purpose=code, today=today,
                                             **record.args()):
            notice = Notice("warn", key, params)
            if notice not in warnings:
                warnings.append(notice)
    return warnings


def candidate(new: NewPerson, today: date) -> Person:
    """The person to be registered, checked (ConsentError for a bad name or birth year)."""
    return Person(0, check_name(new.name), check_birth_year(new.birth_year, today),
                  staff=new.staff, protected=new.protected)


def takedown_rows(settings, person_id: int) -> list[TakedownRow]:
    """Every earlier output that showed the person, oldest first: the one takedown list (the
    person's page, the withdrawal, `blurkit consent withdraw/remove`, `blurkit audit find`).
    From the audit log only, so it stays available after the person was removed."""
    with AuditLog.open(settings) as log:
        entries = log.find_person(person_id)
    return [TakedownRow(seq=e.seq, time=local_time(e.time), kind=e.kind, purpose=e.purpose,
                        file=Path(e.output_path).name, path=e.output_path,
                        consent_ids=tuple(s["consent_id"] for s in e.shown
                                          if s["person_id"] == person_id))
            for e in entries]


def history_rows(entries) -> list[HistoryRow]:
    return [HistoryRow(seq=e.seq, time=local_time(e.time), operator=e.operator, kind=e.kind,
                       action=(e.details or {}).get("action"), summary=summary(e.body))
            for e in entries]


def registered_templates(reg: Registry, person_id: int) -> list:
    """The templates already registered for the person (of the model photos are enrolled
    with): new reference photos must show that person."""
    try:
        from blurkit.identify import MODEL_NAME
    except ImportError as exc:
        raise ConsentError("cli.consent.no_recognition", reason=exc) from exc
    return [v for pid, v in reg.templates(MODEL_NAME) if pid == person_id]


def enrol_files(paths: list[Path], faces: list[int | None], settings, *, registered=(),
                person_id: int | None = None, confirmed_by: str | None = None):
    """Face templates from reference photo files (`blurkit.identify.enrol_photos`: InputError
    with the reason for a photo without one usable face, and for photos that do not look
    like one person, or like the person already registered, unless `confirmed_by`)."""
    try:
        from blurkit import identify
    except ImportError as exc:
        raise ConsentError("cli.consent.no_recognition", reason=exc) from exc
    return identify.enrol_photos(paths, settings, faces, registered=registered,
                                 person_id=person_id, confirmed_same_person_by=confirmed_by)


def may_confirm(role: str | None) -> bool:
    """Who may confirm that photos which look unlike show one person: registrars and
    administrators, never staff (who cannot open the register at all)."""
    from blurkit.identify.suggest import REGISTRAR_ROLES

    return role in REGISTRAR_ROLES


# --------------------------------------------------------------------------- notices

def stored_notices(s: Stored) -> list[Notice]:
    """What the registrar is told after a registration or a change (web wording)."""
    out: list[Notice] = []
    if s.before is None:
        out.append(Notice("ok", "web.reg.done.added", {"name": s.person.name,
                                                       "id": s.person.id}))
    elif s.changed:
        out.append(Notice("ok", "web.reg.done.edited",
                          {"fields": [Ref(k) for k in _field_words(s.changed)]}))
    for c in s.consents:
        out.append(Notice("ok", "web.reg.done.record", {"id": c.id,
                                                        "purpose": purpose(c.purpose)}))
    e = s.enrolled
    if e is not None:
        for v in getattr(e, "photos", None) or []:
            if v.face is not None and v.faces is not None and len(v.faces.faces) > 1:
                out.append(Notice("info", "web.reg.done.face_used",
                                  {"photo": v.name, "index": v.face.index,
                                   "count": len(v.faces.faces)}))
        if getattr(e, "confirmed_same_person_by", None):
            out.append(Notice("info", "web.reg.done.confirmed",
                              {"name": e.confirmed_same_person_by}))
        out.append(Notice("ok", "web.reg.done.templates", {"count": len(e.templates),
                                                           "model": e.model}))
        out.append(Notice("info", "web.reg.done.photos_kept", {"count": s.photos_kept})
                   if s.keep_photos else Notice("info", "web.reg.done.photos_not_kept"))
    elif s.before is None:
        out.append(Notice("warn", "web.reg.warn.no_photos"))
    if s.before is not None and not s.changed and not s.consents and e is None:
        out.append(Notice("info", "web.reg.done.nothing"))
    out += s.warnings
    if s.same_name:
        out.append(Notice("warn", "web.reg.warn.same_name",
                          {"ids": ", ".join(str(p.id) for p in s.same_name)}))
    return out


def _field_words(fields) -> list[str]:
    return [PERSON_FIELDS[k] for k in fields if k in PERSON_FIELDS]


def withdrawal_notices(w: Withdrawal, redecided: list[int],
                       redecide_error: BlurkitError | None) -> list[Notice]:
    out = []
    if w.consent_ids:
        out.append(Notice("ok", "web.reg.done.withdrawn",
                          {"date": w.date, "ids": ", ".join(str(i) for i in w.consent_ids)}))
    else:
        out.append(Notice("info", "web.reg.done.nothing_to_withdraw"))
    out.append(Notice("ok", "web.reg.done.erased", {"templates": w.templates_erased,
                                                    "photos": w.photos_erased}))
    if w.still_active:
        out.append(Notice("warn", "web.reg.warn.still_active",
                          {"purposes": [purpose(p) for p in w.still_active]}))
    if not w.storage_cleared:
        out.append(Notice("warn", "web.reg.warn.storage_busy"))
    if redecided:
        out.append(Notice("info", "web.reg.done.redecided", {"n": len(redecided)}))
    if redecide_error is not None:
        out.append(Notice("warn", "web.reg.warn.redecide_failed",
                          {"reason": Ref(redecide_error.key, redecide_error.params)}))
    return out


def notice_of(exc: BlurkitError, kind: str = "error") -> Notice:
    return Notice(kind, exc.key, dict(exc.params))


# --------------------------------------------------------------------------- the check step

def check_rows(draft: Draft, enrolment) -> list[CheckRow]:
    """One row per photo: its faces, the verdict, what is selected."""
    verdicts = list(enrolment.photos) if enrolment is not None else []
    rows = []
    used_i = 0
    for i, p in enumerate(draft.photos):
        verdict = None
        if p.choice != "skip" and used_i < len(verdicts):
            verdict = verdicts[used_i]
            used_i += 1
        selected = p.choice
        if selected is None and verdict is not None and verdict.face is not None:
            selected = verdict.face.index
        if selected is None and p.faces.dominant is not None:
            selected = p.faces.dominant
        rows.append(CheckRow(i, p, p.faces.faces, verdict, selected, p.faces.width,
                             p.faces.height))
    return rows


def pair_of(draft: Draft, enrolment) -> Pair | None:
    """The two photos that look like two different people (for side by side)."""
    if enrolment is None or enrolment.ok or not enrolment.same_person.different_people:
        return None
    if any(not v.accepted for v in enrolment.photos):
        return None          # a refused photo first
    weakest = enrolment.same_person.weakest
    used = [i for i, p in enumerate(draft.photos) if p.choice != "skip"]
    a = used[weakest.a]
    b = used[weakest.b] if weakest.b is not None else None
    face_a = enrolment.photos[weakest.a].face.index
    face_b = enrolment.photos[weakest.b].face.index if weakest.b is not None else None
    return Pair(a, b, face_a, face_b, weakest.similarity, enrolment.same_person.minimum)


