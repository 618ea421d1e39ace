"""Files into the watch folder's inbox, streamed to disk (from the web page's upload).

Each file is written under a hidden `.part` name (which the watcher leaves alone), flushed
to disk, then linked to its final name in the inbox: the watcher only ever sees complete
files. Names are cleaned: no absolute paths, no `..`, no hidden or control characters; an
existing name gets a free one. Limits: at most `max_upload_mb` per file (settings), and the
disk where the inbox lives keeps `min_free_mb` free (the watch folder's floor): both are
checked before the first byte is written and again while the file streams in, so one
upload cannot fill the disk.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from pathlib import Path, PurePosixPath

from blurkit.fsutil import free_mb, free_name, fsync_dir, hold_while_writing
from blurkit.usecases.common import Refused

MAX_DEPTH = 8
CHECK_EVERY = 64 << 20          # bytes between two looks at the free space
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

    def __init__(self, uploads: Uploads, rel: str) -> None:
        self.uploads = uploads
        self.inbox = uploads.inbox
        self.rel = rel
        self.folder = (self.inbox / rel).parent
        self.folder.mkdir(parents=True, exist_ok=True)
        # a folder in the inbox may be a link someone made (a network share): never write
        # through it to somewhere else
        if not self.folder.resolve().is_relative_to(self.inbox.resolve()):
            raise Refused("web.upload.outside")
        self.tmp = self.folder / f".{secrets.token_hex(6)}.upload.part"
        self.fh = open(self.tmp, "xb")
        # held while it is written: a cleanup at start removes only what a killed page left
        hold_while_writing(self.fh.fileno())
        self.size = 0
        self._checked = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.uploads.max_bytes:
            raise Refused("web.upload.too_large", mb=self.uploads.max_bytes >> 20)
        if self.size - self._checked >= CHECK_EVERY:
            self._checked = self.size
            self.uploads.check_space(0)
        self.fh.write(chunk)

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


class Uploads:
    def __init__(self, settings, watch) -> None:
        self.inbox = Path(watch.inbox)
        self.max_bytes = int(settings.max_upload_mb) << 20
        self.min_free_mb = int(getattr(watch, "min_free_mb", 200))

    def check_space(self, coming: int) -> None:
        """Refuse when writing `coming` more bytes would leave less than the floor free."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        free = free_mb(self.inbox)
        if free is not None and free - (coming >> 20) < self.min_free_mb:
            raise Refused("web.upload.disk_full", free=free, floor=self.min_free_mb)

    def open(self, name: str, declared: int | None = None) -> Sink:
        """A sink for a file called `name` (as the browser sent it), refused before anything
        is written when the name is unsafe, the declared size is too large, or the disk
        would fall under its floor."""
        rel = clean_rel(name)
        if rel is None:
            raise Refused("web.upload.bad_name_named", name=name or "?")
        if declared is not None and declared > self.max_bytes:
            raise Refused("web.upload.too_large", mb=self.max_bytes >> 20)
        self.check_space(declared or 0)
        return Sink(self, rel)
