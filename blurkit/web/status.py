"""Status: the queue, what is being processed and how far, failed files and why, free disk,
models. The panel refreshes itself every few seconds (htmx), and is a plain page without
JavaScript."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from blurkit.web.context import Ctx, page


@page("status")
async def status_page(request: Request, ctx: Ctx) -> Response:
    data = await run_in_threadpool(ctx.app.status.page, ctx.lang)
    return ctx.app.render(ctx, "status.html", **data)


@page("status")
async def panel(request: Request, ctx: Ctx) -> Response:
    data = await run_in_threadpool(ctx.app.status.page, ctx.lang)
    return ctx.app.render(ctx, "_status_panel.html", **data)
