"""Upload: files and whole folders go into the watch folder's inbox, streamed to disk.

The browser sends each file as the body of its own `PUT /upload/file?path=REL` (so a 4 GB
clip is never held in memory, and each file has its own progress bar); without JavaScript a
plain form upload works too (Starlette spools it to a temporary file). A file is written under
a `.part` name (which the watcher leaves alone), flushed to disk, then renamed to its final
name in the inbox: the watcher only ever sees complete files. Names are cleaned: no absolute
paths, no `..`, no hidden or control characters; an existing name gets a free one.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from pathlib import Path, PurePosixPath

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from blurkit.fsutil import free_name, fsync_dir, hold_while_writing
from blurkit.web.context import Ctx, page

MAX_DEPTH = 8
_BAD = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\]')


def clean_rel(name: str) -> str | None:
    """A safe relative path inside the inbox for a name sent by a browser, or None."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    if name.startswith("/"):
        return None
    parts = [p.strip() for p in name.split("/") if p.strip() not in ("", ".")]
    if not parts or len(parts) > MAX_DEPTH:
        return None
    for p in parts:
        if p == ".." or p.startswith(".") or _BAD.search(p) or len(p.encode()) > 200:
            return None
    return PurePosixPath(*parts).as_posix()


class Sink:
    """One file being written into the inbox under a temporary name."""

    def __init__(self, inbox: Path, rel: str) -> None:
        self.inbox = inbox
        self.rel = rel
        self.folder = (inbox / rel).parent
        self.folder.mkdir(parents=True, exist_ok=True)
        # a folder in the inbox may be a link someone made (a network share): never write
        # through it to somewhere else
        if not self.folder.resolve().is_relative_to(Path(inbox).resolve()):
            raise PermissionError(13, "outside the inbox", str(self.folder))
        self.tmp = self.folder / f".{secrets.token_hex(6)}.upload.part"
        self.fh = open(self.tmp, "xb")
        # held while it is written: a cleanup at start removes only what a killed page left
        hold_while_writing(self.fh.fileno())
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.fh.write(chunk)
        self.size += len(chunk)

    def finish(self) -> Path:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        dest = self.inbox / free_name(self.inbox, self.rel)
        os.link(self.tmp, dest)          # never replaces a file that appeared meanwhile
        os.unlink(self.tmp)
        fsync_dir(dest.parent)
        return dest

    def abort(self) -> None:
        try:
            self.fh.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _inbox(ctx: Ctx) -> Path:
    return Path(ctx.app.watch.inbox)


@page("upload")
async def put_file(request: Request, ctx: Ctx) -> Response:
    rel = clean_rel(request.query_params.get("path", ""))
    if rel is None:
        return JSONResponse({"error": ctx.t("web.upload.bad_name")}, 400)
    try:
        sink = await run_in_threadpool(Sink, _inbox(ctx), rel)
    except OSError as exc:
        return JSONResponse({"error": ctx.t("web.upload.failed", reason=exc.strerror or exc)},
                            507 if exc.errno == 28 else 400)
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(sink.write, chunk)
        dest = await run_in_threadpool(sink.finish)
    except ClientDisconnect:
        await run_in_threadpool(sink.abort)
        return JSONResponse({"error": ctx.t("web.upload.cut")}, 400)
    except OSError as exc:
        await run_in_threadpool(sink.abort)
        return JSONResponse({"error": ctx.t("web.upload.failed", reason=exc.strerror or exc)},
                            507 if exc.errno == 28 else 500)
    return JSONResponse({"name": dest.relative_to(_inbox(ctx)).as_posix(), "size": sink.size})


@page("upload")
async def upload_page(request: Request, ctx: Ctx) -> Response:
    saved, errors = [], []
    if request.method == "POST":           # the form without JavaScript
        form = await request.form()
        for upload in form.getlist("files"):
            if not hasattr(upload, "read"):
                continue
            rel = clean_rel(upload.filename or "")
            if rel is None:
                errors.append(ctx.t("web.upload.bad_name_named", name=upload.filename or "?"))
                continue
            try:
                sink = await run_in_threadpool(Sink, _inbox(ctx), rel)
            except OSError as exc:
                errors.append(ctx.t("web.upload.failed", reason=exc.strerror or exc))
                continue
            try:
                while chunk := await upload.read(1 << 20):
                    await run_in_threadpool(sink.write, chunk)
                saved.append((await run_in_threadpool(sink.finish)).name)
            except OSError as exc:
                await run_in_threadpool(sink.abort)
                errors.append(ctx.t("web.upload.failed", reason=exc.strerror or exc))
    return ctx.app.render(ctx, "upload.html", saved=saved, errors=errors)

