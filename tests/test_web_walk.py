"""No page is a dead end: every page kind answers 2xx/3xx/4xx, never 5xx, for every photo and
clip of ../shared/data and of the samples, run through the real watch folder (review on)
and the real page: the queue (every page of it), each item's page, its picture or video, its
thumbnail, its original, the suggestions for a face, the stills of a video's tracks, and the
status, upload, people, diarium, login and error pages. An item whose copy cannot be shown
says so, and cannot be approved.

This is the suite's longest test (all the shared media through one watcher): it runs where
../shared/data is present, and its duration is printed."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import SAMPLES
from starlette.testclient import TestClient

from blurkit.engine.pipeline import MEDIA_SUFFIXES
from tests.webkit import WatcherThread, csrf_of, make_web, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]
LOCAL = "http://127.0.0.1:8470"
SHARED = Path(os.environ.get("BLURKIT_SHARED_DATA",
                             Path(__file__).resolve().parent.parent.parent / "shared" / "data"))


def media_files() -> list[Path]:
    out = []
    for root in (SHARED, SAMPLES):
        out += [p for p in sorted(root.rglob("*"))
                if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES]
    return out


def drop_all(web, files: list[Path]) -> None:
    """Into the inbox as a copy program does (complete, then renamed), one folder per
    source folder so that names never clash."""
    for k, src in enumerate(files):
        folder = web.watch.inbox / f"{k // 200:02d}-{src.parent.name}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{src.name}.part"
        shutil.copyfile(src, tmp)
        os.rename(tmp, folder / f"{k:04d}-{src.name}")


def settled(web, n: int):
    """The journal's items once all `n` files are done, waiting or failed."""
    rows = web.review.desk.journal.all_items()
    busy = [r for r in rows if r["state"] in ("claimed", "queued", "processing", "finishing")]
    return rows if len(rows) >= n and not busy else None


def walk_item(client, get, item) -> None:
    """Every page of one item: its page, picture or video, thumbnail, original, a face's
    suggestions, a track's still. A picture that cannot be shown says so and cannot be
    approved."""
    page = get(client, f"/review/{item.id}")
    assert page.status_code == 200, (item.rel, page.status_code)
    assert 'class="menu"' in page.text or "<nav" in page.text     # never without menu
    if item.state != "review":
        return
    shown = get(client, f"/review/{item.id}/output?rev={item.revision}")
    thumb = get(client, f"/review/{item.id}/thumb?rev={item.revision}")
    assert thumb.status_code in (200, 422)
    if item.kind == "photo":
        assert shown.status_code in (200, 422), item.rel
        if shown.status_code == 422:        # said, and approval refused
            r = client.post(f"/review/{item.id}/approve", follow_redirects=False,
                            data={"csrf_token": csrf_of(page.text),
                                  "revision": str(item.revision)})
            assert r.status_code == 409
        get(client, f"/review/{item.id}/original")
        if item.report.get("faces"):
            get(client, f"/review/{item.id}/suggest/1")
    else:
        assert get(client, f"/review/{item.id}/video").status_code == 200
        for track in item.report.get("faces", [])[:3]:
            get(client, f"/review/{item.id}/track/{track['id']}/thumb")


def getter(seen: dict[str, int]):
    def get(client, path: str):
        r = client.get(path, follow_redirects=False)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        seen[path.split("?")[0].rsplit("/", 1)[-1] if "/review/" in path else path] = \
            r.status_code
        return r
    return get


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_every_page_of_every_shared_file_answers(data_dir, models_dir, capsys):
    files = media_files()
    assert len(files) > 500
    web, app = make_web(data_dir, settle=0.2)
    started = time.monotonic()
    seen: dict[str, int] = {}
    get = getter(seen)
    with WatcherThread(web), TestClient(app, base_url=LOCAL) as client:
        drop_all(web, files)
        rows = wait_for(lambda: settled(web, len(files)), timeout=3600,
                        what="every shared file processed")
        processed = time.monotonic() - started
        for offset in range(0, max(web.review.desk.count_pending(), 1), 60):
            page = get(client, f"/review?offset={offset}")
            assert page.status_code == 200
        get(client, "/review/panel")
        for row in rows:
            walk_item(client, get, web.review.desk.get(row["id"]))
        for path in ("/status", "/status/panel", "/upload", "/people", "/people/new",
                     "/people/1", "/diarium", "/login", "/review/99999999999999999999999",
                     "/review/123456789", "/nothing-here"):
            get(client, path)
    walked = time.monotonic() - started - processed
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    assert states.get("review", 0) > 0.8 * len(files), states
    for kind in ("output", "thumb", "original", "video"):
        assert seen.get(kind) == 200, (kind, seen.get(kind))
    with capsys.disabled():
        print(f"\n[walk] {len(files)} files: {states}; processed in {processed:.0f} s, "
              f"pages walked in {walked:.0f} s")


@contextlib.contextmanager
def one_item_walked(data_dir, src: Path, what: str):
    """`src` dropped into a fresh watch folder, processed to review, and every page of it
    walked: yields (client, pages answered by kind, the item)."""
    web, app = make_web(data_dir, settle=0.2)
    seen: dict[str, int] = {}
    get = getter(seen)
    with WatcherThread(web), TestClient(app, base_url=LOCAL) as client:
        drop_all(web, [src])
        rows = wait_for(lambda: settled(web, 1), timeout=1800, what=what)
        item = web.review.desk.get(rows[0]["id"])
        assert item.state == "review", (item.state, item.report.get("error"))
        assert get(client, "/review").status_code == 200
        walk_item(client, get, item)
        yield client, seen, item


@pytest.mark.slow
def test_the_largest_picture_this_machine_accepts_has_every_page(data_dir, models_dir,
                                                                   tmp_path, capsys):
    """The sample group photo tiled up to the photo pixel limit of this machine (79.9 MP
    where memory allows): processed by the watch folder, and its queue, page, picture,
    thumbnail, original and suggestion views answer; the picture the page shows is a
    reduced copy."""
    import cv2
    import numpy as np

    from blurkit.media import budget
    limit = budget.photo_pixel_limit()
    tile = cv2.imread(str(SAMPLES / "group_photo.jpg"))
    h = int((limit * 3 / 4) ** 0.5) // 16 * 16
    w = min(h * 4 // 3, limit // h)
    reps = (h // tile.shape[0] + 1, w // tile.shape[1] + 1, 1)
    big = np.tile(tile, reps)[:h, :w]
    assert 0.97 * limit < w * h <= limit
    src = tmp_path / "largest.jpg"
    assert cv2.imwrite(str(src), big, [cv2.IMWRITE_JPEG_QUALITY, 85])
    del big
    started = time.monotonic()
    with one_item_walked(data_dir, src, "the largest picture") as (client, seen, item):
        assert len(item.report["faces"]) >= 50          # the group's faces, tile after tile
        assert seen["output"] == 200 and seen["original"] == 200
        shown = client.get(f"/review/{item.id}/output?rev={item.revision}")
        on_page = cv2.imdecode(np.frombuffer(shown.content, np.uint8), cv2.IMREAD_COLOR)
        assert max(on_page.shape[:2]) < max(w, h)       # the page gets a reduced copy
    with capsys.disabled():
        print(f"\n[walk] largest picture {w}x{h} ({w * h / 1e6:.1f} MP): "
              f"{time.monotonic() - started:.0f} s")


@pytest.mark.slow
def test_a_long_clip_has_every_page(data_dir, models_dir, tmp_path, capsys):
    """No limit bounds a clip's length (only its picture size, its tracks and the time
    without progress), so a long one stands for "the longest": the sample clip (two faces,
    sound) joined 60 times into 2.5 minutes. Its queue, page, video, thumbnail and track
    stills answer, and the page lists its tracks without a 5xx."""
    import subprocess

    listing = tmp_path / "list.txt"
    listing.write_text(f"file '{SAMPLES / 'clip_two_faces.mp4'}'\n" * 60)
    src = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(src)], check=True)
    started = time.monotonic()
    with one_item_walked(data_dir, src, "the long clip") as (client, seen, item):
        assert item.report["extra"]["duration"] > 140
        assert seen["video"] == 200 and seen["thumb"] == 200
    with capsys.disabled():
        print(f"\n[walk] long clip {item.report['extra']['duration']:.0f} s, "
              f"{len(item.report.get('faces', []))} tracks: "
              f"{time.monotonic() - started:.0f} s")

