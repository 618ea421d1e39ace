"""The diarium on screen: the audit log filtered and paged, the chain's state, and the CSV
export (byte for byte what `blurkit audit export --csv` writes: the same
`AuditLog.export_csv`, into a temporary file that is sent and deleted). Registrars and
administrators only (`page("diarium")`)."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from blurkit.audit import AuditLog
from blurkit.config import PURPOSES
from blurkit.web.context import Ctx, page
from blurkit.web.words import word

PAGE_SIZE = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# what the page filters by -> the audit entry kinds (and "approved": a reviewer's approval)
KIND_FILTERS: dict[str, tuple[str, ...]] = {
    "processed": ("photo", "video"),
    "approved": ("photo", "video"),
    "consent": ("consent-change",),
    "erasure": ("erasure",),
    "retention": ("retention-delete",),
    "original": ("original-viewed",),     # views of an original on the review page
}


def _day(text: str) -> date | None:
    text = (text or "").strip()
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


def filters_from(request: Request) -> dict:
    q = request.query_params
    person = q.get("person", "").strip().lstrip("#")
    try:
        offset = max(0, int(q.get("offset", "0")))
    except ValueError:
        offset = 0
    kind = q.get("kind", "")
    purpose = q.get("purpose", "")
    return {"from": _day(q.get("from", "")), "to": _day(q.get("to", "")),
            "person": int(person) if person.isdigit() else None,
            "operator": q.get("operator", "").strip()[:100] or None,
            "purpose": purpose if purpose in PURPOSES else None,
            "kind": kind if kind in KIND_FILTERS else None, "offset": offset}


def summary(ctx: Ctx, body: dict) -> str:
    """One line on what an entry says (no names: the log holds ids only)."""
    details = body.get("details") or {}
    kind = body.get("kind")
    if kind in ("consent-change", "erasure"):
        action = details.get("action", "")
        text = word("register_action", action, ctx.lang)
        extra = []
        for k in ("consent_id", "consent_ids", "count", "templates_erased", "photos_erased",
                  "fields", "confirmed_same_person_by"):
            if details.get(k) not in (None, [], ""):
                v = details[k]
                extra.append(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}")
        return text + (f" ({'; '.join(extra)})" if extra else "")
    review = details.get("review") if isinstance(details.get("review"), dict) else None
    parts = []
    if body.get("faces") is not None:
        parts.append(ctx.t("web.diar.faces", n=body["faces"], shown=len(body.get("shown") or [])))
    if review:
        parts.append(ctx.t("web.diar.review", decision=review.get("decision", "?"),
                           by=review.get("by", "?"), n=len(review.get("decisions") or [])))
    if body.get("reason"):
        parts.append(str(body["reason"]))
    return " · ".join(parts)


def row(ctx: Ctx, e) -> dict:
    b = e.body
    persons = sorted({s["person_id"] for s in b.get("shown") or []}
                     | ({b["person_id"]} if b.get("person_id") is not None else set()))
    return {"seq": e.seq, "time": (b.get("time") or "")[:19].replace("T", " "),
            "kind": b.get("kind"), "status": b.get("status"), "operator": b.get("operator"),
            "purpose": b.get("purpose"), "persons": persons,
            "input": Path(b["input_path"]).name if b.get("input_path") else "",
            "output": Path(b["output_path"]).name if b.get("output_path") else "",
            "approved": ((b.get("details") or {}).get("review") or {}).get("decision")
            == "approved" if isinstance((b.get("details") or {}).get("review"), dict)
            else False,
            "summary": summary(ctx, b), "hash": e.hash}


def _file_state(path: Path) -> tuple:
    """What changes whenever the audit log is written: the database file's identity, size and
    time, and the CONTENT of its WAL (the WAL file itself is made anew by every connection,
    so its times say nothing; its frames are where a change lands before a checkpoint)."""
    try:
        st = path.stat()
        main = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        main = None
    try:
        wal = hashlib.sha256(Path(str(path) + "-wal").read_bytes()).hexdigest()
    except OSError:
        wal = None
    return main, wal


def verified(web, log: AuditLog):
    """AuditLog.verify(), recomputed whenever the log's files changed since the last full
    check (an append, or any edit made behind blurkit's back, writes to them); otherwise the
    last full check still holds, and a 100,000-entry log does not cost seconds per page."""
    before = _file_state(log.path)
    cached = getattr(web, "diarium_verified", None)
    if cached is not None and cached[0] == before:
        return cached[1]
    result = log.verify()
    if _file_state(log.path) == before:
        web.diarium_verified = (before, result)
    return result


@page("diarium")
async def diarium(request: Request, ctx: Ctx) -> Response:
    f = filters_from(request)

    def load():
        with AuditLog.open(ctx.app.settings) as log:
            kinds = KIND_FILTERS.get(f["kind"] or "", ())
            total, entries = log.search(
                since=f["from"].isoformat() if f["from"] else None,
                until=(f["to"] + timedelta(days=1)).isoformat() if f["to"] else None,
                person_id=f["person"], operator=f["operator"], purpose=f["purpose"],
                kinds=kinds, approved=f["kind"] == "approved", limit=PAGE_SIZE,
                offset=f["offset"])
            return total, entries, verified(ctx.app, log), log.operators()

    total, entries, chain, operators = await run_in_threadpool(load)
    query = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in f.items()
             if k != "offset" and v not in (None, "")}
    return ctx.app.render(ctx, "diarium.html", active="diarium", f=f, query=query,
                          rows=[row(ctx, e) for e in entries], total=total,
                          page_size=PAGE_SIZE, verified=chain, operators=operators,
                          kinds=list(KIND_FILTERS), purposes=PURPOSES)


@page("diarium")
async def export_csv(request: Request, ctx: Ctx) -> Response:
    """The whole log as CSV, made by AuditLog.export_csv (the command line's own call)."""
    tmp = Path(tempfile.mkdtemp(prefix="blurkit-diarium-"))
    dest = tmp / "diarium.csv"

    def make() -> None:
        with AuditLog.open(ctx.app.settings) as log:
            log.export_csv(dest)

    try:
        await run_in_threadpool(make)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    name = f"blurkit-diarium-{date.today().isoformat()}.csv"
    return FileResponse(dest, media_type="text/csv; charset=utf-8", filename=name,
                        headers={"cache-control": "no-store"},
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))
