"""Pictures the review page shows: thumbnails, display copies and stills of video tracks,
each made once and kept while its item waits in review.

Made from the ANONYMIZED output only (an original is never thumbnailed or cached): a JPEG the
browser can show whatever the output's format (TIFF, HEIC-derived JPEG, PNG...), at most
`DISPLAY` pixels on its long side, without metadata. For a video, its frame at one second.
Files are named by item, revision and the output's SHA-256, written atomically, and a
second request for the same picture reads the file made the first time.

Nothing is left behind: an item's copies are deleted when it is published or rejected and
when it is rendered again (`forget`, `keep_only`); the folder has a size bound (`limit_bytes`,
oldest first out) so a long queue cannot fill the disk with previews.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from blurkit.fsutil import atomic_output

THUMB = 320
DISPLAY = 1600
LIMIT_BYTES = 256 << 20      # the cache's size bound (~500 display copies)


class Previews:
    def __init__(self, folder: Path, limit_bytes: int = LIMIT_BYTES) -> None:
        self.folder = Path(folder)
        self.limit_bytes = limit_bytes
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def path(self, item_id: int, sha256: str, size: str) -> Path:
        return self.folder / f"{item_id}-{sha256[:16]}-{size}.jpg"

    def get(self, item_id: int, output: Path, sha256: str, kind: str, size: str) -> Path:
        """The preview file (made now if it does not exist yet)."""
        def make() -> Image.Image:
            im = frame_of(output, kind)
            limit = THUMB if size == "thumb" else DISPLAY
            im.thumbnail((limit, limit), Image.Resampling.LANCZOS)
            return im
        return self._once(self.path(item_id, sha256, size), make,
                          quality=85 if size == "thumb" else 90)

    def track_still(self, item_id: int, output: Path, sha256: str, track: dict) -> Path:
        """A still of an anonymized video around a face track's largest box (its frame
        `box_frame`), with a box's width and height of context on each side."""
        def make() -> Image.Image:
            image = frame_of(output, "video",
                             index=int(track.get("box_frame", track.get("first_frame", 0))))
            x1, y1, x2, y2 = track["box"]
            w, h = x2 - x1, y2 - y1
            crop = image.crop((max(0, x1 - w), max(0, y1 - h), min(image.width, x2 + w),
                               min(image.height, y2 + h)))
            crop.thumbnail((240, 240), Image.Resampling.LANCZOS)
            return crop
        return self._once(self.folder / f"{item_id}-{sha256[:16]}-t{track['id']}.jpg", make,
                          quality=85)

    def _once(self, dest: Path, make, quality: int) -> Path:
        """`dest`, made by `make()` the first time it is asked for (one maker at a time per
        file; written atomically)."""
        if dest.is_file():
            return dest
        with self._lock(dest.name):
            if dest.is_file():
                return dest
            im = make()
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(dest) as tmp:
                im.save(tmp, "JPEG", quality=quality)
            self._bound(keep=dest)
            return dest

    def exists(self, item_id: int, sha256: str, size: str) -> bool:
        return self.path(item_id, sha256, size).is_file()

    def forget(self, item_id: int) -> int:
        """Delete every copy made of item `item_id`; how many there were."""
        gone = 0
        for p in self.folder.glob(f"{int(item_id)}-*.jpg"):
            p.unlink(missing_ok=True)
            gone += 1
        return gone

    def keep_only(self, item_id: int, sha256: str) -> None:
        """Delete the copies of the item's earlier outputs (a re-render replaced them)."""
        for p in self.folder.glob(f"{int(item_id)}-*.jpg"):
            if not p.name.startswith(f"{int(item_id)}-{sha256[:16]}-"):
                p.unlink(missing_ok=True)

    def _bound(self, keep: Path) -> None:
        """Delete the oldest copies while the folder holds more than `limit_bytes`."""
        files = []
        for p in self.folder.glob("*.jpg"):
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files):
            if total <= self.limit_bytes:
                break
            if p != keep:
                p.unlink(missing_ok=True)
                total -= size


def frame_of(path: Path, kind: str, index: int | None = None) -> Image.Image:
    """An RGB picture of an output: the photo itself, or a video's frame number `index`
    (default: the frame at one second)."""
    if kind == "video":
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            chosen = None
            for k, frame in enumerate(container.decode(stream)):
                chosen = frame
                if (k >= index if index is not None
                        else frame.time is not None and frame.time >= 1.0):
                    break
            if chosen is None:
                raise ValueError(f"{path}: no video frame")
            return chosen.to_image().convert("RGB")
    from blurkit.media.reduced import display_image

    # decoded no larger than the display needs (a 150-MP output is not held whole)
    return display_image(path, DISPLAY)


def jpeg_bytes(pixels: np.ndarray, limit: int = DISPLAY) -> bytes:
    """A display JPEG of RGB pixels, in memory (for originals: never written to disk)."""
    im = Image.fromarray(pixels)
    im.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()
