"""Registration drafts: the reference photos of one registration, held in memory between the
steps of the register page (upload -> pick the faces -> confirm -> stored).

A photo sent by the browser is written to a private temporary folder only long enough to be
decoded by the same reader the command line uses (`media.image.read_photo`: every format,
orientation, size limits), then deleted; its pixels stay in this process's memory. The raw
bytes are kept in memory only when the registrar chose "keep the reference photos" (they are
then stored encrypted in the registry, as `consent add --keep-photos` does). A draft belongs
to the session that made it, is addressed by a random id (never a path) and is dropped when
the person is registered, when the registration is cancelled, or after `TTL` seconds.

Faces are found and judged by `blurkit.identify.enrol` (`list_faces`, `enrol_detected`): the
same functions `blurkit consent add --photo FILE[:N]` ends in, so page and command line
accept and refuse the same photos for the same reasons.
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from blurkit.errors import InputError

TTL = 30 * 60               # seconds a draft is kept without use
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 50 << 20
MAX_DRAFTS_PER_SESSION = 3
MAX_DRAFTS = 8
PREVIEW = 720               # long side of the photo shown on the page
CROP = 160                  # long side of a face crop
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SAFE_NAME = re.compile(r"[^\w .()-]+")


@dataclass
class DraftPhoto:
    name: str                      # how messages name it: the file name, or "kamera-1.jpg"
    pixels: np.ndarray = field(repr=False)
    detections: list = field(repr=False)
    faces: object                  # identify.enrol.PhotoFaces
    raw: bytes | None = field(default=None, repr=False)   # only with "keep photos"
    suffix: str = ".jpg"
    choice: int | str | None = None   # face index, "skip", or None (automatic)


@dataclass
class Draft:
    id: str
    owner: str                     # the session's token hash
    person_id: int | None          # None: a new person; else photos added to this person
    fields: dict
    keep_photos: bool = False
    photos: list[DraftPhoto] = field(default_factory=list)
    errors: list = field(default_factory=list)   # Notices: photos that could not be used
    confirmed: bool = False        # a registrar confirmed: the photos show one person
    touched: float = field(default_factory=time.monotonic)


class Drafts:
    """The drafts of this process, and one-time notices shown after a redirect."""

    def __init__(self) -> None:
        self._drafts: dict[str, Draft] = {}
        self._notices: dict[str, list] = {}
        self._lock = threading.Lock()

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, d in self._drafts.items() if now - d.touched > TTL]:
            del self._drafts[key]

    def new(self, owner: str, person_id: int | None, fields: dict, keep: bool) -> Draft:
        with self._lock:
            self._expire()
            mine = sorted((d for d in self._drafts.values() if d.owner == owner),
                          key=lambda d: d.touched)
            for d in mine[:max(0, len(mine) - MAX_DRAFTS_PER_SESSION + 1)]:
                del self._drafts[d.id]
            while len(self._drafts) >= MAX_DRAFTS:
                oldest = min(self._drafts.values(), key=lambda d: d.touched)
                del self._drafts[oldest.id]
            draft = Draft(secrets.token_urlsafe(18), owner, person_id, fields, keep)
            self._drafts[draft.id] = draft
            return draft

    def get(self, draft_id: str, owner: str) -> Draft | None:
        if not _ID.match(draft_id or ""):
            return None
        with self._lock:
            self._expire()
            d = self._drafts.get(draft_id)
            if d is None or d.owner != owner:
                return None
            d.touched = time.monotonic()
            return d

    def drop(self, draft_id: str) -> None:
        with self._lock:
            self._drafts.pop(draft_id, None)

    def notice(self, owner: str, notice) -> None:
        """Keep a Notice (message id, not words) for the owner's next page."""
        with self._lock:
            mine = self._notices.setdefault(owner, [])
            if len(mine) < 50:
                mine.append(notice)

    def notices(self, owner: str) -> list:
        with self._lock:
            return self._notices.pop(owner, [])


def safe_name(name: str, fallback: str) -> str:
    """A file name fit to be shown in a message (no path, no odd characters)."""
    base = Path(str(name or "").replace("\\", "/")).name
    base = _SAFE_NAME.sub("_", base).strip(" ._")[:80]
    return base or fallback


def decode(data: bytes, name: str):
    """The photo's pixels (RGB, orientation applied), decoded from a private temporary file
    that is deleted at once. InputError when it is not a readable picture."""
    from blurkit.media.image import read_photo

    if not data:
        raise InputError("web.reg.photo_empty", photo=name)
    if len(data) > MAX_PHOTO_BYTES:
        raise InputError("web.reg.photo_too_large", photo=name, mb=MAX_PHOTO_BYTES >> 20)
    suffix = Path(name).suffix.lower()[:10] or ".jpg"
    with tempfile.TemporaryDirectory(prefix="blurkit-reg-") as tmp:
        path = Path(tmp) / ("photo" + suffix)
        path.write_bytes(data)
        try:
            photo = read_photo(path)
        except InputError as exc:
            # the same reason, naming the photo as the person knows it (not the temp file)
            params = {k: (name if k == "path" else v) for k, v in exc.params.items()}
            raise InputError(exc.key, **params) from exc
        finally:
            path.unlink(missing_ok=True)
    return photo.pixels


class Enroller:
    """The detector and the face embedder of the page, loaded once, used one at a time."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self._detector = None
        self._lock = threading.Lock()

    def _tools(self):
        from blurkit.detect import load_detector
        from blurkit.identify import load_embedder

        if self._detector is None:
            self._detector = load_detector(self.settings.detector, self.settings.models_dir,
                                           threads=1)
        return self._detector, load_embedder(self.settings.models_dir)

    def analyse(self, pixels: np.ndarray, name: str):
        """(detections, PhotoFaces) of one photo."""
        from blurkit.identify.enrol import list_faces

        with self._lock:
            detector, embedder = self._tools()
            detections = detector.detect(pixels)
            return detections, list_faces(pixels, detections, embedder, name)

    def enrol(self, photos: list[DraftPhoto], *, registered=(), person_id=None,
              confirmed_by: str | None = None):
        """identify.enrol.Enrolment of the photos not left out, with their chosen faces."""
        from blurkit.identify.enrol import enrol_detected

        with self._lock:
            _, embedder = self._tools()
            return enrol_detected(
                [(p.pixels, p.detections, p.name,
                  p.choice if isinstance(p.choice, int) else None) for p in photos],
                embedder, registered=registered, person_id=person_id,
                confirmed_same_person_by=confirmed_by)


def jpeg(pixels: np.ndarray, long_side: int, quality: int = 85) -> bytes:
    im = Image.fromarray(pixels)
    im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()

