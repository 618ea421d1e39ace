"""The consent register in the web page: people, registration, consent records, withdrawal
and removal. Registrars and administrators only (`page("register")` on every endpoint).

Thin: parse the request, run the use case (`blurkit.usecases.people.PeopleService`, the same
one `blurkit consent ...` runs) in the thread pool, render. The logged-in user is the
operator of every audit entry. What the use cases say comes back as message ids
(`Notice`); they are worded here, in the reader's language, when the page is drawn.
"""

from __future__ import annotations

import re
from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from blurkit.config import PURPOSES
from blurkit.errors import BlurkitError
from blurkit.usecases.common import NotFound
from blurkit.usecases.enrolment import MAX_PHOTO_BYTES, MAX_PHOTOS
from blurkit.usecases.register import NewPerson, PhotoFile, Record, last_day, may_confirm
from blurkit.usecases.wording import Ref, say_all
from blurkit.usecases.wording import say as say_in
from blurkit.web import forms
from blurkit.web.context import Ctx, page
from blurkit.web.forms import FORM_LIMIT

# a registration form: its photos (each at most MAX_PHOTO_BYTES, checked by its size before
# it is read) and its fields; anything larger is refused while it streams in (413)
REGISTRATION_LIMIT = MAX_PHOTOS * MAX_PHOTO_BYTES + FORM_LIMIT
REGISTRATION_FILES = MAX_PHOTOS + 3
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")

# messages of the library that name command-line options; the page says it in its own words
WEB_WORDING = {
    "consent.err.form_ref_required": "web.reg.err.form_ref_required",
    "consent.err.oral_staff_only": "web.reg.err.oral_staff_only",
    "consent.err.oral_recorded_by": "web.reg.err.oral_recorded_by",
    "consent.err.guardian_unstated": "web.reg.err.guardian_unstated",
    "consent.warn.age_unknown": "web.reg.warn.age_unknown",
    "consent.err.not_found": "web.reg.not_found",
}
DATE_FIELDS = {"signed": "web.reg.f.signed", "expires": "web.reg.f.expires",
               "when": "web.reg.withdraw.date"}


class FormError(BlurkitError):
    """What was typed cannot be read (a date, a year, no purpose chosen)."""


# ------------------------------------------------------------------------------- helpers

def say(ctx: Ctx, item) -> str:
    return say_in(item, ctx.lang, WEB_WORDING)


def flash(ctx: Ctx, notices) -> None:
    """Notices to show on the next page this session opens."""
    for n in notices:
        ctx.app.people.drafts.notice(ctx.owner, n)


def render(ctx: Ctx, template: str, status: int = 200, **values) -> Response:
    return ctx.app.render(
        ctx, template, status=status, active="people", purposes=PURPOSES,
        notices=ctx.app.people.drafts.notices(ctx.owner),
        say=lambda x: say(ctx, x), say_all=lambda xs: say_all(xs, ctx.lang, rename=WEB_WORDING),
        when=lambda moment: moment.strftime("%Y-%m-%d %H:%M") if moment else "–",
        last_day=last_day, max_photos=MAX_PHOTOS, max_photo_mb=MAX_PHOTO_BYTES >> 20,
        **values)


def not_found(ctx: Ctx, exc: NotFound | None = None) -> Response:
    key = WEB_WORDING.get(exc.key, exc.key) if exc is not None else "web.reg.not_found"
    return ctx.app.error_page(ctx, 404, key)


def person_id(request: Request) -> int:
    return int(request.path_params["person_id"])


def _date(form, name: str, required: bool = False) -> date | None:
    text = forms.text(form, name, 20)
    if not text:
        if required:
            raise FormError("web.reg.err.date_missing", field=Ref(DATE_FIELDS[name]))
        return None
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise FormError("web.reg.err.bad_date", value=text)


def _year(form, name: str = "birth_year") -> int | None:
    text = forms.text(form, name, 10)
    if not text:
        return None
    if not _YEAR.match(text):
        raise FormError("web.reg.err.bad_year", value=text)
    return int(text)


def record_from(form) -> tuple[tuple[str, ...], Record]:
    """The purposes and the consent record of a form (the CLI's record options)."""
    chosen = tuple(p for p in PURPOSES if p in form.getlist("purpose"))
    if not chosen:
        raise FormError("web.reg.err.no_purpose")
    guardian = {"yes": True, "no": False}.get(forms.text(form, "guardian"))
    return chosen, Record(kind="oral" if forms.text(form, "kind") == "oral" else "written",
                          signed=_date(form, "signed", True),
                          form_ref=forms.text(form, "form_ref", 100) or None,
                          recorded_by=forms.text(form, "recorded_by", 100) or None,
                          expires=_date(form, "expires"), guardian_consent=guardian)


def form_values(form) -> dict:
    """What the person typed, to fill the form in again."""
    out = {k: forms.text(form, k, 200) for k in ("name", "signed", "expires", "form_ref",
                                                 "recorded_by", "birth_year", "guardian",
                                                 "kind")}
    out["purpose"] = [p for p in PURPOSES if p in form.getlist("purpose")]
    for k in ("staff", "protected", "keep_photos", "deceased", "deceased_may_appear"):
        out[k] = forms.flag(form, k)
    return out


def photo_files(form) -> list[PhotoFile]:
    """The form's photos as they arrived (spooled by the form parser; read later, in the
    thread pool, only when not too large)."""
    return [PhotoFile(u.filename, u.size, u.file) for u in form.getlist("photos")
            if hasattr(u, "read") and u.filename]


async def run(fn, *args, **kwargs):
    return await run_in_threadpool(fn, *args, **kwargs)


# ------------------------------------------------------------------------------- reading

@page("register")
async def people_list(request: Request, ctx: Ctx) -> Response:
    q = request.query_params.get("q", "").strip()[:100]
    offset = max(0, forms.integer(request.query_params, "offset") or 0)
    data = await run(ctx.app.people.list, q, offset)
    return render(ctx, "people.html", v=data)


@page("register")
async def person_page(request: Request, ctx: Ctx) -> Response:
    try:
        view = await run(ctx.app.people.person, person_id(request))
    except NotFound as exc:
        return not_found(ctx, exc)
    return render(ctx, "person.html", v=view, person=view.person)


@page("register")
async def kept_photo(request: Request, ctx: Ctx) -> Response:
    """A small copy of a kept reference photo (registrars only; never cached)."""
    try:
        data = await run(ctx.app.people.kept_photo, person_id(request),
                         int(request.path_params["photo_id"]))
    except NotFound as exc:
        return not_found(ctx, exc)
    return Response(data, media_type="image/jpeg",
                    headers={"cache-control": "no-store, max-age=0"})


@page("register")
async def takedown(request: Request, ctx: Ctx) -> Response:
    """The takedown list: every earlier published output that showed the person. From the
    audit log only, so it stays available after the person was removed."""
    data = await run(ctx.app.people.takedown, person_id(request))
    return render(ctx, "takedown.html", v=data, person=data.person)


# ------------------------------------------------------------------------------- register

def _form_page(ctx: Ctx, template: str, status: int = 200, error=None, **values) -> Response:
    return render(ctx, template, status=status,
                  error=say(ctx, error) if error is not None else None,
                  today=date.today(), **values)


@page("register", max_body=REGISTRATION_LIMIT, max_files=REGISTRATION_FILES)
async def new_person(request: Request, ctx: Ctx) -> Response:
    today = date.today()
    if request.method == "GET":
        return _form_page(ctx, "register.html", values={"signed": today.isoformat(),
                                                        "purpose": [], "kind": "written"})
    form = ctx.form
    values = form_values(form)
    try:
        purposes, record = record_from(form)
        new = NewPerson(values["name"], purposes, record, birth_year=_year(form),
                        staff=values["staff"], protected=values["protected"])
        draft, _ = await run(ctx.app.people.begin, ctx.owner, new, None,
                             values["keep_photos"], photo_files(form), today)
    except BlurkitError as exc:
        return _form_page(ctx, "register.html", 400, exc, values=values)
    return await _judge(request, ctx, draft)


@page("register", max_body=REGISTRATION_LIMIT, max_files=REGISTRATION_FILES)
async def add_photos(request: Request, ctx: Ctx) -> Response:
    """More reference photos for a registered person (e.g. after a withdrawal emptied the
    templates): the same steps; the photos must look like the person already registered."""
    try:
        view = await run(ctx.app.people.person, person_id(request), None, False)
    except NotFound as exc:
        return not_found(ctx, exc)
    if request.method == "GET":
        return _form_page(ctx, "photos.html", person=view.person)
    files = photo_files(ctx.form)
    if not files:
        return _form_page(ctx, "photos.html", 400, Ref("web.reg.err.no_photo"),
                          person=view.person)
    draft, _ = await run(ctx.app.people.begin, ctx.owner, None, view.person.id,
                         forms.flag(ctx.form, "keep_photos"), files)
    if not draft.photos and not draft.errors:
        ctx.app.people.drafts.drop(draft.id)
        return _form_page(ctx, "photos.html", 400, Ref("web.reg.err.no_photo"),
                          person=view.person)
    return await _judge(request, ctx, draft)


async def _judge(request: Request, ctx: Ctx, draft) -> Response:
    """The check step. On a POST: stored at once when nothing needs a look (then the
    person's page), else the check page (a GET, so that reloading it sends nothing again).
    A GET never stores."""
    post = request.method == "POST"
    check = await run(ctx.app.people.judge, draft, operator=ctx.user_name, role=ctx.role,
                      store=post)
    if post:
        if check.stored is not None:
            flash(ctx, check.stored.notices)
            return RedirectResponse(f"/people/{check.stored.person.id}", 303)
        if not check.ready:
            return RedirectResponse(f"/people/new/{draft.id}", 303)
    return render(ctx, "check.html", status=409 if check.error else 200, c=check,
                  draft=draft, may_confirm=may_confirm(ctx.role),
                  store_error=say(ctx, check.error) if check.error else None)


@page("register", max_body=REGISTRATION_LIMIT, max_files=REGISTRATION_FILES)
async def draft_page(request: Request, ctx: Ctx) -> Response:
    """The check step: GET shows it again; POST takes the face choices (and more photos)."""
    try:
        draft = ctx.app.people.draft(ctx.owner, request.path_params["draft"])
    except NotFound as exc:
        return ctx.app.error_page(ctx, 404, exc.key)
    if request.method == "POST":
        form = ctx.form
        choices = {i: forms.text(form, f"face_{i}", 10) for i in range(len(draft.photos))}
        await run(ctx.app.people.choose, draft, choices, forms.flag(form, "confirm_same"),
                  photo_files(form))
    return await _judge(request, ctx, draft)


@page("register")
async def draft_cancel(request: Request, ctx: Ctx) -> Response:
    target, notices = ctx.app.people.cancel(ctx.owner, request.path_params["draft"])
    flash(ctx, notices)
    return RedirectResponse(f"/people/{target}" if target is not None else "/people", 303)


@page("register")
async def draft_photo(request: Request, ctx: Ctx) -> Response:
    """A reference photo of a draft, small (face = 0) or one face of it (face = 1, 2, ...)."""
    try:
        draft = ctx.app.people.draft(ctx.owner, request.path_params["draft"])
        data = await run(ctx.app.people.draft_image, draft, int(request.path_params["photo"]),
                         int(request.path_params["face"]))
    except NotFound:
        return not_found(ctx)
    return Response(data, media_type="image/jpeg",
                    headers={"cache-control": "no-store, max-age=0"})


# ------------------------------------------------------------------------------- changes

@page("register")
async def edit_person(request: Request, ctx: Ctx) -> Response:
    try:
        view = await run(ctx.app.people.person, person_id(request), None, False)
    except NotFound as exc:
        return not_found(ctx, exc)
    if request.method == "GET":
        return _form_page(ctx, "edit.html", person=view.person)
    form = ctx.form
    try:
        changes = {"name": forms.text(form, "name"), "birth_year": _year(form),
                   "staff": forms.flag(form, "staff"), "protected": forms.flag(form, "protected"),
                   "deceased": forms.flag(form, "deceased"),
                   "deceased_may_appear": forms.flag(form, "deceased_may_appear")}
        done = await run(ctx.app.people.edit, view.person.id, changes, operator=ctx.user_name)
    except NotFound as exc:
        return not_found(ctx, exc)
    except BlurkitError as exc:
        return _form_page(ctx, "edit.html", 400, exc, person=view.person)
    flash(ctx, done.notices)
    return RedirectResponse(f"/people/{view.person.id}", 303)


@page("register")
async def add_consent(request: Request, ctx: Ctx) -> Response:
    try:
        view = await run(ctx.app.people.person, person_id(request), None, False)
    except NotFound as exc:
        return not_found(ctx, exc)
    person = view.person
    if request.method == "GET":
        return _form_page(ctx, "consent.html", person=person,
                          values={"signed": date.today().isoformat(), "purpose": [],
                                  "kind": "oral" if person.staff else "written"})
    form = ctx.form
    try:
        purposes, record = record_from(form)
        done = await run(ctx.app.people.add_consents, person.id, purposes, record,
                         operator=ctx.user_name)
    except NotFound as exc:
        return not_found(ctx, exc)
    except BlurkitError as exc:
        return _form_page(ctx, "consent.html", 400, exc, person=person,
                          values=form_values(form))
    flash(ctx, done.notices)
    return RedirectResponse(f"/people/{person.id}", 303)


@page("register")
async def withdraw(request: Request, ctx: Ctx) -> Response:
    """A confirmation saying what happens; then the withdrawal (as `blurkit consent
    withdraw`): records withdrawn, ALL templates and kept photos erased, waiting items made
    again without the person, the takedown list."""
    try:
        before = await run(ctx.app.people.preview, person_id(request))
    except NotFound as exc:
        return not_found(ctx, exc)
    values = {"when": before.today.isoformat(), "purpose": ""}
    error = None
    if request.method == "POST":
        form = ctx.form
        code = forms.text(form, "purpose") or None
        values = {"when": forms.text(form, "when", 20), "purpose": code or ""}
        try:
            if code is not None and code not in PURPOSES:
                raise FormError("web.reg.err.no_purpose")
            done = await run(ctx.app.people.withdraw, before.person.id, code,
                             _date(form, "when"), operator=ctx.user_name)
        except NotFound as exc:
            return not_found(ctx, exc)
        except BlurkitError as exc:
            error = exc
        else:
            flash(ctx, done.notices)
            return RedirectResponse(f"/people/{before.person.id}/takedown", 303)
    return _form_page(ctx, "withdraw.html", 400 if error else 200, error, v=before,
                      person=before.person, values=values)


@page("register")
async def remove(request: Request, ctx: Ctx) -> Response:
    """Erase the person and everything about them (as `blurkit consent remove`); the audit
    log keeps that it happened, and the takedown list stays available."""
    try:
        if request.method == "GET":
            before = await run(ctx.app.people.preview, person_id(request))
            return _form_page(ctx, "remove.html", v=before, person=before.person)
        done = await run(ctx.app.people.remove, person_id(request), operator=ctx.user_name)
    except NotFound as exc:
        return not_found(ctx, exc)
    flash(ctx, done.notices)
    return RedirectResponse(f"/people/{done.erasure.person_id}/takedown", 303)
