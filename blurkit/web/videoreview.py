"""The video page's corrections: hide or show a face track, hide a region over a time range.

A video takes far longer to render than a photo, so corrections are collected first (kept in
the web database with the revision they were made on) and the video is rendered once, when
the reviewer approves: a background render shows its progress, and only a complete, verified
render is approved (`blurkit.engine.revise_video`). A render that fails leaves the item in review
with its corrections, and says why.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from blurkit.audit import utc_now
from blurkit.errors import BlurkitError
from blurkit.web.context import Ctx, page


# ------------------------------------------------------------------------------- storage

def pending(ctx: Ctx, item) -> list[dict]:
    row = ctx.accounts.conn.execute(
        "SELECT revision, decisions_json FROM pending_decision WHERE item_id = ?",
        (item.id,)).fetchone()
    if row is None or row[0] != item.revision:
        return []
    return json.loads(row[1])


def set_pending(conn, item_id: int, revision: int, decisions: list[dict]) -> None:
    if not decisions:
        conn.execute("DELETE FROM pending_decision WHERE item_id = ?", (item_id,))
        return
    conn.execute("INSERT INTO pending_decision (item_id, revision, decisions_json, updated) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET "
                 "revision = excluded.revision, decisions_json = excluded.decisions_json, "
                 "updated = excluded.updated",
                 (item_id, revision, json.dumps(decisions), utc_now()))


# ------------------------------------------------------------------------------- renders

@dataclass
class Render:
    item_id: int
    reviewer: str
    phase: str = "start"
    done: int = 0
    total: int = 0
    finished: bool = False
    error: str | None = None
    error_en: str | None = None
    next_id: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Renders:
    """One video render at a time per app (a Raspberry Pi has four cores, all needed)."""

    def __init__(self) -> None:
        self.jobs: dict[int, Render] = {}
        self.one = threading.Lock()
        self._worker = None

    def worker(self, settings, purpose: str, snapshot):
        import dataclasses

        from blurkit.engine.pipeline import Worker, watch_options

        if self._worker is None:       # the models, loaded once for the app
            self._worker = Worker(watch_options(settings, purpose))
        self._worker.options = dataclasses.replace(self._worker.options, purpose=purpose)
        self._worker.set_snapshot(snapshot)
        return self._worker

    def start(self, web, item, decisions: list[dict], reviewer: str, lang: str) -> Render:
        job = Render(item.id, reviewer)
        self.jobs[item.id] = job

        def run():
            from blurkit.engine.revise_video import render_video
            from blurkit.web.accounts import Accounts
            from blurkit.web.review import _neighbours, registry_of

            desk = web.desk()
            try:
                with self.one:
                    snap = registry_of(web).snapshot()
                    worker = self.worker(web.settings, item.purpose, snap)

                    def progress(phase, done, total):
                        job.phase, job.done, job.total = phase, done, total

                    dest = desk.new_render_path(item.id, item.output.name)
                    report = render_video(item.original, item.report, decisions, dest,
                                          worker=worker, snapshot=snap, purpose=item.purpose,
                                          progress=progress)
                    new = desk.replace_output(item.id, dest, report, item.revision)
                    _, job.next_id = _neighbours(desk, item.id)
                    desk.approve(item.id, reviewer, report["decisions"], new.revision)
                    with Accounts(web.settings.data_dir) as accounts:
                        set_pending(accounts.conn, item.id, new.revision, [])
            except BlurkitError as exc:
                job.error, job.error_en = exc.message(lang), exc.message("en")
            except Exception as exc:   # shown on the page; the item stays in review
                job.error = job.error_en = f"{type(exc).__name__}: {exc}"
            finally:
                job.finished = True
                desk.close()
        threading.Thread(target=run, name=f"blurkit-render-{item.id}", daemon=True).start()
        return job


def renders(web) -> Renders:
    if not hasattr(web, "renders"):
        web.renders = Renders()
    return web.renders


# ------------------------------------------------------------------------------- views

def _form_decision(form, reviewer: str) -> dict | None:
    from blurkit.web.review import _float, _int

    action = str(form.get("action", ""))
    d: dict = {"action": action}
    if action in ("hide_track", "show_track"):
        d["track"] = _int(form, "track")
        if action == "show_track":
            d["person_id"] = _int(form, "person_id")
    elif action == "hide_region":
        box = [_float(form, k) for k in ("x1", "y1", "x2", "y2")]
        t0, t1 = _float(form, "from"), _float(form, "to")
        if None in box or t0 is None or t1 is None:
            return None
        d.update(shape="rect", box=box, **{"from": t0, "to": t1})
    else:
        return None
    d["by"], d["at"] = reviewer, utc_now()[:19] + "Z"
    return d


async def _change(request: Request, ctx: Ctx, change) -> Response:
    from blurkit.engine.revise_video import check_video_decisions, machine_tracks
    from blurkit.web.review import edit_target, registry_of, render_item

    it, decisions = await edit_target(request, ctx, "video", lambda it: pending(ctx, it), change)
    if decisions is None:
        return it
    item_id = it.id
    r = it.report or {}
    try:
        decisions = check_video_decisions(decisions, machine_tracks(r), r.get("width") or 1,
                                          r.get("height") or 1, r.get("duration"))
        snap = registry_of(ctx.app).snapshot()
        for d in decisions:
            if d["action"] == "show_track":
                verdict = snap.decide(d["person_id"], it.purpose) if snap else None
                if verdict is None or not verdict.valid:
                    return await render_item(request, ctx, ctx.t(
                        "revise.show_refused", person_id=d["person_id"], purpose=it.purpose,
                        reason=verdict.message(ctx.lang) if verdict else "-"), 409)
    except BlurkitError as exc:
        return await render_item(request, ctx, exc.message(ctx.lang), 400)
    set_pending(ctx.accounts.conn, it.id, it.revision, decisions)
    return RedirectResponse(f"/review/{item_id}", 303)


@page("review")
async def decide(request: Request, ctx: Ctx) -> Response:
    from blurkit.web.review import appending

    return await _change(request, ctx,
                         appending(lambda form: _form_decision(form, ctx.user_name)))


@page("review")
async def undo(request: Request, ctx: Ctx) -> Response:
    from blurkit.web.review import dropping

    return await _change(request, ctx, dropping)


def approve_video(ctx: Ctx, it, revision: int | None) -> Response | None:
    """Approving a video with corrections: start its render (progress page). None when
    there is nothing to render (the caller approves as for a photo)."""
    decisions = pending(ctx, it)
    if not decisions:
        return None
    if revision != it.revision:
        return ctx.app.error_page(ctx, 409, "web.err.changed")
    job = renders(ctx.app).jobs.get(it.id)
    if job is None or job.finished:
        renders(ctx.app).start(ctx.app, it, decisions, ctx.user_name, ctx.lang)
    return RedirectResponse(f"/review/{it.id}/render", 303)


@page("review")
async def render_page(request: Request, ctx: Ctx) -> Response:
    item_id = int(request.path_params["item_id"])
    job = renders(ctx.app).jobs.get(item_id)
    if job is None:
        return RedirectResponse(f"/review/{item_id}", 303)
    template = "_render_panel.html" if request.url.path.endswith("/panel") else "render.html"
    return ctx.app.render(ctx, template, job=job, item_id=item_id)


@page("review")
async def track_thumb(request: Request, ctx: Ctx) -> Response:
    """A still of the ANONYMIZED video around a track's largest box (where the face is)."""
    from blurkit.web.review import _item_or_404

    it = _item_or_404(ctx, int(request.path_params["item_id"]))
    tid = int(request.path_params["track"])
    if it is None or it.kind != "video" or it.output is None or not it.output.is_file():
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    track = next((t for t in (it.report or {}).get("faces", []) if t.get("id") == tid), None)
    if track is None or "box" not in track:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    path = await run_in_threadpool(ctx.app.previews.track_still, it.id, it.output,
                                   it.out_sha256 or "", track)
    return FileResponse(path, media_type="image/jpeg", headers={"cache-control": "no-store"})
