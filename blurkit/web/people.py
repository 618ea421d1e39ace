"""The consent register in the web page: people, registration, consent records, withdrawal
and removal. Registrars and administrators only (`page("register")` on every endpoint).

Every change goes through the same library calls as `blurkit consent ...` (Registry.add_person,
add_consent, add_templates, add_photo, edit_person, withdraw, remove; rules.check_new_consent;
identify.enrol), with the logged-in user as the operator of the audit entries, so that a change
made on the page shows in the command line at once and the other way round. Face templates are
never sent to the browser, not even counted beyond their number, dates and model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from blurkit.audit import AuditLog
from blurkit.config import PURPOSES
from blurkit.consent.registry import Registry
from blurkit.consent.rules import (
    ADULT_AGE,
    Consent,
    ConsentError,
    Person,
    check_birth_year,
    check_name,
    check_new_consent,
    consent_for,
    youngest_age,
)
from blurkit.errors import BlurkitError, InputError
from blurkit.usecases.enrolment import (
    CROP,
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    PREVIEW,
    Draft,
    DraftPhoto,
    Drafts,
    Enroller,
    decode,
    jpeg,
    safe_name,
)
from blurkit.web.context import Ctx, page
from blurkit.web.diarium import summary
from blurkit.web.words import word

EXPIRES_SOON_DAYS = 30
# a registration form: its photos (each at most MAX_PHOTO_BYTES) and a few fields
REGISTRATION_LIMIT = (MAX_PHOTOS + 1) * MAX_PHOTO_BYTES
PAGE_SIZE = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")

# messages of the library that name command-line options; the page says it in its own words
WEB_WORDING = {
    "consent.err.form_ref_required": "web.reg.err.form_ref_required",
    "consent.err.oral_staff_only": "web.reg.err.oral_staff_only",
    "consent.err.oral_recorded_by": "web.reg.err.oral_recorded_by",
    "consent.err.guardian_unstated": "web.reg.err.guardian_unstated",
    "consent.warn.age_unknown": "web.reg.warn.age_unknown",
}


# ------------------------------------------------------------------------------- helpers

def words(ctx: Ctx, key: str, params: dict | None = None) -> str:
    return ctx.t(WEB_WORDING.get(key, key), **(params or {}))


def error_text(ctx: Ctx, exc: BlurkitError) -> str:
    return words(ctx, exc.key, exc.params)


def operator_settings(ctx: Ctx):
    """The settings with the logged-in user as the operator of every audit entry."""
    return ctx.app.settings.replace(operator=ctx.user_name)


def open_registry(ctx: Ctx) -> Registry:
    return Registry.open(operator_settings(ctx))


def drafts(ctx: Ctx) -> Drafts:
    return ctx.app.people.drafts


def enroller(ctx: Ctx) -> Enroller:
    return ctx.app.people.enroller()


def owner(ctx: Ctx) -> str:
    return ctx.owner


def may_confirm(ctx: Ctx) -> bool:
    """Who may confirm that photos which look unlike show one person: registrars and
    administrators, never staff (who cannot open the register at all)."""
    return ctx.role in ("registrar", "admin")


def render(ctx: Ctx, template: str, status: int = 200, **values) -> Response:
    return ctx.app.render(ctx, template, status=status, active="people",
                          notices=drafts(ctx).notices(owner(ctx)), purposes=PURPOSES,
                          **values)


def not_found(ctx: Ctx) -> Response:
    return ctx.app.error_page(ctx, 404, "web.reg.not_found")


def decision_text(ctx: Ctx, d) -> str:
    """Why a person may or may not be shown (rules.Decision), with the purpose in words."""
    params = dict(d.params)
    if "purpose" in params:
        params["purpose"] = purpose_text(ctx, params["purpose"])
    return words(ctx, d.reason_key, params)


def purpose_text(ctx: Ctx, purpose: str | None) -> str:
    return word("purpose", purpose, ctx.lang)


def last_day(c: Consent) -> date | None:
    return c.expires - timedelta(days=1) if c.expires else None


@dataclass
class Tag:
    kind: str       # ok | no | warn | info (the colour)
    text: str
    title: str = ""


def state_tags(ctx: Ctx, person: Person, consents: list[Consent], templates: int,
               today: date) -> list[Tag]:
    """The person's state at a glance (the same decision the pipeline takes)."""
    own = [c for c in consents if c.person_id == person.id]
    tags: list[Tag] = []
    for purpose in PURPOSES:
        d = consent_for(person, own, purpose, today)
        if d.valid:
            tags.append(Tag("ok", ctx.t("web.reg.tag.shown", purpose=purpose_text(ctx, purpose)),
                            decision_text(ctx, d)))
            c = next(c for c in own if c.id == d.consent_id)
            if c.expires and (c.expires - today).days <= EXPIRES_SOON_DAYS:
                tags.append(Tag("warn", ctx.t("web.reg.tag.expires_soon",
                                              purpose=purpose_text(ctx, purpose),
                                              date=last_day(c))))
        else:
            tags.append(Tag("no", ctx.t("web.reg.tag.hidden", purpose=purpose_text(ctx, purpose)),
                            decision_text(ctx, d)))
    withdrawn = [c for c in own if c.withdrawn is not None and c.withdrawn <= today]
    if withdrawn:
        tags.append(Tag("no", ctx.t("web.reg.tag.withdrawn",
                                    date=max(c.withdrawn for c in withdrawn))))
    expired = [c for c in own if c.expires is not None and c.expires <= today
               and not (c.withdrawn and c.withdrawn <= today)]
    if expired:
        tags.append(Tag("no", ctx.t("web.reg.tag.expired", date=max(last_day(c) for c in expired))))
    if person.protected:
        tags.append(Tag("no", ctx.t("web.reg.tag.protected")))
    if person.deceased:
        tags.append(Tag("no" if not person.deceased_may_appear else "info",
                        ctx.t("web.reg.tag.deceased_family" if person.deceased_may_appear
                              else "web.reg.tag.deceased")))
    if person.birth_year is not None and youngest_age(person.birth_year, today) < ADULT_AGE:
        active = [c for c in own if c.active(today)]
        if any(c.guardian_consent is True for c in active):
            tags.append(Tag("info", ctx.t("web.reg.tag.minor_guardian")))
        else:
            tags.append(Tag("warn", ctx.t("web.reg.tag.minor_no_guardian")))
    if person.staff:
        tags.append(Tag("info", ctx.t("web.reg.tag.staff")))
    if templates == 0:
        tags.append(Tag("warn", ctx.t("web.reg.tag.no_templates")))
    return tags


def _matches(q: str, person: Person, consents: list[Consent]) -> bool:
    if not q:
        return True
    q = q.casefold()
    if q.lstrip("#").isdigit() and int(q.lstrip("#")) == person.id:
        return True
    return q in person.name.casefold() or any(
        q in (c.form_ref or "").casefold() for c in consents if c.person_id == person.id)


# ------------------------------------------------------------------------------- forms

class FormError(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _text(form, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def _flag(form, name: str) -> bool:
    return _text(form, name) in ("1", "on", "yes", "true")


DATE_FIELDS = {"signed": "web.reg.f.signed", "expires": "web.reg.f.expires"}


def _date(ctx: Ctx, form, name: str, required: bool = False) -> date | None:
    text = _text(form, name, 20)
    if not text:
        if required:
            raise FormError(ctx.t("web.reg.err.date_missing", field=ctx.t(DATE_FIELDS[name])))
        return None
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise FormError(ctx.t("web.reg.err.bad_date", value=text))


def _year(ctx: Ctx, form, name: str = "birth_year") -> int | None:
    text = _text(form, name, 10)
    if not text:
        return None
    if not _YEAR.match(text):
        raise FormError(ctx.t("web.reg.err.bad_year", value=text))
    return int(text)


def _guardian(form) -> bool | None:
    return {"yes": True, "no": False}.get(_text(form, "guardian"))


def record_from(ctx: Ctx, form) -> tuple[list[str], dict]:
    """The purposes and the consent record of a form (the CLI's record options)."""
    purposes = [p for p in PURPOSES if p in form.getlist("purpose")]
    if not purposes:
        raise FormError(ctx.t("web.reg.err.no_purpose"))
    oral = _text(form, "kind") == "oral"
    record = {"kind": "oral" if oral else "written", "signed": _date(ctx, form, "signed", True),
              "form_ref": _text(form, "form_ref", 100) or None,
              "recorded_by": _text(form, "recorded_by", 100) or None,
              "expires": _date(ctx, form, "expires"), "guardian_consent": _guardian(form)}
    return purposes, record


def check_records(ctx: Ctx, person: Person, purposes, record: dict, today: date
                  ) -> list[str]:
    """Validate every record before anything is analysed or written (as the CLI does);
    the warnings, in words."""
    warnings: list[str] = []
    for purpose in purposes:
        for key, params in check_new_consent(person, purpose=purpose, today=today, **record):
            text = words(ctx, key, params)
            if text not in warnings:
                warnings.append(text)
    return warnings


def form_values(form) -> dict:
    """What the person typed, to fill the form in again."""
    out = {k: _text(form, k, 200) for k in ("name", "signed", "expires", "form_ref",
                                            "recorded_by", "birth_year", "guardian", "kind")}
    out["purpose"] = [p for p in PURPOSES if p in form.getlist("purpose")]
    for k in ("staff", "protected", "keep_photos", "deceased", "deceased_may_appear"):
        out[k] = _flag(form, k)
    return out


async def read_photos(ctx: Ctx, form, draft: Draft) -> None:
    """Decode and analyse the photos of a form into the draft (at most MAX_PHOTOS)."""
    uploads = [u for u in form.getlist("photos") if hasattr(u, "read") and u.filename]
    for upload in uploads:
        n = len(draft.photos) + 1
        name = safe_name(upload.filename, f"foto-{n}.jpg")
        if len(draft.photos) >= MAX_PHOTOS:
            draft.errors.append(ctx.t("web.reg.err.too_many_photos", n=MAX_PHOTOS, photo=name))
            continue
        if upload.size is not None and upload.size > MAX_PHOTO_BYTES:   # known before reading
            draft.errors.append(ctx.t("web.reg.photo_too_large", photo=name,
                                      mb=MAX_PHOTO_BYTES >> 20))
            continue
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        try:
            pixels = await run_in_threadpool(decode, data, name)
        except InputError as exc:
            draft.errors.append(exc.message(ctx.lang))
            continue
        detections, faces = await run_in_threadpool(enroller(ctx).analyse, pixels, name)
        draft.photos.append(DraftPhoto(name, pixels, detections, faces,
                                       raw=data if draft.keep_photos else None,
                                       suffix=Path(name).suffix.lower() or ".jpg"))
        del data


def registered_templates(reg: Registry, person_id: int) -> list:
    from blurkit.identify import MODEL_NAME

    return [v for pid, v in reg.templates(MODEL_NAME) if pid == person_id]


# ------------------------------------------------------------------------------- list

@page("register")
async def people_list(request: Request, ctx: Ctx) -> Response:
    q = request.query_params.get("q", "").strip()[:100]
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    today = date.today()

    def load():
        with open_registry(ctx) as reg:
            persons = reg.persons()
            consents = reg.consents()
            counts = {p.id: sum(reg.template_counts(p.id).values()) for p in persons}
        return persons, consents, counts

    persons, consents, counts = await run_in_threadpool(load)
    found = [p for p in persons if _matches(q, p, consents)]
    found.sort(key=lambda p: (p.name.casefold(), p.id))
    rows = []
    for p in found[offset:offset + PAGE_SIZE]:
        own = [c for c in consents if c.person_id == p.id]
        rows.append({"person": p, "tags": state_tags(ctx, p, own, counts.get(p.id, 0), today),
                     "form_refs": sorted({c.form_ref for c in own if c.form_ref})})
    return render(ctx, "people.html", rows=rows, q=q, total=len(found), everyone=len(persons),
                  offset=offset, page_size=PAGE_SIZE, today=today)


# ------------------------------------------------------------------------------- a person

def _person_or_none(reg: Registry, person_id: int) -> Person | None:
    try:
        return reg.person(person_id)
    except ConsentError:
        return None


def takedown_rows(ctx: Ctx, person_id: int) -> list[dict]:
    """Every earlier output that showed the person (AuditLog.find_person, as
    `blurkit audit find --person`), newest first."""
    with AuditLog.open(ctx.app.settings) as log:
        entries = log.find_person(person_id)
    rows = []
    for e in reversed(entries):
        rows.append({"seq": e.seq, "time": (e.time or "")[:19].replace("T", " "),
                     "kind": e.kind, "purpose": e.purpose,
                     "file": Path(e.output_path).name, "path": e.output_path,
                     "consents": [s["consent_id"] for s in e.shown if s["person_id"] == person_id]})
    return rows


@page("register")
async def person_page(request: Request, ctx: Ctx) -> Response:
    person_id = int(request.path_params["person_id"])
    today = date.today()

    def load():
        with open_registry(ctx) as reg:
            person = _person_or_none(reg, person_id)
            if person is None:
                return None
            consents = reg.consents(person_id)
            templates = reg.template_records(person_id)
            photos = reg.photo_records(person_id)
        with AuditLog.open(ctx.app.settings) as log:
            history = log.history(person_id)
        return person, consents, templates, photos, history

    loaded = await run_in_threadpool(load)
    if loaded is None:
        return not_found(ctx)
    person, consents, templates, photos, history = loaded
    decisions = {p: consent_for(person, consents, p, today) for p in PURPOSES}
    return render(ctx, "person.html", person=person, consents=consents, templates=templates,
                  photos=photos, history=list(reversed(history)), decisions=decisions,
                  tags=state_tags(ctx, person, consents, len(templates), today),
                  takedown=await run_in_threadpool(takedown_rows, ctx, person_id),
                  today=today, last_day=last_day, action_text=lambda e: summary(ctx, e.body),
                  decision_text=lambda d: decision_text(ctx, d))


@page("register")
async def kept_photo(request: Request, ctx: Ctx) -> Response:
    """A small copy of a kept reference photo (registrars only; never cached)."""
    person_id = int(request.path_params["person_id"])
    photo_id = int(request.path_params["photo_id"])

    def load() -> bytes | None:
        import tempfile

        with open_registry(ctx) as reg:
            if _person_or_none(reg, person_id) is None:
                return None
            found = [(s, data) for pid, s, data in reg.photos(person_id) if pid == photo_id]
        if not found:
            return None
        suffix, data = found[0]
        from blurkit.media.image import read_photo

        with tempfile.TemporaryDirectory(prefix="blurkit-reg-") as tmp:
            path = Path(tmp) / ("kept" + (suffix or ".jpg"))
            path.write_bytes(data)
            pixels = read_photo(path).pixels
        return jpeg(pixels, 240)

    data = await run_in_threadpool(load)
    if data is None:
        return not_found(ctx)
    return Response(data, media_type="image/jpeg",
                    headers={"cache-control": "no-store, max-age=0"})


# ------------------------------------------------------------------------------- register

@page("register", max_body=REGISTRATION_LIMIT, max_files=MAX_PHOTOS + 3)
async def new_person(request: Request, ctx: Ctx) -> Response:
    today = date.today()
    if request.method == "GET":
        return render(ctx, "register.html", values={"signed": today.isoformat(),
                                                    "purpose": [], "kind": "written"},
                      error=None, max_photos=MAX_PHOTOS, today=today)
    form = ctx.form
    values = form_values(form)
    try:
        purposes, record = record_from(ctx, form)
        person = Person(0, check_name(values["name"]), check_birth_year(_year(ctx, form), today),
                        staff=values["staff"], protected=values["protected"])
        warnings = check_records(ctx, person, purposes, record, today)
        with open_registry(ctx) as reg:
            reg.check_key()
    except FormError as exc:
        return render(ctx, "register.html", status=400, values=values, error=exc.text,
                      max_photos=MAX_PHOTOS, today=today)
    except BlurkitError as exc:
        return render(ctx, "register.html", status=400, values=values,
                      error=error_text(ctx, exc), max_photos=MAX_PHOTOS, today=today)
    fields = {"name": person.name, "birth_year": person.birth_year, "staff": person.staff,
              "protected": person.protected, "purposes": purposes, "record": record,
              "warnings": warnings}
    draft = drafts(ctx).new(owner(ctx), None, fields, values["keep_photos"])
    await read_photos(ctx, form, draft)
    return await _judge(request, ctx, draft)


@page("register", max_body=REGISTRATION_LIMIT, max_files=MAX_PHOTOS + 3)
async def add_photos(request: Request, ctx: Ctx) -> Response:
    """More reference photos for a registered person (e.g. after a withdrawal emptied the
    templates): the same steps; the photos must look like the person already registered."""
    person_id = int(request.path_params["person_id"])
    with open_registry(ctx) as reg:
        person = _person_or_none(reg, person_id)
    if person is None:
        return not_found(ctx)
    if request.method == "GET":
        return render(ctx, "photos.html", person=person, max_photos=MAX_PHOTOS, error=None)
    form = ctx.form
    draft = drafts(ctx).new(owner(ctx), person.id, {"name": person.name},
                            _flag(form, "keep_photos"))
    await read_photos(ctx, form, draft)
    if not draft.photos and not draft.errors:
        drafts(ctx).drop(draft.id)
        return render(ctx, "photos.html", status=400, person=person, max_photos=MAX_PHOTOS,
                      error=ctx.t("web.reg.err.no_photo"))
    return await _judge(request, ctx, draft)


async def _judge(request: Request, ctx: Ctx, draft: Draft) -> Response:
    """Enrol the draft's photos with their face choices. On a POST: store everything when
    they pass and no photo needs a person to look at it, else go to the check page (a GET,
    so that reloading it sends nothing again). A GET never stores."""
    used = [p for p in draft.photos if p.choice != "skip"]
    enrolment, registered = None, []
    if draft.person_id is not None:
        def load():
            with open_registry(ctx) as reg:
                return registered_templates(reg, draft.person_id)
        registered = await run_in_threadpool(load)
    if used:
        confirmer = ctx.user_name if draft.confirmed and may_confirm(ctx) else None
        enrolment = await run_in_threadpool(
            lambda: enroller(ctx).enrol(used, registered=registered, person_id=draft.person_id,
                                        confirmed_by=confirmer))
    # a photo with several faces is always shown, even when one of them would be taken
    # automatically: a person confirms whose face it is
    unconfirmed = [p for p in used if p.choice is None and len(p.faces.faces) > 1]
    all_left_out = bool(draft.photos) and not used
    needs_look = bool(draft.errors or (enrolment is not None and not enrolment.ok)
                      or unconfirmed or all_left_out
                      or (draft.person_id is not None and not used))
    store_error = None
    if request.method == "POST":
        if needs_look:
            return RedirectResponse(f"/people/new/{draft.id}", 303)
        try:
            target = await run_in_threadpool(_store, ctx, draft, enrolment, used)
        except BlurkitError as exc:
            store_error = error_text(ctx, exc)
        else:
            drafts(ctx).drop(draft.id)
            return RedirectResponse(target, 303)
    return render(ctx, "check.html", status=409 if store_error else 200, draft=draft,
                  rows=_check_rows(draft, enrolment), enrolment=enrolment,
                  pair=_pair(draft, enrolment), may_confirm=may_confirm(ctx),
                  max_photos=MAX_PHOTOS, person_id=draft.person_id, ready=not needs_look,
                  all_left_out=all_left_out, store_error=store_error)


def _check_rows(draft: Draft, enrolment) -> list[dict]:
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
        rows.append({"i": i, "photo": p, "faces": p.faces.faces, "verdict": verdict,
                     "selected": selected, "width": p.faces.width, "height": p.faces.height})
    return rows


def _pair(draft: Draft, enrolment) -> dict | None:
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
    return {"a": a, "b": b, "face_a": face_a, "face_b": face_b,
            "similarity": weakest.similarity, "minimum": enrolment.same_person.minimum}


def _store(ctx: Ctx, draft: Draft, enrolment, used: list[DraftPhoto]) -> str:
    """Write the registration, as `blurkit consent add` / `edit --photo` do. Returns the
    page to go to."""
    today = date.today()
    f = draft.fields
    me = owner(ctx)
    with open_registry(ctx) as reg:
        reg.check_key()
        if draft.person_id is None:
            same = reg.find_by_name(f["name"])
            with reg.transaction():
                person = reg.add_person(f["name"], birth_year=f["birth_year"], staff=f["staff"],
                                        protected=f["protected"], today=today)
                consents = [reg.add_consent(person.id, purpose=p, today=today, **f["record"])
                            for p in f["purposes"]]
                _store_enrolment(reg, person.id, enrolment, used, draft.keep_photos)
            drafts(ctx).notice(me, "ok", ctx.t("web.reg.done.added", name=person.name,
                                               id=person.id))
            for c in consents:
                drafts(ctx).notice(me, "ok", ctx.t("web.reg.done.record", id=c.id,
                                                   purpose=purpose_text(ctx, c.purpose)))
        else:
            person = reg.person(draft.person_id)
            with reg.transaction():
                _store_enrolment(reg, person.id, enrolment, used, draft.keep_photos)
            same = []
        if enrolment is not None:
            for v in enrolment.photos:
                if v.face is not None and v.faces is not None and len(v.faces.faces) > 1:
                    drafts(ctx).notice(me, "info", ctx.t(
                        "web.reg.done.face_used", photo=v.name, index=v.face.index,
                        count=len(v.faces.faces)))
            if enrolment.confirmed_same_person_by:
                drafts(ctx).notice(me, "info", ctx.t("web.reg.done.confirmed",
                                                     name=enrolment.confirmed_same_person_by))
            drafts(ctx).notice(me, "ok", ctx.t("web.reg.done.templates",
                                               count=len(enrolment.templates),
                                               model=enrolment.model))
            drafts(ctx).notice(me, "info", ctx.t("web.reg.done.photos_kept", count=len(used))
                               if draft.keep_photos else ctx.t("web.reg.done.photos_not_kept"))
        else:
            drafts(ctx).notice(me, "warn", ctx.t("web.reg.warn.no_photos"))
    for text in f.get("warnings", []):
        drafts(ctx).notice(me, "warn", text)
    if same:
        drafts(ctx).notice(me, "warn", ctx.t("web.reg.warn.same_name",
                                             ids=", ".join(str(p.id) for p in same)))
    return f"/people/{person.id}"


def _store_enrolment(reg: Registry, person_id: int, enrolment, used: list[DraftPhoto],
                     keep: bool) -> None:
    if enrolment is None:
        return
    reg.add_templates(person_id, enrolment.templates, enrolment.model,
                      confirmed_same_person_by=enrolment.confirmed_same_person_by)
    if keep:
        for p in used:
            if p.raw is not None:
                reg.add_photo(person_id, p.raw, p.suffix)


@page("register", max_body=REGISTRATION_LIMIT, max_files=MAX_PHOTOS + 3)
async def draft_page(request: Request, ctx: Ctx) -> Response:
    """The check step: GET shows it again; POST takes the face choices (and more photos)."""
    draft = drafts(ctx).get(request.path_params["draft"], owner(ctx))
    if draft is None:
        return ctx.app.error_page(ctx, 404, "web.reg.draft_gone")
    if request.method == "GET":
        return await _judge(request, ctx, draft)
    form = ctx.form
    for i, p in enumerate(draft.photos):
        choice = _text(form, f"face_{i}", 10)
        if choice == "skip":
            p.choice = "skip"
        elif choice.isdigit() and p.faces.face(int(choice)) is not None:
            p.choice = int(choice)
    draft.errors = []
    draft.confirmed = _flag(form, "confirm_same")
    await read_photos(ctx, form, draft)
    return await _judge(request, ctx, draft)


@page("register")
async def draft_cancel(request: Request, ctx: Ctx) -> Response:
    draft = drafts(ctx).get(request.path_params["draft"], owner(ctx))
    target = "/people"
    if draft is not None:
        if draft.person_id is not None:
            target = f"/people/{draft.person_id}"
        drafts(ctx).drop(draft.id)
        drafts(ctx).notice(owner(ctx), "info", ctx.t("web.reg.cancelled"))
    return RedirectResponse(target, 303)


@page("register")
async def draft_photo(request: Request, ctx: Ctx) -> Response:
    """A reference photo of a draft, small (face = 0) or one face of it (face = 1, 2, ...)."""
    draft = drafts(ctx).get(request.path_params["draft"], owner(ctx))
    i, face = int(request.path_params["photo"]), int(request.path_params["face"])
    if draft is None or not 0 <= i < len(draft.photos):
        return not_found(ctx)
    p = draft.photos[i]
    if face == 0:
        data = await run_in_threadpool(jpeg, p.pixels, PREVIEW)
    else:
        info = p.faces.face(face)
        if info is None:
            return not_found(ctx)
        x1, y1, x2, y2 = info.crop_box(p.faces.width, p.faces.height)   # as the library frames it
        data = await run_in_threadpool(jpeg, p.pixels[y1:y2, x1:x2], CROP)
    return Response(data, media_type="image/jpeg",
                    headers={"cache-control": "no-store, max-age=0"})


# ------------------------------------------------------------------------------- changes

@page("register")
async def edit_person(request: Request, ctx: Ctx) -> Response:
    person_id = int(request.path_params["person_id"])
    today = date.today()
    with open_registry(ctx) as reg:
        person = _person_or_none(reg, person_id)
        if person is None:
            return not_found(ctx)
        if request.method == "GET":
            return render(ctx, "edit.html", person=person, error=None)
        form = ctx.form
        try:
            by = _year(ctx, form)
            changes = {"name": check_name(_text(form, "name")),
                       "birth_year": check_birth_year(by, today),
                       "staff": _flag(form, "staff"), "protected": _flag(form, "protected"),
                       "deceased": _flag(form, "deceased"),
                       "deceased_may_appear": _flag(form, "deceased_may_appear")}
            after = reg.edit_person(person.id, today=today, **changes)
        except FormError as exc:
            return render(ctx, "edit.html", status=400, person=person, error=exc.text)
        except BlurkitError as exc:
            return render(ctx, "edit.html", status=400, person=person, error=error_text(ctx, exc))
    changed = [k for k in changes if getattr(after, k) != getattr(person, k)]
    drafts(ctx).notice(owner(ctx), "ok", ctx.t(
        "web.reg.done.edited", fields=", ".join(word("person_field", k, ctx.lang) for k in changed))
        if changed else ctx.t("web.reg.done.nothing"))
    return RedirectResponse(f"/people/{person.id}", 303)


@page("register")
async def add_consent(request: Request, ctx: Ctx) -> Response:
    person_id = int(request.path_params["person_id"])
    today = date.today()
    with open_registry(ctx) as reg:
        person = _person_or_none(reg, person_id)
        if person is None:
            return not_found(ctx)
        if request.method == "GET":
            return render(ctx, "consent.html", person=person, error=None,
                          values={"signed": today.isoformat(), "purpose": [],
                                  "kind": "oral" if person.staff else "written"})
        form = ctx.form
        values = form_values(form)
        try:
            purposes, record = record_from(ctx, form)
            warnings = check_records(ctx, person, purposes, record, today)
            with reg.transaction():
                consents = [reg.add_consent(person.id, purpose=p, today=today, **record)
                            for p in purposes]
        except FormError as exc:
            return render(ctx, "consent.html", status=400, person=person, error=exc.text,
                          values=values)
        except BlurkitError as exc:
            return render(ctx, "consent.html", status=400, person=person,
                          error=error_text(ctx, exc), values=values)
    for c in consents:
        drafts(ctx).notice(owner(ctx), "ok", ctx.t("web.reg.done.record", id=c.id,
                                                   purpose=purpose_text(ctx, c.purpose)))
    for text in warnings:
        drafts(ctx).notice(owner(ctx), "warn", text)
    return RedirectResponse(f"/people/{person.id}", 303)


@page("register")
async def withdraw(request: Request, ctx: Ctx) -> Response:
    """A confirmation saying what happens; then Registry.withdraw (as `blurkit consent
    withdraw`): records withdrawn, ALL templates and kept photos erased, the takedown list."""
    person_id = int(request.path_params["person_id"])
    today = date.today()
    with open_registry(ctx) as reg:
        person = _person_or_none(reg, person_id)
        if person is None:
            return not_found(ctx)
        consents = reg.consents(person.id)
        templates = len(reg.template_records(person.id))
        photos = len(reg.photo_records(person.id))
        takedown = len(takedown_rows(ctx, person.id))
        values = {"when": today.isoformat(), "purpose": ""}
        error = None
        if request.method == "POST":
            form = ctx.form
            purpose = _text(form, "purpose") or None
            values = {"when": _text(form, "when", 20), "purpose": purpose or ""}
            try:
                if purpose is not None and purpose not in PURPOSES:
                    raise FormError(ctx.t("web.reg.err.no_purpose"))
                when = _date(ctx, form, "when") or today
                w = reg.withdraw(person.id, purpose=purpose, date=when, today=today)
            except FormError as exc:
                error = exc.text
            except BlurkitError as exc:
                error = error_text(ctx, exc)
            else:
                me = owner(ctx)
                if w.consent_ids:
                    drafts(ctx).notice(me, "ok", ctx.t(
                        "web.reg.done.withdrawn", date=w.date,
                        ids=", ".join(str(i) for i in w.consent_ids)))
                else:
                    drafts(ctx).notice(me, "info", ctx.t("web.reg.done.nothing_to_withdraw"))
                drafts(ctx).notice(me, "ok", ctx.t("web.reg.done.erased",
                                                   templates=w.templates_erased,
                                                   photos=w.photos_erased))
                if w.still_active:
                    drafts(ctx).notice(me, "warn", ctx.t(
                        "web.reg.warn.still_active",
                        purposes=", ".join(purpose_text(ctx, p) for p in w.still_active)))
                if not w.storage_cleared:
                    drafts(ctx).notice(me, "warn", ctx.t("web.reg.warn.storage_busy"))
                redone = await run_in_threadpool(ctx.app.people.after_withdrawal, person.id)
                if redone:
                    drafts(ctx).notice(me, "info", ctx.t("web.reg.done.redecided",
                                                         n=len(redone)))
                return RedirectResponse(f"/people/{person.id}/takedown", 303)
    in_force = [c for c in consents if c.active(today)]
    return render(ctx, "withdraw.html", status=400 if error else 200, person=person,
                  in_force=in_force, templates=templates, photos=photos, takedown=takedown,
                  values=values, error=error, today=today)


@page("register")
async def remove(request: Request, ctx: Ctx) -> Response:
    """Erase the person and everything about them (Registry.remove, as `blurkit consent
    remove`); the audit log keeps that it happened, and the takedown list stays available."""
    person_id = int(request.path_params["person_id"])
    with open_registry(ctx) as reg:
        person = _person_or_none(reg, person_id)
        if person is None:
            return not_found(ctx)
        if request.method == "GET":
            return render(ctx, "remove.html", person=person,
                          consents=len(reg.consents(person.id)),
                          templates=len(reg.template_records(person.id)),
                          photos=len(reg.photo_records(person.id)),
                          takedown=len(takedown_rows(ctx, person.id)))
        e = reg.remove(person.id)
    me = owner(ctx)
    drafts(ctx).notice(me, "ok", ctx.t("web.reg.done.removed", id=e.person_id,
                                       consents=e.consents_erased, templates=e.templates_erased,
                                       photos=e.photos_erased))
    if not e.storage_cleared:
        drafts(ctx).notice(me, "warn", ctx.t("web.reg.warn.storage_busy"))
    return RedirectResponse(f"/people/{e.person_id}/takedown", 303)


@page("register")
async def takedown(request: Request, ctx: Ctx) -> Response:
    """The takedown list: every earlier published output that showed the person. From the
    audit log only, so it stays available after the person was removed."""
    person_id = int(request.path_params["person_id"])
    with open_registry(ctx) as reg:
        person = _person_or_none(reg, person_id)
    rows = await run_in_threadpool(takedown_rows, ctx, person_id)
    return render(ctx, "takedown.html", person=person, person_id=person_id, rows=rows)
