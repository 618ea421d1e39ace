"""Every page of the review side at a desk's width and a phone's: the queue, a photo, a
video, upload, status, login and an error page answer, keep the menu where one belongs, and
never scroll sideways at 400 px (staff upload from phones on the centre's Wi-Fi).
Screenshots are kept with BLURKIT_SCREENSHOTS=DIR, for a person to look at."""

from __future__ import annotations

import pytest
from conftest import SAMPLES
from facevideo import make_face_clip

from tests.test_web_browser import screenshot
from tests.webkit import LiveServer, WatcherThread, add_account, drop, make_web, pending

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WIDTHS = (1280, 400)


@pytest.fixture()
def site(data_dir, models_dir):
    web, app = make_web(data_dir)
    with WatcherThread(web), LiveServer(app) as server:
        yield web, server


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_every_review_side_page_at_desk_and_phone_width(site, page, tmp_path):
    web, server = site
    drop(web, SAMPLES / "group_photo.jpg", "grupp.jpg")
    clip = tmp_path / "scen.mp4"
    make_face_clip(clip, n=30)
    drop(web, clip, "scen.mp4")
    items = pending(web, 2)
    photo = next(i for i in items if i.kind == "photo")
    video = next(i for i in items if i.kind == "video")
    pages = {"queue": "/review", "photo": f"/review/{photo.id}",
             "video": f"/review/{video.id}", "upload": "/upload", "status": "/status",
             "missing": "/review/424242"}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            response = page.goto(server.url + path)
            assert response.status < 500, (name, response.status)
            assert page.locator("header.top nav").count() == 1, name      # the menu
            if name == "photo":
                page.wait_for_function("document.getElementById('picture').complete")
            assert fits(page), f"{name} scrolls sideways at {width} px"
            screenshot(page, f"{name}-{width}.png", tmp_path)
    # the error page says what to do next
    page.goto(server.url + "/review/424242")
    assert page.locator("main a[href='/review']").count() >= 1


def test_login_page_at_phone_width(data_dir, models_dir, page, tmp_path):
    web, app = make_web(data_dir, lan=True)
    add_account(data_dir, "kim", "staff")
    with LiveServer(app) as server:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(server.url + "/review")
            assert page.url.endswith("/login?next=/review")
            assert fits(page)
            screenshot(page, f"login-{width}.png", tmp_path)
