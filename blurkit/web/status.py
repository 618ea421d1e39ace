"""Status: the queue, what is being processed and how far, failed files and why, free disk,
models. The panel refreshes itself every few seconds (htmx), and is a plain page without
JavaScript."""

from __future__ import annotations

import shutil
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from blurkit.web.context import Ctx, page


def gather(ctx: Ctx) -> dict:
    from blurkit.cli.watch import _models_state
    from blurkit.watch import watch_status

    web = ctx.app
    st = watch_status(Path(web.watch.state_dir), n_errors=20, lang=ctx.lang)
    disks = []
    for label, folder in (("inbox", web.watch.inbox), ("ready", web.watch.ready)):
        try:
            du = shutil.disk_usage(folder)
            disks.append({"label": label, "path": str(folder), "free_mb": du.free >> 20,
                          "total_mb": du.total >> 20})
        except OSError:
            disks.append({"label": label, "path": str(folder), "free_mb": None, "total_mb": None})
    models = _models_state(Path(web.settings.models_dir), web.settings.detector)
    progress = None
    for cur in st.get("current", []):
        if cur.get("progress"):
            phase, _, frac = cur["progress"].partition(" ")
            done, _, total = frac.partition("/")
            if done.isdigit() and total.isdigit() and int(total) > 0:
                progress = {"name": cur["name"], "phase": phase, "done": int(done),
                            "total": int(total)}
    return {"st": st, "disks": disks, "models": models, "progress": progress}


@page("status")
async def status_page(request: Request, ctx: Ctx) -> Response:
    data = await run_in_threadpool(gather, ctx)
    return ctx.app.render(ctx, "status.html", **data)


@page("status")
async def panel(request: Request, ctx: Ctx) -> Response:
    data = await run_in_threadpool(gather, ctx)
    return ctx.app.render(ctx, "_status_panel.html", **data)
