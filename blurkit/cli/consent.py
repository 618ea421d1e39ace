"""`blurkit consent ...`: enrol people with their consent, list, show, edit, withdraw, remove.

Nothing biometric is ever printed: templates are counted, never shown.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import click

from blurkit import i18n
from blurkit.audit import local_time
from blurkit.cli import Context, cli, pass_context
from blurkit.config import PURPOSES
from blurkit.consent.rules import Consent, Person, consent_for
from blurkit.usecases.people import PeopleService
from blurkit.usecases.register import NewPerson, Record, Stored

T = i18n.t


FIELD_WORDS = {
    "name": "cli.consent.field.name", "birth_year": "cli.consent.field.birth_year",
    "staff": "cli.consent.field.staff", "protected": "cli.consent.field.protected",
    "deceased": "cli.consent.field.deceased",
    "deceased_may_appear": "cli.consent.field.deceased_may_appear",
}


class IsoDate(click.ParamType):
    """A calendar date written YYYY-MM-DD (nothing looser: a misread date decides consent)."""
    name = "YYYY-MM-DD"
    _PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, date):
            return value
        text = str(value).strip()
        if self._PATTERN.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        self.fail(T("cli.consent.bad_date", value=value), param, ctx)


class Year(click.ParamType):
    name = "YYYY"

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if re.fullmatch(r"\d{4}", text):
            return int(text)
        self.fail(T("cli.consent.bad_year", value=value), param, ctx)


class PhotoSpec(click.ParamType):
    """A reference photo: FILE, or FILE:N for face N of it (numbered from the left). A file
    whose own name ends in ':N' is taken as that file."""
    name = "FILE[:N]"

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, tuple):
            return value
        text = str(value)
        path = Path(text)
        if path.is_file():
            return path, None
        head, sep, tail = text.rpartition(":")
        if sep and head and tail.isdigit() and int(tail) >= 1 and Path(head).is_file():
            return Path(head), int(tail)
        self.fail(T("cli.consent.bad_photo", value=value), param, ctx)


def _photo_choices(photos, face: int | None) -> list[tuple[Path, int | None]]:
    """(path, face number or None) of each --photo, --face applied."""
    paths = [p for p, _ in photos]
    faces = [f for _, f in photos]
    if face is not None:
        if len(photos) != 1:
            raise click.UsageError(T("cli.consent.face_needs_one_photo"))
        if faces[0] is not None:
            raise click.UsageError(T("cli.consent.face_twice"))
        faces = [face]
    return list(zip(paths, faces, strict=True))


def _warn(key: str, **params: object) -> None:
    click.echo(T("cli.consent.warning", message=T(key, **params)), err=True)


def _unique(items) -> list:
    return list(dict.fromkeys(items))


def _when(iso: str | None) -> str:
    """A stored UTC time as local time with its offset (one zone everywhere)."""
    moment = local_time(iso)
    return moment.isoformat(timespec="seconds") if moment is not None else (iso or "–")


def _kind_text(c: Consent) -> str:
    if c.kind == "oral":
        return T("cli.consent.kind.oral", recorded_by=c.recorded_by)
    return T("cli.consent.kind.written", form_ref=c.form_ref)


def _status_lines(person: Person, consents: list[Consent], today: date) -> list[str]:
    lines = []
    for purpose in PURPOSES:
        d = consent_for(person, consents, purpose, today)
        if d.valid:
            lines.append(T("cli.consent.status.shown", purpose=purpose, consent_id=d.consent_id))
        else:
            lines.append(T("cli.consent.status.hidden", purpose=purpose, reason=d.message()))
    return lines


def _flags(person: Person) -> list[str]:
    flags = [f for f in ("staff", "protected", "deceased") if getattr(person, f)]
    if person.deceased and person.deceased_may_appear:
        flags.append("deceased_may_appear")
    return [T(FIELD_WORDS[f]) for f in flags]


def _takedown(count: int, person_id: int) -> None:
    click.echo(T("cli.consent.takedown", count=count, person_id=person_id))


def _report(stored: Stored, today: date) -> None:
    """What a registration or a change wrote, as `consent add/edit` have always said it."""
    from blurkit.identify.enrol import CHOSEN_WORDS

    for c in stored.consents:
        click.echo(T("cli.consent.record_added", consent_id=c.id, purpose=c.purpose,
                     kind=_kind_text(c)))
    enrolled = stored.enrolled
    if enrolled is not None:
        for v in getattr(enrolled, "photos", []):
            if v.face is not None and v.faces is not None and len(v.faces.faces) > 1:
                how = T(CHOSEN_WORDS[v.chosen_by])
                click.echo(T("cli.consent.face_used", photo=v.name, index=v.face.index,
                             count=len(v.faces.faces), how=how))
        confirmer = getattr(enrolled, "confirmed_same_person_by", None)
        if confirmer:
            click.echo(T("cli.consent.same_person_confirmed", name=confirmer,
                         similarity=enrolled.weakest_similarity))
        click.echo(T("cli.consent.templates_stored", count=len(enrolled.templates),
                     model=enrolled.model))
    if stored.photos_given:
        click.echo(T("cli.consent.photos_kept", count=stored.photos_kept)
                   if stored.keep_photos else T("cli.consent.photos_not_kept"))
    for line in _status_lines(stored.person, stored.records, today):
        click.echo("  " + line)


def record_options(f):
    """The options that describe one consent record (shared by add and edit)."""
    for decorator in reversed([
        click.option("--purpose", "purposes", multiple=True, type=click.Choice(PURPOSES),
                     help=T("cli.consent.opt.purpose")),
        click.option("--signed", type=IsoDate(), help=T("cli.consent.opt.signed")),
        click.option("--form-ref", help=T("cli.consent.opt.form_ref")),
        click.option("--expires", type=IsoDate(), help=T("cli.consent.opt.expires")),
        click.option("--guardian-consent/--no-guardian-consent", "guardian", default=None,
                     help=T("cli.consent.opt.guardian")),
        click.option("--oral", is_flag=True, help=T("cli.consent.opt.oral")),
        click.option("--recorded-by", help=T("cli.consent.opt.recorded_by")),
        click.option("--photo", "photos", multiple=True, type=PhotoSpec(),
                     help=T("cli.consent.opt.photo")),
        click.option("--face", type=click.IntRange(min=1), default=None, metavar="N",
                     help=T("cli.consent.opt.face")),
        click.option("--same-person-confirmed-by", "confirmed_by", default=None,
                     metavar="NAME", help=T("cli.consent.opt.confirmed_by")),
        click.option("--keep-photos", is_flag=True, help=T("cli.consent.opt.keep_photos")),
    ]):
        f = decorator(f)
    return f


def _record(signed, form_ref, expires, guardian, oral, recorded_by) -> Record:
    return Record(kind="oral" if oral else "written", signed=signed, form_ref=form_ref,
                  recorded_by=recorded_by, expires=expires, guardian_consent=guardian)


@cli.group(help=T("cli.consent.help"))
def consent() -> None:
    pass


@consent.command("add", help=T("cli.consent.add.help"))
@click.argument("name")
@record_options
@click.option("--birth-year", type=Year(), help=T("cli.consent.opt.birth_year"))
@click.option("--staff", is_flag=True, help=T("cli.consent.opt.staff"))
@click.option("--protected", is_flag=True, help=T("cli.consent.opt.protected"))
@pass_context
def add(ctx: Context, name: str, purposes, signed, form_ref, expires, guardian, oral, recorded_by,
        photos, face, confirmed_by, keep_photos, birth_year, staff, protected) -> None:
    today = date.today()
    photos = _photo_choices(photos, face)
    purposes = _unique(purposes)
    if not purposes or signed is None:
        raise click.UsageError(T("cli.consent.edit.need_signed"))
    new = NewPerson(name, tuple(purposes), _record(signed, form_ref, expires, guardian, oral,
                                                   recorded_by),
                    birth_year=birth_year, staff=staff, protected=protected)
    stored = PeopleService(ctx.settings).register(new, photos, confirmed_by=confirmed_by,
                                                  keep_photos=keep_photos, today=today)
    click.echo(T("cli.consent.added", name=stored.person.name, person_id=stored.person.id))
    _report(stored, today)
    for w in stored.warnings:
        _warn(w.key, **w.params)
    if stored.same_name:
        _warn("cli.consent.same_name", ids=", ".join(str(p.id) for p in stored.same_name))
    if not photos:
        _warn("cli.consent.no_photos", person_id=stored.person.id)


@consent.command("list", help=T("cli.consent.list.help"))
@click.option("--on", "on", type=IsoDate(), help=T("cli.consent.opt.on"))
@pass_context
def list_persons(ctx: Context, on: date | None) -> None:
    today = on or date.today()
    people = PeopleService(ctx.settings).list(limit=None, today=today, order="id")
    if not people.everyone:
        click.echo(T("cli.consent.empty"))
        return
    if people.key_error:
        n = people.key_error
        _warn(n.key, **n.params)
        _warn("reg.key_stops_all")
    click.echo(T("cli.consent.today", date=today))
    for row in people.rows:
        p = row.person
        born = (T("cli.consent.born", year=p.birth_year) if p.birth_year is not None
                else T("cli.consent.born_unknown"))
        head = ", ".join([born, *_flags(p), T("cli.consent.templates_count",
                                              count=row.templates)])
        click.echo(f"{p.id:>5}  {p.name}  ({head})")
        for line in _status_lines(p, row.consents, today):
            click.echo(f"{'':7}{line}")
    click.echo(T("cli.consent.list.count", count=people.everyone))


@consent.command("show", help=T("cli.consent.show.help"))
@click.argument("person_id", type=int)
@click.option("--on", "on", type=IsoDate(), help=T("cli.consent.opt.on"))
@pass_context
def show(ctx: Context, person_id: int, on: date | None) -> None:
    today = on or date.today()
    view = PeopleService(ctx.settings).person(person_id, today=today, with_log=False)
    p, consents, counts, photos = (view.person, view.consents, view.template_counts,
                                   len(view.photos))
    yes, no = T("cli.consent.yes"), T("cli.consent.no")
    click.echo(T("cli.consent.show.person", person_id=p.id, name=p.name))
    click.echo("  " + (T("cli.consent.born", year=p.birth_year) if p.birth_year is not None
                       else T("cli.consent.born_unknown")))
    click.echo("  " + T("cli.consent.show.flags",
                        flags=", ".join(_flags(p)) or T("cli.consent.show.none")))
    models = ", ".join(f"{m}: {n}" for m, n in counts.items())
    click.echo("  " + T("cli.consent.show.templates", count=sum(counts.values()),
                        models=f"({models})" if models else ""))
    click.echo("  " + T("cli.consent.show.photos", count=photos))
    click.echo("  " + T("cli.consent.show.times", created=_when(p.created),
                        updated=_when(p.updated)))
    if not consents:
        click.echo(T("cli.consent.show.no_records"))
    else:
        click.echo(T("cli.consent.show.records"))
    for c in consents:
        click.echo("  " + T("cli.consent.show.record", consent_id=c.id, purpose=c.purpose,
                            kind=_kind_text(c), signed=c.signed, operator=c.operator))
        expiry = (T("cli.consent.show.expires", expires=c.expires,
                    last_day=c.expires - timedelta(days=1))
                  if c.expires else T("cli.consent.show.no_expiry"))
        guardian = {True: yes, False: no, None: T("cli.consent.not_stated")}[c.guardian_consent]
        parts = [expiry, T("cli.consent.show.guardian", value=guardian)]
        if c.withdrawn:
            parts.append(T("cli.consent.show.withdrawn", date=c.withdrawn))
        click.echo("     " + "; ".join(parts))
    click.echo(T("cli.consent.today", date=today))
    for line in _status_lines(p, consents, today):
        click.echo("  " + line)


@consent.command("edit", help=T("cli.consent.edit.help"))
@click.argument("person_id", type=int)
@click.option("--name", help=T("cli.consent.opt.name"))
@click.option("--birth-year", type=Year(), help=T("cli.consent.opt.birth_year"))
@click.option("--clear-birth-year", is_flag=True, help=T("cli.consent.opt.clear_birth_year"))
@click.option("--staff/--no-staff", default=None, help=T("cli.consent.opt.staff"))
@click.option("--protected/--no-protected", default=None, help=T("cli.consent.opt.protected"))
@click.option("--deceased/--not-deceased", default=None, help=T("cli.consent.opt.deceased"))
@click.option("--family-allows/--no-family-allows", "family_allows", default=None,
              help=T("cli.consent.opt.family_allows"))
@record_options
@pass_context
def edit(ctx: Context, person_id: int, name, birth_year, clear_birth_year, staff, protected,
         deceased, family_allows, purposes, signed, form_ref, expires, guardian, oral,
         recorded_by, photos, face, confirmed_by, keep_photos) -> None:
    today = date.today()
    photos = _photo_choices(photos, face)
    purposes = _unique(purposes)
    if birth_year is not None and clear_birth_year:
        raise click.UsageError(T("cli.consent.edit.both_birth_year"))
    wants_record = bool(purposes) or signed is not None or form_ref or expires or \
        guardian is not None or oral or recorded_by
    if wants_record and not (purposes and signed):
        raise click.UsageError(T("cli.consent.edit.need_signed"))
    changes: dict[str, object] = {k: v for k, v in (
        ("name", name), ("birth_year", birth_year), ("staff", staff), ("protected", protected),
        ("deceased", deceased), ("deceased_may_appear", family_allows)) if v is not None}
    if clear_birth_year:
        changes["birth_year"] = None
    if not changes and not wants_record and not photos:
        click.echo(T("cli.consent.edit.nothing"))
        return
    record = _record(signed, form_ref, expires, guardian, oral, recorded_by) \
        if wants_record else None
    stored = PeopleService(ctx.settings).update(
        person_id, changes, purposes, record, photos, confirmed_by=confirmed_by,
        keep_photos=keep_photos, today=today)
    if stored.changed:
        click.echo(T("cli.consent.edited", person_id=stored.person.id,
                     fields=", ".join(T(FIELD_WORDS[k]) for k in stored.changed)))
    _report(stored, today)
    for w in stored.warnings:
        _warn(w.key, **w.params)


@consent.command("withdraw", help=T("cli.consent.withdraw.help"))
@click.argument("person_id", type=int)
@click.option("--purpose", type=click.Choice(PURPOSES), default=None,
              help=T("cli.consent.opt.withdraw_purpose"))
@click.option("--date", "when", type=IsoDate(), default=None, help=T("cli.consent.opt.date"))
@pass_context
def withdraw(ctx: Context, person_id: int, purpose: str | None, when: date | None) -> None:
    done = PeopleService(ctx.settings).withdraw(person_id, purpose, when)
    w = done.withdrawal
    if w.consent_ids:
        click.echo(T("cli.consent.withdrawn", person_id=w.person_id, date=w.date,
                     ids=", ".join(str(i) for i in w.consent_ids)))
    else:
        click.echo(T("cli.consent.nothing_to_withdraw", person_id=w.person_id))
    click.echo(T("cli.consent.erased", templates=w.templates_erased, photos=w.photos_erased))
    if done.redecided:
        click.echo(T("web.reg.done.redecided", n=len(done.redecided)))
    _takedown(done.takedown, w.person_id)
    if done.redecide_error is not None:
        _warn("web.reg.warn.redecide_failed", reason=done.redecide_error.message())
    if w.still_active:
        _warn("cli.consent.still_active", purposes=", ".join(w.still_active),
              person_id=w.person_id)
    if not w.storage_cleared:
        _warn("cli.consent.storage_busy")


@consent.command("remove", help=T("cli.consent.remove.help"))
@click.argument("person_id", type=int)
@click.option("--yes", "-y", "assume_yes", is_flag=True, help=T("cli.consent.opt.yes"))
@pass_context
def remove(ctx: Context, person_id: int, assume_yes: bool) -> None:
    people = PeopleService(ctx.settings)
    person = people.person(person_id, with_log=False).person
    if not assume_yes:
        click.confirm(T("cli.consent.remove.confirm", person_id=person.id, name=person.name),
                      abort=True)
    done = people.remove(person.id)
    e = done.erasure
    click.echo(T("cli.consent.removed", person_id=e.person_id, consents=e.consents_erased,
                 templates=e.templates_erased, photos=e.photos_erased))
    _takedown(done.takedown, e.person_id)
    if not e.storage_cleared:
        _warn("cli.consent.storage_busy")
