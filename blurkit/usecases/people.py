"""The consent register as a registrar uses it (the web page's people pages and
`blurkit consent ...`): the people with their state at a glance, a person's page, registration
(fields, consent records, reference photos with the face chosen in each), more photos, a
registrar's "these photos show one person", edits, more consent records, withdrawal with
everything it must undo (the templates, the items waiting in review) and its takedown list,
removal.

Every change is made through the registry (`Registry.add_person`, `add_consent`,
`add_templates`, `add_photo`, `edit_person`, `withdraw`, `remove`) with the acting person as
the operator of its audit entries, so a change made on the page shows in the command line at
once and the other way round. Results are plain data and message ids (`Notice`, `Ref`),
never sentences; refusals are `BlurkitError`s with a message id. Face templates never leave
this layer, not even counted beyond their number, dates and model. The plain data, the
consent state as tags and the takedown list are in `blurkit.usecases.register`.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from blurkit import choices
from blurkit.audit import AuditLog, zone_label
from blurkit.consent.crypto import RegistryKeyError
from blurkit.consent.registry import Registry
from blurkit.consent.rules import ConsentError, Person, check_birth_year, check_name, consent_for
from blurkit.errors import BlurkitError, InputError
from blurkit.usecases.common import NotFound, Notice
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
from blurkit.usecases.register import (
    PAGE_SIZE,
    Check,
    NewPerson,
    PeopleList,
    PersonRow,
    PersonView,
    PhotoFile,
    Preview,
    Record,
    Removed,
    Stored,
    Takedown,
    Withdrawn,
    candidate,
    check_records,
    check_rows,
    decision_ref,
    enrol_files,
    history_rows,
    matches,
    may_confirm,
    notice_of,
    pair_of,
    registered_templates,
    state_tags,
    stored_notices,
    takedown_rows,
    withdrawal_notices,
)

KEPT_THUMB = 240               # long side of a kept reference photo on the person's page


# --------------------------------------------------------------------------- the service

class PeopleService:
    """One per app (or command). Its methods block (SQLite, the face models); the web runs
    them in a thread pool. `operator`: who acts (the audit entries' operator; None: the
    settings' operator, as on the command line)."""

    def __init__(self, settings, review=None) -> None:
        self.settings = settings
        self.review = review              # ReviewService: items waiting in review
        self.drafts = Drafts()
        self._enroller: Enroller | None = None

    def enroller(self) -> Enroller:
        if self._enroller is None:
            self._enroller = Enroller(self.settings)
        return self._enroller

    def after_withdrawal(self, person_id: int) -> list[int]:
        """See `redecide_waiting` (every watch folder of this data directory)."""
        return redecide_waiting(self.settings, person_id, own=self.review)

    def _open(self, operator: str | None = None) -> Registry:
        settings = self.settings if operator is None else self.settings.replace(
            operator=operator)
        return Registry.open(settings)

    @staticmethod
    def _person(reg: Registry, person_id: int) -> Person:
        try:
            return reg.person(person_id)
        except ConsentError as exc:
            raise NotFound(exc.key, **exc.params) from None

    # reading -----------------------------------------------------------------------------

    def list(self, q: str = "", offset: int = 0, limit: int | None = PAGE_SIZE,
             today: date | None = None, order: str = "name") -> PeopleList:
        """The people found by `q` (everyone when empty) with their state on `today`,
        by name (or by number: `order="id"`), one page of `limit` (None: all)."""
        today = today or date.today()
        q = (q or "").strip()[:100]
        offset = max(0, int(offset))
        with self._open() as reg:
            persons = reg.persons()
            consents = reg.consents()
            counts = {p.id: sum(reg.template_counts(p.id).values()) for p in persons}
            key_error = self._key_error(reg)
        found = [p for p in persons if matches(q, p, consents)]
        if order == "name":
            found.sort(key=lambda p: (p.name.casefold(), p.id))
        shown = found[offset:offset + limit] if limit is not None else found[offset:]
        rows = []
        for p in shown:
            own = [c for c in consents if c.person_id == p.id]
            rows.append(PersonRow(p, state_tags(p, own, counts.get(p.id, 0), today),
                                  sorted({c.form_ref for c in own if c.form_ref}), own,
                                  counts.get(p.id, 0)))
        return PeopleList(rows, q, len(found), len(persons), offset, limit, today, key_error)

    @staticmethod
    def _key_error(reg: Registry) -> Notice | None:
        """A missing or wrong key: no file is processed until it is back, so the list must
        not be read as "these people may be shown" without saying so."""
        try:
            reg.check_key()
        except RegistryKeyError as exc:
            return notice_of(exc)
        return None

    def person(self, person_id: int, today: date | None = None,
               with_log: bool = True) -> PersonView:
        """Everything the person's page shows (`with_log`: also their takedown list and the
        changes the diarium recorded). NotFound when there is no such person."""
        today = today or date.today()
        with self._open() as reg:
            person = self._person(reg, person_id)
            consents = reg.consents(person_id)
            templates = reg.template_records(person_id)
            photos = reg.photo_records(person_id)
        takedown, history = [], []
        if with_log:
            takedown = list(reversed(takedown_rows(self.settings, person_id)))
            with AuditLog.open(self.settings) as log:
                history = list(reversed(history_rows(log.history(person_id))))
        decisions = {p: consent_for(person, consents, p, today) for p in choices.PURPOSES}
        return PersonView(person, consents, templates, photos, decisions,
                          {p: decision_ref(d) for p, d in decisions.items()},
                          state_tags(person, consents, len(templates), today), takedown,
                          history, today, zone_label())

    def takedown(self, person_id: int) -> Takedown:
        """The takedown list, also for a person no longer in the register."""
        with self._open() as reg:
            try:
                person = reg.person(person_id)
            except ConsentError:
                person = None
        return Takedown(person_id, person, takedown_rows(self.settings, person_id),
                        zone_label())

    def kept_photo(self, person_id: int, photo_id: int) -> bytes:
        """A small JPEG of a kept reference photo (decrypted in memory only)."""
        with self._open() as reg:
            self._person(reg, person_id)
            found = [(s, data) for pid, s, data in reg.photos(person_id) if pid == photo_id]
        if not found:
            raise NotFound("web.reg.not_found")
        suffix, data = found[0]
        return jpeg(decode(data, "kept" + (suffix or ".jpg")), KEPT_THUMB)

    def preview(self, person_id: int, today: date | None = None) -> Preview:
        """What a withdrawal or a removal of the person would touch."""
        today = today or date.today()
        with self._open() as reg:
            person = self._person(reg, person_id)
            consents = reg.consents(person_id)
            templates = len(reg.template_records(person_id))
            photos = len(reg.photo_records(person_id))
        return Preview(person, consents, [c for c in consents if c.active(today)], templates,
                       photos, len(takedown_rows(self.settings, person_id)), today)

    # registration on the page: a draft, its photos, their faces, then stored ------------

    def begin(self, owner: str, new: NewPerson | None = None, person_id: int | None = None,
              keep_photos: bool = False, files: list[PhotoFile] = (),
              today: date | None = None) -> tuple[Draft, list[Notice]]:
        """A registration draft: a new person (`new`, checked first: ConsentError refuses
        it before any photo is analysed) or more photos for `person_id`; the photos read
        into it. Returns the draft and the warnings the records raised."""
        today = today or date.today()
        warnings: list[Notice] = []
        if new is not None:
            person = candidate(new, today)
            warnings = check_records(person, new.purposes, new.record, today)
            with self._open() as reg:
                reg.check_key()     # a missing/wrong key fails now, not after the photos
            fields = {"name": person.name, "birth_year": person.birth_year,
                      "staff": person.staff, "protected": person.protected,
                      "purposes": list(new.purposes), "record": new.record,
                      "warnings": warnings}
        else:
            with self._open() as reg:
                person = self._person(reg, person_id)
            fields = {"name": person.name}
        draft = self.drafts.new(owner, person_id if new is None else None, fields,
                                keep_photos)
        self.read_photos(draft, files)
        return draft, warnings

    def draft(self, owner: str, draft_id: str) -> Draft:
        draft = self.drafts.get(draft_id, owner)
        if draft is None:
            raise NotFound("web.reg.draft_gone")
        return draft

    def read_photos(self, draft: Draft, files: list[PhotoFile]) -> None:
        """Decode and analyse photos into the draft (at most MAX_PHOTOS). A photo larger
        than MAX_PHOTO_BYTES is refused by its size, never read; one that cannot be read is
        refused with its reason. Both are noted in `draft.errors`."""
        for f in files:
            name = safe_name(f.name, f"foto-{len(draft.photos) + 1}.jpg")
            if len(draft.photos) >= MAX_PHOTOS:
                draft.errors.append(Notice("error", "web.reg.err.too_many_photos",
                                           {"n": MAX_PHOTOS, "photo": name}))
                continue
            if f.size is not None and f.size > MAX_PHOTO_BYTES:
                draft.errors.append(Notice("error", "web.reg.photo_too_large",
                                           {"photo": name, "mb": MAX_PHOTO_BYTES >> 20}))
                continue
            data = f.file.read(MAX_PHOTO_BYTES + 1)
            try:
                pixels = decode(data, name)
            except InputError as exc:
                draft.errors.append(notice_of(exc))
                continue
            detections, faces = self.enroller().analyse(pixels, name)
            draft.photos.append(DraftPhoto(name, pixels, detections, faces,
                                           raw=data if draft.keep_photos else None,
                                           suffix=Path(name).suffix.lower() or ".jpg"))
            del data

    def choose(self, draft: Draft, choices_: dict[int, str], confirmed: bool,
               files: list[PhotoFile] = ()) -> None:
        """The registrar's choices on the check step: a face number or "skip" per photo,
        "these photos show one person", and more photos."""
        for i, p in enumerate(draft.photos):
            choice = choices_.get(i, "")
            if choice == "skip":
                p.choice = "skip"
            elif choice.isdigit() and p.faces.face(int(choice)) is not None:
                p.choice = int(choice)
        draft.errors = []
        draft.confirmed = confirmed
        self.read_photos(draft, files)

    def draft_image(self, draft: Draft, index: int, face: int) -> bytes:
        """A draft's photo, small (face 0), or one face of it (1, 2, ...), as a JPEG."""
        if not 0 <= index < len(draft.photos):
            raise NotFound("web.reg.not_found")
        p = draft.photos[index]
        if face == 0:
            return jpeg(p.pixels, PREVIEW)
        info = p.faces.face(face)
        if info is None:
            raise NotFound("web.reg.not_found")
        x1, y1, x2, y2 = info.crop_box(p.faces.width, p.faces.height)  # as the library frames it
        return jpeg(p.pixels[y1:y2, x1:x2], CROP)

    def cancel(self, owner: str, draft_id: str) -> tuple[int | None, list[Notice]]:
        """Drop a draft; (the person it was for, if any, and what to say)."""
        draft = self.drafts.get(draft_id, owner)
        if draft is None:
            return None, []
        self.drafts.drop(draft.id)
        return draft.person_id, [Notice("info", "web.reg.cancelled")]

    def judge(self, draft: Draft, *, operator: str, role: str | None, store: bool,
              today: date | None = None) -> Check:
        """Enrol the draft's photos with their face choices. With `store`: when they pass
        and no photo needs a person's look, store everything (the draft is then gone; the
        result's `stored` says what was written, its `notices` what to tell)."""
        used = [p for p in draft.photos if p.choice != "skip"]
        enrolment, registered = None, []
        if draft.person_id is not None:
            with self._open() as reg:
                registered = registered_templates(reg, draft.person_id)
        if used:
            confirmer = operator if draft.confirmed and may_confirm(role) else None
            enrolment = self.enroller().enrol(used, registered=registered,
                                              person_id=draft.person_id, confirmed_by=confirmer)
        # a photo with several faces is always shown, even when one of them would be taken
        # automatically: a person confirms whose face it is
        unconfirmed = [p for p in used if p.choice is None and len(p.faces.faces) > 1]
        all_left_out = bool(draft.photos) and not used
        needs_look = bool(draft.errors or (enrolment is not None and not enrolment.ok)
                          or unconfirmed or all_left_out
                          or (draft.person_id is not None and not used))
        check = Check(draft, enrolment, check_rows(draft, enrolment), pair_of(draft, enrolment),
                      ready=not needs_look, all_left_out=all_left_out)
        if store and not needs_look:
            try:
                check.stored = self._store_draft(draft, enrolment, used, operator,
                                                 today or date.today())
            except BlurkitError as exc:
                check.error = exc
            else:
                self.drafts.drop(draft.id)
        return check

    def _store_draft(self, draft: Draft, enrolment, used: list[DraftPhoto], operator: str,
                     today: date) -> Stored:
        f = draft.fields
        kept = [(p.raw, p.suffix) for p in used if p.raw is not None] if draft.keep_photos \
            else []
        with self._open(operator) as reg:
            reg.check_key()
            if draft.person_id is None:
                new = NewPerson(f["name"], tuple(f["purposes"]), f["record"],
                                birth_year=f["birth_year"], staff=f["staff"],
                                protected=f["protected"])
                same = reg.find_by_name(new.name)
                stored = self._store(reg, new=new, enrolled=enrolment, kept=kept, today=today)
                stored.same_name = same
                stored.warnings = list(f.get("warnings", []))
            else:
                stored = self._store(reg, person_id=draft.person_id, enrolled=enrolment,
                                     kept=kept, today=today)
        stored.keep_photos = draft.keep_photos
        stored.photos_given = len(used)
        stored.notices = stored_notices(stored)
        return stored

    def _store(self, reg: Registry, *, new: NewPerson | None = None,
               person_id: int | None = None, changes: dict | None = None,
               purposes=(), record: Record | None = None, enrolled=None,
               kept=(), today: date) -> Stored:
        """The one registration transaction (as `blurkit consent add/edit` and the page
        make it): the person (new, or changed), a consent record per purpose, the face
        templates with who confirmed them, the kept photos: all or nothing."""
        with reg.transaction():
            if new is not None:
                before = None
                person = reg.add_person(new.name, birth_year=new.birth_year, staff=new.staff,
                                        protected=new.protected, today=today)
                purposes, record = new.purposes, new.record
            else:
                before = reg.person(person_id)
                person = reg.edit_person(before.id, today=today, **changes) if changes \
                    else before
            consents = [reg.add_consent(person.id, purpose=p, today=today, **record.args())
                        for p in purposes] if record is not None else []
            if enrolled is not None:
                reg.add_templates(person.id, enrolled.templates, enrolled.model,
                                  confirmed_same_person_by=getattr(
                                      enrolled, "confirmed_same_person_by", None))
            for data, suffix in kept:
                reg.add_photo(person.id, data, suffix)
        changed = [k for k in (changes or {}) if before is not None
                   and getattr(person, k) != getattr(before, k)]
        return Stored(person, before, changed, consents, records=reg.consents(person.id),
                      enrolled=enrolled, photos_kept=len(kept))

    # registration and changes from files (the command line) ------------------------------

    def register(self, new: NewPerson, photos=(), *, confirmed_by: str | None = None,
                 keep_photos: bool = False, operator: str | None = None,
                 today: date | None = None) -> Stored:
        """Register a person with their consent records and reference photos
        (`photos`: (path, face number or None) each). Everything is checked first; nothing
        is written unless all of it can be."""
        today = today or date.today()
        person = candidate(new, today)
        new = dataclasses.replace(new, name=person.name)
        warnings = check_records(person, new.purposes, new.record, today)
        paths, faces = [Path(p) for p, _ in photos], [f for _, f in photos]
        with self._open(operator) as reg:
            reg.check_key()   # a missing/wrong key fails now, not after the photos are analysed
            same = reg.find_by_name(person.name)
            enrolled = enrol_files(paths, faces, self.settings,
                                   confirmed_by=confirmed_by) if paths else None
            kept = [(p.read_bytes(), p.suffix) for p in paths] if keep_photos else []
            stored = self._store(reg, new=new, enrolled=enrolled, kept=kept, today=today)
        stored.same_name, stored.warnings = same, warnings
        stored.keep_photos, stored.photos_given = keep_photos, len(paths)
        stored.notices = stored_notices(stored)
        return stored

    def update(self, person_id: int, changes: dict | None = None, purposes=(),
               record: Record | None = None, photos=(), *, confirmed_by: str | None = None,
               keep_photos: bool = False, operator: str | None = None,
               today: date | None = None) -> Stored:
        """Change a person's details (`changes`: name, birth_year (None clears it), staff,
        protected, deceased, deceased_may_appear), add consent records (one per purpose),
        add reference photos: in one transaction, everything checked first."""
        today = today or date.today()
        changes = dict(changes or {})
        paths, faces = [Path(p) for p, _ in photos], [f for _, f in photos]
        with self._open(operator) as reg:
            before = self._person(reg, person_id)
            if "name" in changes:
                changes["name"] = check_name(str(changes["name"]))
            if changes.get("birth_year") is not None:
                check_birth_year(changes["birth_year"], today)
            warnings = (check_records(dataclasses.replace(before, **changes), purposes,
                                      record, today) if record is not None else [])
            if paths:
                reg.check_key()
            enrolled = enrol_files(paths, faces, self.settings,
                                   registered=registered_templates(reg, before.id),
                                   person_id=before.id,
                                   confirmed_by=confirmed_by) if paths else None
            kept = [(p.read_bytes(), p.suffix) for p in paths] if keep_photos else []
            stored = self._store(reg, person_id=before.id, changes=changes,
                                 purposes=purposes if record is not None else (),
                                 record=record, enrolled=enrolled, kept=kept, today=today)
        stored.warnings = warnings
        stored.keep_photos, stored.photos_given = keep_photos, len(paths)
        stored.notices = stored_notices(stored)
        return stored

    def edit(self, person_id: int, changes: dict, *, operator: str,
             today: date | None = None) -> Stored:
        """The person's details (the page's edit form)."""
        return self.update(person_id, changes, operator=operator, today=today)

    def add_consents(self, person_id: int, purposes, record: Record, *, operator: str,
                     today: date | None = None) -> Stored:
        """More consent records (the page's consent form)."""
        return self.update(person_id, purposes=purposes, record=record, operator=operator,
                           today=today)

    # withdrawal and removal --------------------------------------------------------------

    def withdraw(self, person_id: int, purpose_code: str | None = None,
                 when: date | None = None, *, operator: str | None = None,
                 today: date | None = None) -> Withdrawn:
        """Registry.withdraw (the records for `purpose_code`, None: all; ALL templates and
        kept photos erased), then every item waiting in review that shows the person is
        rendered again without them, and the takedown list is counted."""
        today = today or date.today()
        with self._open(operator) as reg:
            self._person(reg, person_id)
            w = reg.withdraw(person_id, purpose=purpose_code, date=when, today=today)
        redecided, error = [], None
        try:
            redecided = self.after_withdrawal(w.person_id)
        except BlurkitError as exc:    # approval checks consent again: nothing shows her
            error = exc
        except Exception as exc:
            error = BlurkitError("review.render_failed", reason=f"{type(exc).__name__}: {exc}")
        count = len(takedown_rows(self.settings, w.person_id))
        return Withdrawn(w, redecided, count, withdrawal_notices(w, redecided, error), error)

    def remove(self, person_id: int, *, operator: str | None = None) -> Removed:
        """Erase the person and everything about them (Registry.remove); the audit log keeps
        that it happened, and the takedown list stays available."""
        with self._open(operator) as reg:
            self._person(reg, person_id)
            e = reg.remove(person_id)
        notices = [Notice("ok", "web.reg.done.removed",
                          {"id": e.person_id, "consents": e.consents_erased,
                           "templates": e.templates_erased, "photos": e.photos_erased})]
        if not e.storage_cleared:
            notices.append(Notice("warn", "web.reg.warn.storage_busy"))
        return Removed(e, len(takedown_rows(self.settings, e.person_id)), notices)


def redecide_waiting(settings, person_id: int, own=None) -> list[int]:
    """Nothing waiting in review may still show a person whose consent was withdrawn: every
    item whose output (or waiting corrections) shows them is rendered again with today's
    consent, and the derived copies of their earlier outputs go with it. Every watch folder
    of the data directory; the ids rendered again."""
    from blurkit.usecases.review import review_services

    done = []
    services = review_services(settings, own)
    try:
        for service in services:
            for _ in range(3):      # an item an approval sent back meanwhile comes round again
                waiting = service.waiting_with(person_id)
                if not waiting:
                    break
                for item_id in waiting:
                    if service.redecide(item_id):
                        done.append(item_id)
    finally:
        for service in services:
            if service is not own:
                service.close()
    return done
