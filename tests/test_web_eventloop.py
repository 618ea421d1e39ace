"""Nothing blocks the web server's event loop: a request held inside slow work (Argon2's
password check, a use case reading SQLite or rendering a photo) does not hold up another
request. Checked by order, not by time: the slow work waits until the other request has
been answered; if it ran on the event loop, that answer could never come."""

from __future__ import annotations

import threading

import httpx2 as httpx
import pytest

from blurkit.accounts import Accounts
from blurkit.usecases.review import ReviewService
from tests.webkit import LiveServer, add_account, csrf_of, make_web

pytestmark = pytest.mark.slow


def _held(monkeypatch, cls, name):
    """Make `cls.name` wait (in whatever thread runs it) until released."""
    entered, release = threading.Event(), threading.Event()
    real = getattr(cls, name)

    def held(self, *args, **kwargs):
        entered.set()
        assert release.wait(60), "never released"
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, held)
    return entered, release


def _answered_while_held(server, entered, release, slow_request) -> None:
    results = {}
    worker = threading.Thread(target=lambda: results.setdefault("slow", slow_request()))
    worker.start()
    try:
        assert entered.wait(30), "the slow request never reached the slow work"
        r = httpx.get(server.url + "/static/app.css", timeout=20)
        assert r.status_code == 200
        r = httpx.get(server.url + "/login", timeout=20)
        assert r.status_code == 200
        assert not release.is_set() and worker.is_alive()     # still inside the slow work
    finally:
        release.set()
        worker.join(60)
    assert results["slow"].status_code in (200, 303, 401)


def test_a_login_inside_argon2_does_not_hold_other_requests(data_dir, monkeypatch):
    web, app = make_web(data_dir, lan=True)
    add_account(data_dir, "kim", "staff")
    entered, release = _held(monkeypatch, Accounts, "verify")
    with LiveServer(app) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            token = csrf_of(client.get("/login").text)

            def slow():
                return client.post("/login", data={"name": "kim", "password": "correct horse 42",
                                                   "csrf_token": token})
            _answered_while_held(server, entered, release, slow)


def test_a_review_use_case_runs_off_the_event_loop(data_dir, monkeypatch):
    web, app = make_web(data_dir)
    entered, release = _held(monkeypatch, ReviewService, "queue")
    with LiveServer(app) as server:
        _answered_while_held(server, entered, release,
                             lambda: httpx.get(server.url + "/review", timeout=60))
