"""The review queue and the photo and video pages: look, correct, approve or reject.

Every correction is a decision (see `blurkit.revise`); the output is rendered again on the
server from the original with all decisions so far, and the review desk keeps the new
revision. Approving hands the item to the watcher, which publishes it into ready/ with an
audit entry naming the reviewer and every decision.
"""

from __future__ import annotations

import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from blurkit.audit import AuditLog, utc_now
from blurkit.errors import BlurkitError
from blurkit.web.context import Ctx, page

PAGE_SIZE = 60
# video tracks hidden because the machine was not sure (not because they are someone else)
UNSURE_TRACK = ("ambiguous", "too_few_clear_frames", "too_many_unclear_frames")


# ------------------------------------------------------------------------------- helpers

class Registry:
    """Today's view of the consent register, read again whenever its files or the date
    change (as the watcher does)."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self._key = None
        self._snapshot = None
        self._recognizer = None
        self._lock = threading.Lock()

    def _file_key(self):
        from blurkit.consent.registry import registry_key

        return registry_key(self.settings.data_dir)

    def snapshot(self):
        from blurkit.consent.registry import load_snapshot

        with self._lock:
            key = self._file_key()
            if key != self._key:
                self._recognizer = None
                self._snapshot = load_snapshot(self.settings)
                self._key = key
            return self._snapshot

    def showable(self, purpose: str) -> list[tuple[int, str, int]]:
        """(person id, name, consent id) of everyone who may be shown today for `purpose`."""
        snap = self.snapshot()
        if snap is None:
            return []
        out = []
        for p in snap.persons:
            verdict = snap.decide(p.id, purpose)
            if verdict.valid and verdict.consent_id is not None:
                out.append((p.id, p.name, verdict.consent_id))
        return sorted(out, key=lambda x: x[1].lower())

    def recognizer(self):
        snap = self.snapshot()
        if snap is None or not snap.templates:
            return None
        with self._lock:
            if self._recognizer is None:
                from blurkit.identify import MODEL_NAME, Recognizer

                self._recognizer = Recognizer(self.settings.models_dir,
                                              snap.for_model(MODEL_NAME))
            return self._recognizer


def registry_of(web) -> Registry:
    """The app's one view of the consent register."""
    if not hasattr(web, "registry"):
        web.registry = Registry(web.settings)
    return web.registry


def _registry(ctx: Ctx) -> Registry:
    return registry_of(ctx.app)


def _item_or_404(ctx: Ctx, item_id: int, desk=None, in_review: bool = False):
    own = desk is None
    desk = desk or ctx.app.desk()
    try:
        item = desk.get(item_id)
    finally:
        if own:
            desk.close()
    if item is None or (in_review and (item.state != "review" or item.output is None)):
        return None
    return item


def flags(item) -> list[str]:
    """What asks a reviewer to look twice (message keys)."""
    report = item.report or {}
    out = []
    machine = report.get("machine") or {}
    candidates = machine.get("candidates", (report.get("extra") or {}).get("candidates", []))
    if candidates:
        out.append("web.flag.candidates")
    extra = report.get("extra") or {}
    if extra.get("hidden_again") or extra.get("frames_hidden_again"):    # photo / video
        out.append("web.flag.self_check")
    faces = report.get("faces", [])
    for f in faces:
        if f.get("action") == "shown" and f.get("reason") == "consent_valid" \
                and f.get("similarity") is not None and f["similarity"] < 0.96:
            out.append("web.flag.low_margin")
            break
    if item.kind == "video" and any(f.get("reason") in UNSURE_TRACK for f in faces):
        out.append("web.flag.ambiguous_track")
    return out


def counts(item) -> tuple[int, int]:
    faces = (item.report or {}).get("faces", [])
    hidden = sum(1 for f in faces if f.get("action") == "hidden")
    hidden += len((item.report or {}).get("hidden_regions", []))
    shown = sum(1 for f in faces if f.get("action") == "shown")
    return hidden, shown


def _neighbours(desk, item_id: int) -> tuple[int | None, int | None]:
    """The items before and after `item_id` in the queue (after: wrapping to the first)."""
    ids = desk.pending_ids()
    before = [i for i in ids if i < item_id]
    after = [i for i in ids if i > item_id]
    return (before[-1] if before else None), (after[0] if after else
                                              next((i for i in ids if i != item_id), None))


def _prepare_preview(web, item) -> None:
    """Make the display copy of the next item in the background (made once, kept)."""
    if item is None or item.output is None or item.kind != "photo":
        return

    def work():
        try:
            web.previews.get(item.id, item.output, item.out_sha256 or "", item.kind, "display")
        except Exception:   # only a head start; the request itself will say what is wrong
            pass
    threading.Thread(target=work, daemon=True).start()


# ------------------------------------------------------------------------------- pages

@page("review")
async def home(request: Request, ctx: Ctx) -> Response:
    return RedirectResponse("/review", 303)


@page("review")
async def queue(request: Request, ctx: Ctx) -> Response:
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    desk = ctx.app.desk()
    try:
        total = desk.count_pending()
        items = desk.pending(limit=PAGE_SIZE, offset=offset)
        recent = desk.recent(limit=10)
    finally:
        desk.close()
    rows = [{"item": i, "flags": flags(i), "counts": counts(i)} for i in items]
    return ctx.app.render(ctx, "queue.html", rows=rows, total=total, offset=offset,
                          page_size=PAGE_SIZE, recent=recent)


async def render_item(request: Request, ctx: Ctx, message: str | None = None,
                      status: int = 200) -> Response:
    item_id = int(request.path_params["item_id"])
    desk = ctx.app.desk()
    try:
        it = desk.get(item_id)
        if it is None:
            return ctx.app.error_page(ctx, 404, "web.err.not_found")
        prev_id, next_id = _neighbours(desk, item_id)
        nxt = desk.get(next_id) if next_id else None
    finally:
        desk.close()
    _prepare_preview(ctx.app, nxt)
    report = it.report or {}
    from blurkit.revise import machine_part
    machine = machine_part(report)
    decisions = report.get("decisions", [])
    template = "video.html" if it.kind == "video" else "photo.html"
    video_pending = []
    if it.kind == "video" and it.state == "review":
        from blurkit.web.videoreview import pending
        video_pending = pending(ctx, it)
    reg = _registry(ctx)
    showable = reg.showable(it.purpose) if it.state == "review" else []
    snap = reg.snapshot()
    names = {p.id: p.name for p in snap.persons} if snap is not None else {}
    return ctx.app.render(
        ctx, template, status=status, item=it, report=report, machine=machine,
        faces=report.get("faces", []), candidates=machine.get("candidates", []),
        decisions=decisions, regions=report.get("hidden_regions", []),
        flags=flags(it), counts=counts(it), prev_id=prev_id, next_id=next_id,
        showable=showable, names=names, message=message, editable=it.state == "review",
        video_pending=video_pending, duration=report.get("duration"),
        width=report.get("width") or 1, height=report.get("height") or 1)


item = page("review")(render_item)


def _file_response(path: Path, media_type: str, no_store: bool = True) -> Response:
    headers = {"cache-control": "no-store" if no_store else "private, max-age=3600"}
    return FileResponse(path, media_type=media_type, headers=headers)


async def _preview(request: Request, ctx: Ctx, size: str) -> Response:
    it = _item_or_404(ctx, int(request.path_params["item_id"]))
    if it is None or it.output is None or not it.output.is_file():
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    path = await run_in_threadpool(ctx.app.previews.get, it.id, it.output, it.out_sha256 or "",
                                   it.kind, size)
    return _file_response(path, "image/jpeg")


@page("review")
async def output(request: Request, ctx: Ctx) -> Response:
    return await _preview(request, ctx, "display")


@page("review")
async def thumb(request: Request, ctx: Ctx) -> Response:
    return await _preview(request, ctx, "thumb")


@page("review")
async def video(request: Request, ctx: Ctx) -> Response:
    it = _item_or_404(ctx, int(request.path_params["item_id"]))
    if it is None or it.kind != "video" or it.output is None or not it.output.is_file():
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    return _file_response(it.output, "video/mp4")


@page("review")
async def original(request: Request, ctx: Ctx) -> Response:
    """The original, only on explicit request, never cached, and every view is recorded."""
    it = _item_or_404(ctx, int(request.path_params["item_id"]))
    if it is None or it.original is None or not it.original.is_file() or it.kind != "photo":
        return ctx.app.error_page(ctx, 404, "web.err.not_found")

    def load() -> bytes:
        from blurkit.media.reduced import display_jpeg

        # decoded at display size (DCT scaling, strips): a huge original stays small here
        data = display_jpeg(it.original)
        with AuditLog.open(ctx.app.settings) as audit:
            audit.append({"kind": "original-viewed", "purpose": it.purpose,
                          "input_path": str(ctx.app.watch.inbox / it.rel),
                          "input_sha256": it.sha256, "operator": ctx.user_name,
                          "details": {"source": "web", "item": it.id}})
        return data

    data = await run_in_threadpool(load)
    return Response(data, media_type="image/jpeg",
                    headers={"cache-control": "no-store, max-age=0", "pragma": "no-cache"})


@page("review")
async def suggest(request: Request, ctx: Ctx) -> Response:
    """The enrolled people nearest to a hidden face, with their similarity; only people who
    may be shown for the purpose can be chosen."""
    it = _item_or_404(ctx, int(request.path_params["item_id"]), in_review=True)
    face = int(request.path_params["face"])
    if it is None or it.kind != "photo":
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    from blurkit.revise import machine_part
    faces = machine_part(it.report).get("faces", [])
    if not 0 <= face < len(faces):
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    reg = _registry(ctx)
    showable = reg.showable(it.purpose)

    def nearest():
        rec = reg.recognizer()
        if rec is None or it.original is None:
            return None, None
        import numpy as np

        from blurkit.detect.common import Detection
        from blurkit.media.image import read_photo

        photo = read_photo(it.original)
        f = faces[face]
        lm = f.get("landmarks")
        det = Detection(box=tuple(f["box"]), score=float(f.get("score", 1.0)),
                        landmarks=np.array(lm, np.float32) if lm else None,
                        detector=f.get("detector", "?"))
        vector, quality = rec.embed(photo.pixels, det)
        if vector is None:
            return None, quality
        scores = rec.gallery.person_scores(np.asarray([vector]))[0]
        return {int(pid): float(s) for pid, s in zip(rec.gallery.person_ids, scores)}, quality

    sims, quality = await run_in_threadpool(nearest)
    options = [{"person_id": pid, "name": name, "similarity": (sims or {}).get(pid)}
               for pid, name, _ in showable]
    options.sort(key=lambda o: -(o["similarity"] if o["similarity"] is not None else -1))
    return ctx.app.render(ctx, "_suggest.html", item=it, face=face, options=options,
                          compared=sims is not None)


# ------------------------------------------------------------------------------- actions

def _int(form, name: str) -> int | None:
    try:
        return int(str(form.get(name, "")).strip())
    except ValueError:
        return None


def _float(form, name: str) -> float | None:
    try:
        return float(str(form.get(name, "")).strip().replace(",", "."))
    except ValueError:
        return None


def decision_from_form(form, reviewer: str) -> dict | None:
    action = str(form.get("action", ""))
    d: dict = {"action": action}
    if action == "hide_region":
        box = [_float(form, k) for k in ("x1", "y1", "x2", "y2")]
        if None in box:
            return None
        d.update(shape=str(form.get("shape", "rect")), box=box)
    elif action == "hide_candidate":
        d["candidate"] = _int(form, "candidate")
    elif action in ("unhide", "hide_face", "show"):
        d["face"] = _int(form, "face")
        if action == "show":
            d["person_id"] = _int(form, "person_id")
    else:
        return None
    d["by"] = reviewer
    d["at"] = utc_now()[:19] + "Z"
    return d


def _rerender(ctx: Ctx, it, decisions: list[dict]):
    """Render the photo again with `decisions` and make it the item's new revision."""
    from blurkit.revise import render_photo
    from blurkit.redact import Style

    s = ctx.app.settings
    desk = ctx.app.desk()
    try:
        dest = desk.new_render_path(it.id, it.output.name)
        report = render_photo(it.original, it.report, decisions, dest,
                              snapshot=_registry(ctx).snapshot(), purpose=it.purpose,
                              jpeg_quality=s.jpeg_quality,
                              style=Style(mode=s.mode, mask=s.mask, margin=s.margin))
        return desk.replace_output(it.id, dest, report, it.revision)
    finally:
        desk.close()


async def edit_target(request: Request, ctx: Ctx, kind: str, current, change):
    """(item, new decisions) for a correction of an item of `kind` waiting in review, or the
    page that says why not (not found, changed meanwhile, not understood). `current(item)`
    gives the decisions so far, `change(decisions, form)` the new list or None."""
    form = await request.form()
    it = _item_or_404(ctx, int(request.path_params["item_id"]), in_review=True)
    if it is None or it.kind != kind:
        return ctx.app.error_page(ctx, 404, "web.err.not_found"), None
    if _int(form, "revision") != it.revision:
        return await render_item(request, ctx, ctx.t("web.err.changed"), 409), None
    decisions = change(current(it), form)
    if decisions is None:
        return await render_item(request, ctx, ctx.t("web.err.bad_input"), 400), None
    return it, decisions


async def _change(request: Request, ctx: Ctx, change) -> Response:
    it, decisions = await edit_target(
        request, ctx, "photo", lambda it: list((it.report or {}).get("decisions", [])), change)
    if decisions is None:
        return it
    item_id = it.id
    try:
        await run_in_threadpool(_rerender, ctx, it, decisions)
    except BlurkitError as exc:
        return await render_item(request, ctx, exc.message(ctx.lang), 409)
    return RedirectResponse(f"/review/{item_id}", 303)


def appending(make):
    """A change that adds the decision `make(form)` makes (None: not understood)."""
    def add(decisions, form):
        d = make(form)
        return None if d is None else decisions + [d]
    return add


def dropping(decisions, form):
    """A change that takes back decision number `index` of the form."""
    k = _int(form, "index")
    if k is None or not 0 <= k < len(decisions):
        return None
    return decisions[:k] + decisions[k + 1:]


@page("review")
async def decide(request: Request, ctx: Ctx) -> Response:
    return await _change(request, ctx,
                         appending(lambda form: decision_from_form(form, ctx.user_name)))


@page("review")
async def undo(request: Request, ctx: Ctx) -> Response:
    return await _change(request, ctx, dropping)


async def _verdict(request: Request, ctx: Ctx, approve: bool) -> Response:
    item_id = int(request.path_params["item_id"])
    form = await request.form()
    desk = ctx.app.desk()
    try:
        it = desk.get(item_id)
        if it is None:
            return ctx.app.error_page(ctx, 404, "web.err.not_found")
        decisions = list((it.report or {}).get("decisions", []))
        _, next_id = _neighbours(desk, item_id)
        if approve and it.kind == "video" and it.state == "review":
            from blurkit.web.videoreview import approve_video

            started = approve_video(ctx, it, _int(form, "revision"))
            if started is not None:
                return started
        try:
            (desk.approve if approve else desk.reject)(item_id, ctx.user_name, decisions,
                                                       _int(form, "revision") or -1)
        except BlurkitError as exc:
            return await render_item(request, ctx, exc.message(ctx.lang), 409)
    finally:
        desk.close()
    return RedirectResponse(f"/review/{next_id}" if next_id else "/review?done=1", 303)


@page("review")
async def approve(request: Request, ctx: Ctx) -> Response:
    return await _verdict(request, ctx, True)


@page("review")
async def reject(request: Request, ctx: Ctx) -> Response:
    return await _verdict(request, ctx, False)
