"""The diarium (the audit log) as people read and export it: one page of entries filtered by
time, person, operator, purpose and kind, each summed up in plain words (message ids, never
raw keys); the chain's state; the CSV export that the page and `blurkit audit export --csv`
give byte for byte alike.

Times: the log keeps UTC; people read this computer's local time, and the page says which
zone that is (`zone`). A day filter is a local day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from blurkit import choices
from blurkit.audit import AuditEntry, AuditLog, VerifyResult, csv_chunks, local_time, zone_label
from blurkit.usecases.wording import Ref, purpose

PAGE_SIZE = 100

# what the page filters by -> the audit entry kinds (and "approved": a reviewer's approval)
KIND_FILTERS: dict[str, tuple[str, ...]] = {
    "processed": ("photo", "video"),
    "approved": ("photo", "video"),
    "consent": ("consent-change",),
    "erasure": ("erasure",),
    "retention": ("retention-delete",),
    "original": ("original-viewed",),     # views of an original on the review page
}

# counted things, in the singular and the plural
COUNTED = {
    "faces": ("web.diar.n.faces.one", "web.diar.n.faces.many"),
    "templates": ("web.diar.n.templates.one", "web.diar.n.templates.many"),
    "photos": ("web.diar.n.photos.one", "web.diar.n.photos.many"),
    "consents": ("web.diar.n.consents.one", "web.diar.n.consents.many"),
    "corrections": ("web.diar.n.corrections.one", "web.diar.n.corrections.many"),
}
PERSON_FIELDS = {"name": "web.reg.field.name", "birth_year": "web.reg.field.birth_year",
                 "staff": "web.reg.field.staff", "protected": "web.reg.field.protected",
                 "deceased": "web.reg.field.deceased",
                 "deceased_may_appear": "web.reg.field.deceased_may_appear"}
CONSENT_KINDS = {"written": "web.diar.word.written", "oral": "web.diar.word.oral"}
REGISTER_ACTIONS = {"person-added": "web.diar.action.person-added",
                    "person-edited": "web.diar.action.person-edited",
                    "consent-added": "web.diar.action.consent-added",
                    "templates-added": "web.diar.action.templates-added",
                    "photo-kept": "web.diar.action.photo-kept",
                    "withdrawn": "web.diar.action.withdrawn",
                    "person-removed": "web.diar.action.person-removed"}
SHOW_ACTIONS = ("show", "show_track")


# --------------------------------------------------------------------------- plain data

@dataclass(frozen=True)
class Filters:
    since: date | None = None        # local days, both included
    until: date | None = None
    person: int | None = None
    operator: str | None = None
    purpose: str | None = None
    kind: str | None = None          # a key of KIND_FILTERS
    offset: int = 0

    def query(self) -> dict:
        """The filters as a page's query string holds them (without the offset)."""
        out = {"from": self.since, "to": self.until, "person": self.person,
               "operator": self.operator, "purpose": self.purpose, "kind": self.kind}
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in out.items()
                if v not in (None, "")}


@dataclass
class Row:
    seq: int
    time: datetime | None            # local
    kind: str | None
    outcome: str                     # ok | failed | rejected (a reviewer said no)
    operator: str | None
    purpose: str | None
    persons: list[int]               # the person an entry is about, and everyone it showed
    input: str                       # file names only
    output: str
    approved: bool
    summary: list[Ref]
    hash: str


@dataclass
class Page:
    filters: Filters
    rows: list[Row]
    total: int
    page_size: int
    chain: VerifyResult
    operators: list[str]
    zone: str                        # "UTC+01:00 (CET)": the zone the times are in
    kinds: list[str] = field(default_factory=lambda: list(KIND_FILTERS))


@dataclass
class Export:
    name: str                        # blurkit-diarium-YYYY-MM-DD.csv
    count: int
    chunks: Iterator[bytes]


# --------------------------------------------------------------------------- words

def counted(what: str, n: int) -> Ref:
    one, many = COUNTED[what]
    return Ref(one if n == 1 else many, {"n": n})


def _ids(values) -> str:
    return ", ".join(str(v) for v in values or [])


def _register_change(d: dict) -> list[Ref]:
    action = d.get("action")
    if action == "person-added":
        return [Ref("web.diar.sum.person_added")]
    if action == "person-edited":
        fields = [Ref(PERSON_FIELDS[f]) if f in PERSON_FIELDS else str(f)
                  for f in d.get("fields") or []]
        return [Ref("web.diar.sum.person_edited", {"fields": fields})]
    if action == "consent-added":
        params = {"id": d.get("consent_id", "…"), "purpose": purpose(d.get("purpose")),
                  "kind": Ref(CONSENT_KINDS[d["type"]]) if d.get("type") in CONSENT_KINDS
                  else (d.get("type") or "…"),
                  "signed": d.get("signed") or "…"}
        out = [Ref("web.diar.sum.consent_added", params)]
        if d.get("expires"):
            out.append(Ref("web.diar.sum.expires", {"date": d["expires"]}))
        return out
    if action == "templates-added":
        out = [Ref("web.diar.sum.templates_added", {"what": counted("templates",
                                                                    int(d.get("count") or 0))})]
        if d.get("confirmed_same_person_by"):
            out.append(Ref("web.diar.sum.same_person",
                           {"name": d["confirmed_same_person_by"]}))
        return out
    if action == "photo-kept":
        return [Ref("web.diar.sum.photo_kept")]
    if action == "withdrawn":
        ids = d.get("consent_ids") or []
        when = d.get("date") or "…"
        if not ids:
            first = Ref("web.diar.sum.nothing_withdrawn")
        elif d.get("purpose"):
            first = Ref("web.diar.sum.withdrawn_for", {"ids": _ids(ids), "date": when,
                                                       "purpose": purpose(d["purpose"])})
        else:
            first = Ref("web.diar.sum.withdrawn", {"ids": _ids(ids), "date": when})
        return [first, Ref("web.diar.sum.erased", {
            "templates": counted("templates", int(d.get("templates_erased") or 0)),
            "photos": counted("photos", int(d.get("photos_erased") or 0))})]
    if action == "person-removed":
        return [Ref("web.diar.sum.removed", {
            "consents": counted("consents", int(d.get("consents_erased") or 0)),
            "templates": counted("templates", int(d.get("templates_erased") or 0)),
            "photos": counted("photos", int(d.get("photos_erased") or 0))})]
    return [Ref(REGISTER_ACTIONS[action])] if action in REGISTER_ACTIONS else \
        [Ref("web.diar.sum.register_other")]


def _show(decision: dict) -> Ref:
    """Who showed whom, and on what grounds (a reviewer's "show this person")."""
    params = {"by": decision.get("by") or "…", "person": decision.get("person_id", "…")}
    if decision.get("grounds") == "registrar":
        return Ref("web.diar.sum.shown_registrar",
                   dict(params, reason=decision.get("reason") or "…"))
    similarity = decision.get("similarity")
    if similarity is not None:
        return Ref("web.diar.sum.shown_match", dict(params, similarity=f"{similarity:.3f}"))
    return Ref("web.diar.sum.shown", params)


def _item(body: dict) -> list[Ref]:
    details = body.get("details") or {}
    review = details.get("review") if isinstance(details.get("review"), dict) else None
    out: list[Ref] = []
    if review:
        who = {"by": review.get("by") or body.get("operator") or "…"}
        if review.get("decision") == "approved":
            out.append(Ref("web.diar.sum.approved", who))
        elif review.get("decision") == "rejected":
            out.append(Ref("web.diar.sum.rejected", who))
        decisions = [d for d in review.get("decisions") or [] if isinstance(d, dict)]
        if decisions:
            out.append(counted("corrections", len(decisions)))
        if review.get("decision") == "approved":
            out += [_show(d) for d in decisions if d.get("action") in SHOW_ACTIONS]
    if body.get("status") != "failed" and body.get("faces") is not None:
        out.append(Ref("web.diar.sum.faces", {"faces": counted("faces", int(body["faces"])),
                                              "shown": len(body.get("shown") or [])}))
    reason = body.get("reason")
    if reason and reason != "review.rejected":
        name = Path(body["input_path"]).name if body.get("input_path") else "…"
        out.append(Ref("web.diar.sum.reason", {"reason": Ref(reason, {"path": name},
                                                             lenient=True)}))
    return out


def summary(body: dict) -> list[Ref]:
    """What an entry says, in words, piece by piece (no names: the log holds ids only)."""
    kind = body.get("kind")
    details = body.get("details") or {}
    if kind in ("consent-change", "erasure"):
        return _register_change(details)
    if kind == "original-viewed":
        return [Ref("web.diar.sum.original_viewed", {"item": details.get("item", "…")})]
    if kind == "retention-delete":
        key = "web.diar.sum.retention_duplicate" if details.get("duplicate") \
            else "web.diar.sum.retention"
        return [Ref(key, {"days": details.get("keep_days", "…")})]
    return _item(body)


def outcome(body: dict) -> str:
    if body.get("status") != "failed":
        return "ok"
    review = (body.get("details") or {}).get("review")
    if body.get("reason") == "review.rejected" or \
            (isinstance(review, dict) and review.get("decision") == "rejected"):
        return "rejected"
    return "failed"


def row(e: AuditEntry) -> Row:
    b = e.body
    persons = sorted({s["person_id"] for s in b.get("shown") or []}
                     | ({b["person_id"]} if b.get("person_id") is not None else set()))
    review = (b.get("details") or {}).get("review")
    return Row(seq=e.seq, time=local_time(b.get("time")), kind=b.get("kind"),
               outcome=outcome(b), operator=b.get("operator"), purpose=b.get("purpose"),
               persons=persons,
               input=Path(b["input_path"]).name if b.get("input_path") else "",
               output=Path(b["output_path"]).name if b.get("output_path") else "",
               approved=isinstance(review, dict) and review.get("decision") == "approved",
               summary=summary(b), hash=e.hash)


def utc_bound(day: date) -> str:
    """The UTC time (as the log writes it) at which local day `day` begins."""
    start = datetime.combine(day, time(0)).astimezone()
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------- the service

class DiariumService:
    """One per app (or command). Its methods block; the web runs them in a thread pool."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self._verified: tuple[tuple, VerifyResult] | None = None

    def verify(self, log: AuditLog | None = None) -> VerifyResult:
        """AuditLog.verify(), recomputed whenever the log's files changed since the last
        full check (an append, or any edit made behind blurkit's back, writes to them);
        otherwise the last full check still holds, and a 100,000-entry log does not cost
        seconds per page."""
        if log is None:
            with AuditLog.open(self.settings) as own:
                return self.verify(own)
        before = log.fingerprint()
        if self._verified is not None and self._verified[0] == before:
            return self._verified[1]
        result = log.verify()
        if log.fingerprint() == before:
            self._verified = (before, result)
        return result

    def page(self, filters: Filters, limit: int = PAGE_SIZE) -> Page:
        f = filters
        with AuditLog.open(self.settings) as log:
            total, entries = log.search(
                since=utc_bound(f.since) if f.since else None,
                until=utc_bound(f.until + timedelta(days=1)) if f.until else None,
                person_id=f.person, operator=f.operator, purpose=f.purpose,
                kinds=KIND_FILTERS.get(f.kind or "", ()), approved=f.kind == "approved",
                limit=limit, offset=f.offset)
            chain = self.verify(log)
            operators = log.operators()
        return Page(f, [row(e) for e in entries], total, limit, chain, operators, zone_label())

    def export(self) -> Export:
        """The whole log as CSV (audit.csv_chunks), read now, sent in chunks."""
        with AuditLog.open(self.settings) as log:
            entries = log.entries()
        return Export(f"blurkit-diarium-{date.today().isoformat()}.csv", len(entries),
                      csv_chunks(entries))

    def export_to(self, dest: Path, overwrite: bool = False) -> tuple[int, VerifyResult]:
        """The CSV into a file (FileExistsError when it exists and `overwrite` is not set),
        and the chain's state."""
        with AuditLog.open(self.settings) as log:
            count = log.export_csv(dest, overwrite=overwrite)
            return count, log.verify()

    def history(self, person_id: int) -> list[AuditEntry]:
        """Every consent change and erasure recorded for the person, oldest first."""
        with AuditLog.open(self.settings) as log:
            return log.history(person_id)


def filters(*, since: date | None = None, until: date | None = None,
            person: int | None = None, operator: str | None = None,
            purpose_code: str | None = None, kind: str | None = None,
            offset: int = 0) -> Filters:
    """Filters from values a person typed, those that cannot apply left out."""
    return Filters(since=since, until=until, person=person,
                   operator=(operator or "").strip()[:100] or None,
                   purpose=purpose_code if purpose_code in choices.PURPOSES else None,
                   kind=kind if kind in KIND_FILTERS else None, offset=max(0, int(offset)))
