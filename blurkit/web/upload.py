"""Upload: files and whole folders go into the watch folder's inbox, streamed to disk.

The browser sends each file as the body of its own `PUT /upload/file?path=REL` (so a 4 GB
clip is never held in memory, and each file has its own progress bar); without JavaScript a
plain form upload works too (the form is read within the same size limit). Writing, naming
and the limits are the use case's (`blurkit.usecases.uploads`).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from blurkit.errors import BlurkitError
from blurkit.web.context import Ctx, page


def _declared(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _failed(ctx: Ctx, exc: OSError) -> str:
    return ctx.t("web.upload.failed", reason=exc.strerror or type(exc).__name__)


@page("upload")
async def put_file(request: Request, ctx: Ctx) -> Response:
    uploads = ctx.app.uploads
    try:
        sink = await run_in_threadpool(uploads.open, request.query_params.get("path", ""),
                                       _declared(request))
    except BlurkitError as exc:
        return JSONResponse({"error": exc.message(ctx.lang)}, 413 if "large" in exc.key
                            else 507 if "disk" in exc.key else 400)
    except OSError as exc:
        return JSONResponse({"error": _failed(ctx, exc)}, 507 if exc.errno == 28 else 500)
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(sink.write, chunk)
        dest = await run_in_threadpool(sink.finish)
    except ClientDisconnect:
        await run_in_threadpool(sink.abort)
        return JSONResponse({"error": ctx.t("web.upload.cut")}, 400)
    except BlurkitError as exc:
        await run_in_threadpool(sink.abort)
        return JSONResponse({"error": exc.message(ctx.lang)},
                            413 if "large" in exc.key else 507)
    except OSError as exc:
        await run_in_threadpool(sink.abort)
        return JSONResponse({"error": _failed(ctx, exc)}, 507 if exc.errno == 28 else 500)
    return JSONResponse({"name": dest.relative_to(uploads.inbox).as_posix(), "size": sink.size})


async def _save(ctx: Ctx, upload) -> tuple[str | None, str | None]:
    """(saved name, None) or (None, why not) for one file of the form without JavaScript."""
    try:
        sink = await run_in_threadpool(ctx.app.uploads.open, upload.filename or "", upload.size)
    except BlurkitError as exc:
        return None, exc.message(ctx.lang)
    except OSError as exc:
        return None, _failed(ctx, exc)
    try:
        while chunk := await upload.read(1 << 20):
            await run_in_threadpool(sink.write, chunk)
        return (await run_in_threadpool(sink.finish)).name, None
    except BlurkitError as exc:
        await run_in_threadpool(sink.abort)
        return None, exc.message(ctx.lang)
    except OSError as exc:
        await run_in_threadpool(sink.abort)
        return None, _failed(ctx, exc)


# the form without JavaScript: every file of one submission together
FORM_UPLOAD_LIMIT = 8 << 30


@page("upload", max_body=FORM_UPLOAD_LIMIT, max_files=200)
async def upload_page(request: Request, ctx: Ctx) -> Response:
    saved, errors = [], []
    if request.method == "POST":
        for upload in (ctx.form.getlist("files") if ctx.form is not None else []):
            if not hasattr(upload, "read"):
                continue
            name, error = await _save(ctx, upload)
            if name:
                saved.append(name)
            else:
                errors.append(error)
    return ctx.app.render(ctx, "upload.html", saved=saved, errors=errors,
                          max_mb=ctx.app.uploads.max_bytes >> 20)
