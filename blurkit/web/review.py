"""The review queue and the photo and video pages: look, correct, approve or reject.

Thin: parse the request, run the use case (`blurkit.usecases.review.ReviewService`) in the
thread pool, render. Every rule (grounds for showing a face, approval only of what was
shown, consent checked again) lives in the use case.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from blurkit.errors import BlurkitError
from blurkit.usecases.common import NotFound, Refused
from blurkit.web import forms
from blurkit.web.context import Ctx, page


def _id(request: Request, name: str = "item_id") -> int:
    return int(request.path_params[name])


async def _run(ctx: Ctx, fn, *args, **kwargs):
    return await run_in_threadpool(fn, *args, **kwargs)


def _file(path, media_type: str) -> Response:
    return FileResponse(path, media_type=media_type, headers={"cache-control": "no-store"})


# ------------------------------------------------------------------------------- pages

@page("review")
async def home(request: Request, ctx: Ctx) -> Response:
    return RedirectResponse("/review", 303)


async def _queue(request: Request, ctx: Ctx, template: str) -> Response:
    offset = forms.integer(request.query_params, "offset") or 0
    data = await _run(ctx, ctx.app.review.queue, max(0, offset))
    return ctx.app.render(ctx, template, page=data, offset=data.offset)


@page("review")
async def queue(request: Request, ctx: Ctx) -> Response:
    return await _queue(request, ctx, "queue.html")


@page("review")
async def queue_panel(request: Request, ctx: Ctx) -> Response:
    """The queue's list alone: the page asks for it every few seconds (htmx)."""
    return await _queue(request, ctx, "_queue_panel.html")


async def render_item(request: Request, ctx: Ctx, message: str | None = None,
                      status: int = 200, **extra) -> Response:
    try:
        view = await _run(ctx, ctx.app.review.item, _id(request))
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    template = "video.html" if view.item.kind == "video" else "photo.html"
    return ctx.app.render(ctx, template, status=status, v=view, item=view.item,
                          message=message, **extra)


item = page("review")(render_item)


async def _preview(request: Request, ctx: Ctx, size: str) -> Response:
    try:
        path = await _run(ctx, ctx.app.review.preview, _id(request), size)
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    except Refused as exc:
        return ctx.app.refusal(ctx, exc, 422)
    return _file(path, "image/jpeg")


@page("review")
async def output(request: Request, ctx: Ctx) -> Response:
    return await _preview(request, ctx, "display")


@page("review")
async def thumb(request: Request, ctx: Ctx) -> Response:
    return await _preview(request, ctx, "thumb")


@page("review")
async def video(request: Request, ctx: Ctx) -> Response:
    try:
        path = await _run(ctx, ctx.app.review.video_file, _id(request))
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    return _file(path, "video/mp4")


@page("review")
async def track_thumb(request: Request, ctx: Ctx) -> Response:
    """A still of the ANONYMIZED video around a track's largest box (where the face is)."""
    try:
        path = await _run(ctx, ctx.app.review.track_still, _id(request), _id(request, "track"))
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    return _file(path, "image/jpeg")


@page("review")
async def original(request: Request, ctx: Ctx) -> Response:
    """The original, only on explicit request, never cached, and every view is recorded."""
    try:
        data = await _run(ctx, ctx.app.review.original_jpeg, _id(request), ctx.user_name)
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    return Response(data, media_type="image/jpeg",
                    headers={"cache-control": "no-store, max-age=0", "pragma": "no-cache"})


@page("review")
async def suggest(request: Request, ctx: Ctx) -> Response:
    """The people who may be named for a hidden face, nearest first, each with this face's
    similarity to that person's own templates."""
    try:
        data = await _run(ctx, ctx.app.review.suggestions, _id(request), _id(request, "face"))
        view = await _run(ctx, ctx.app.review.item, _id(request))
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    return ctx.app.render(ctx, "_suggest.html", s=data, item=view.item,
                          registrar=ctx.role in ("registrar", "admin"))


# ------------------------------------------------------------------------------- actions

async def _change(request: Request, ctx: Ctx, make) -> Response:
    """A correction of the item (`make(item_kind)` runs the use case), then its page."""
    item_id = _id(request)
    try:
        await _run(ctx, make)
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    except Refused as exc:
        extra = {}
        if exc.key == "review.unhide_confirm":         # ask, then send the same form again
            extra["confirm"] = dict(ctx.form or {})
        return await render_item(request, ctx, exc.message(ctx.lang), 409, **extra)
    except BlurkitError as exc:
        return await render_item(request, ctx, exc.message(ctx.lang), 400)
    return RedirectResponse(f"/review/{item_id}", 303)


@page("review")
async def decide(request: Request, ctx: Ctx) -> Response:
    form = ctx.form
    kind = forms.text(form, "kind") or "photo"
    decision = forms.video_decision(form) if kind == "video" else forms.photo_decision(form)
    if decision is None:
        return await render_item(request, ctx, ctx.t("web.err.bad_input"), 400)
    return await _change(request, ctx, lambda: ctx.app.review.correct(
        _id(request), forms.integer(form, "revision"), decision, ctx.user_name, ctx.role,
        confirmed=forms.flag(form, "confirmed")))


@page("review")
async def undo(request: Request, ctx: Ctx) -> Response:
    form = ctx.form
    index = forms.integer(form, "index")
    if index is None:
        return await render_item(request, ctx, ctx.t("web.err.bad_input"), 400)
    return await _change(request, ctx, lambda: ctx.app.review.undo(
        _id(request), forms.integer(form, "revision"), index))


async def _verdict(request: Request, ctx: Ctx, approve: bool) -> Response:
    item_id = _id(request)
    verb = ctx.app.review.approve if approve else ctx.app.review.reject
    try:
        verdict = await _run(ctx, verb, item_id, forms.integer(ctx.form, "revision"),
                             ctx.user_name)
    except NotFound:
        return ctx.app.error_page(ctx, 404, "web.err.not_found")
    except BlurkitError as exc:
        return await render_item(request, ctx, exc.message(ctx.lang), 409)
    if verdict.rendering:
        return RedirectResponse(f"/review/{item_id}/render", 303)
    return RedirectResponse(f"/review/{verdict.next_id}" if verdict.next_id
                            else "/review?done=1", 303)


@page("review")
async def approve(request: Request, ctx: Ctx) -> Response:
    return await _verdict(request, ctx, True)


@page("review")
async def reject(request: Request, ctx: Ctx) -> Response:
    return await _verdict(request, ctx, False)


@page("review")
async def render_page(request: Request, ctx: Ctx) -> Response:
    item_id = _id(request)
    job = ctx.app.review.render_job(item_id)
    if job is None:
        return RedirectResponse(f"/review/{item_id}", 303)
    template = "_render_panel.html" if request.url.path.endswith("/panel") else "render.html"
    return ctx.app.render(ctx, template, job=job, item_id=item_id)
