"""Helpers for the web page's tests: the app on a real data directory, a live server in a
thread (for the browser), a watcher in a thread, logging in, reading CSRF tokens."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import uvicorn

from blurkit.config import load_settings

CHROMIUM = Path("/usr/lib/chromium/chromium")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def make_web(data_dir: Path, *, lan: bool = False, review: bool = True, settle: float = 0.3,
             **watch_options):
    """(WebApp, Starlette app) on `data_dir`, with the watch folders under it."""
    from blurkit.watch import make_config
    from blurkit.web.app import WebApp, create_app

    settings = load_settings(data_dir)
    config = make_config(settings, review=review, settle=settle, rescan=2.0, **watch_options)
    web = WebApp(settings=settings, watch=config, lan=lan)
    return web, create_app(web)


def add_account(data_dir: Path, name: str, role: str, password: str = "correct horse 42") -> str:
    from blurkit.accounts import Accounts

    with Accounts(data_dir) as accounts:
        accounts.add(name, role, password)
    return password


def login(client, name: str, password: str = "correct horse 42"):
    """Log a TestClient (or httpx client) in; returns the response of the login POST."""
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": "/review"},
                       follow_redirects=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a thread, for a real browser."""

    def __init__(self, app, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class WatcherThread:
    """The real watcher of a WebApp's watch folder, running in a thread as in `blurkit serve`."""

    def __init__(self, web) -> None:
        from blurkit import i18n
        from blurkit.engine.pipeline import Options
        from blurkit.watch import Watcher

        s = web.settings
        options = Options(models_dir=s.models_dir, detector=s.detector,
                          purpose=web.watch.purpose, language=i18n.language())
        self.watcher = Watcher(web.watch, s, options)
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)

    def __enter__(self) -> WatcherThread:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.watcher.request_stop()
        self.thread.join(60)


def wait_for(predicate, timeout: float = 90.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def drop(web, src: Path, name: str) -> None:
    """Put a file into the watch folder's inbox the way a copy program does (complete, then
    renamed into place)."""
    tmp = web.watch.inbox / f".{name}.part"
    shutil.copyfile(src, tmp)
    os.rename(tmp, web.watch.inbox / name)


def pending(web, n: int = 1):
    """The items waiting in review, once there are at least `n`."""
    def ready():
        items = web.review.desk.pending()
        return items if len(items) >= n else None
    return wait_for(ready, what=f"{n} item(s) in review")


def in_ready(web, name: str):
    """The published copy `ready/NAME`, or None (files being staged in ready's hidden work
    folder do not count: the final name appears only when the copy is complete)."""
    path = web.watch.ready / name
    return path if path.is_file() else None
