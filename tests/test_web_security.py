"""The web page's defences at the HTTP level: logins, roles, CSRF, headers, names and ids from
requests, uploads. (The browser tests drive the same app in a real Chromium.)"""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from blurkit.accounts import PAIR_FREE, WEB_DB, Accounts
from blurkit.audit import utc_now
from tests.webkit import add_account, csrf_of, login, make_web

LOCAL = "http://127.0.0.1:8470"


@pytest.fixture()
def local(data_dir):
    web, app = make_web(data_dir)
    with TestClient(app, base_url=LOCAL) as client:
        yield web, client


@pytest.fixture()
def lan(data_dir):
    web, app = make_web(data_dir, lan=True)
    add_account(data_dir, "kim", "staff")
    add_account(data_dir, "rut", "registrar")
    with TestClient(app, base_url="http://blurkit.local:8470") as client:
        yield web, client


PAGES = ["/review", "/upload", "/status", "/status/panel", "/review/1", "/review/1/output",
         "/review/1/original", "/review/1/thumb"]


def test_every_response_carries_a_strict_content_security_policy(local):
    _, client = local
    for path in ["/review", "/upload", "/status", "/static/app.css", "/static/vendor/htmx.min.js",
                 "/nothing-here"]:
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


def test_pages_load_nothing_from_another_origin(local):
    _, client = local
    import re
    for path in ["/review", "/upload", "/status"]:
        html = client.get(path).text
        for url in re.findall(r'(?:src|href|action)="([^"]+)"', html):
            assert url.startswith(("/", "#")) and not url.startswith("//"), (path, url)


def test_loopback_without_accounts_is_the_local_user_with_a_strict_cookie(local):
    _, client = local
    r = client.get("/review")
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Granska före publicering" in r.text            # Swedish first


def test_loopback_refuses_foreign_host_names(local):
    """DNS rebinding: a page elsewhere that points its own name at 127.0.0.1."""
    _, client = local
    r = client.get("/review", headers={"host": "evil.example:8470"})
    assert r.status_code == 421


def test_state_changes_need_the_csrf_token(local):
    _, client = local
    page = client.get("/upload")
    token = csrf_of(page.text)
    assert client.post("/lang", data={"lang": "en", "next": "/review"},
                       follow_redirects=False).status_code == 403
    r = client.post("/lang", data={"lang": "en", "next": "/review", "csrf_token": "x" * 43},
                    follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/lang", data={"lang": "en", "next": "/review", "csrf_token": token},
                    headers={"origin": "http://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/lang", data={"lang": "en", "next": "/review", "csrf_token": token},
                    headers={"origin": "null"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/lang", data={"lang": "en", "next": "/review", "csrf_token": token},
                    headers={"origin": LOCAL}, follow_redirects=False)
    assert r.status_code == 303
    assert "Review before publishing" in client.get("/review").text    # remembered


def test_language_switch_only_returns_to_this_site(local):
    _, client = local
    token = csrf_of(client.get("/upload").text)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = client.post("/lang", data={"lang": "en", "next": target, "csrf_token": token},
                        follow_redirects=False)
        assert r.headers["location"] == "/review", target


def test_lan_mode_has_no_page_without_a_login(lan):
    _, client = lan
    for path in PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    r = client.get("/review", headers={"hx-request": "true"}, follow_redirects=False)
    assert r.status_code == 401
    # a PUT without a session is refused too
    assert client.put("/upload/file?path=a.jpg", content=b"x").status_code in (401, 403)


def test_login_then_pages_and_logout(lan):
    web, client = lan
    r = login(client, "kim")
    assert r.status_code == 303
    assert client.get("/review").status_code == 200
    assert "kim" in client.get("/review").text
    token = csrf_of(client.get("/review").text)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_wrong_password_and_throttling(data_dir):
    """Failures delay the computer they come from, not the account: someone elsewhere on the
    network cannot lock a registrar out by typing wrong passwords for her name."""
    web, app = make_web(data_dir, lan=True)
    add_account(data_dir, "rut", "registrar")
    url = "http://blurkit.local:8470"
    with TestClient(app, base_url=url, client=("10.0.0.66", 40000)) as outsider, \
            TestClient(app, base_url=url, client=("10.0.0.7", 40000)) as rut:
        for _ in range(PAIR_FREE):
            assert login(outsider, "rut", "wrong password!!").status_code == 401
        r = login(outsider, "rut")       # even the right password waits now, from there
        assert r.status_code == 429 and "minut" in r.text
        r = login(rut, "rut")            # from her own computer: in at once
        assert r.status_code == 303
    with Accounts(data_dir) as accounts:     # the delay grows with each further failure
        from blurkit.accounts import FIRST_DELAY

        first = accounts.wait_seconds("rut", "10.0.0.66")
        assert 0 < first <= FIRST_DELAY
        accounts.verify("rut", "wrong again!!", "10.0.0.99")   # another address: its own count
        accounts.conn.execute("INSERT INTO login_failure (key, time) VALUES (?, ?)",
                              ("pair:rut|10.0.0.66", utc_now()))
        assert FIRST_DELAY < accounts.wait_seconds("rut", "10.0.0.66") <= 2 * FIRST_DELAY
        assert accounts.wait_seconds("rut", "10.0.0.7") == 0


def test_staff_may_review_but_not_keep_the_register(lan):
    _, client = lan
    login(client, "kim")
    assert client.get("/review").status_code == 200
    r = client.get("/people")
    assert r.status_code in (403, 404)
    if r.status_code == 403:
        assert "registratorer" in r.text


def test_ids_that_are_paths_are_not_found(local):
    _, client = local
    for path in ["/review/..%2F..%2Fetc%2Fpasswd", "/review/../../etc/passwd/output",
                 "/review/1%2F..%2F2/original", "/review/abc", "/review/99999",
                 "/review/99999/original", "/static/../app.py", "/static/%2e%2e/app.py"]:
        r = client.get(path)
        assert r.status_code == 404, path
        assert "root:" not in r.text and "import" not in r.text


def test_passwords_are_stored_as_argon2id_hashes(data_dir):
    add_account(data_dir, "kim", "staff", "a secret of kim")
    raw = (data_dir / WEB_DB).read_bytes()
    assert b"a secret of kim" not in raw
    with sqlite3.connect(data_dir / WEB_DB) as db:
        (h,) = db.execute("SELECT pw_hash FROM account").fetchone()
    assert h.startswith("$argon2id$")


def test_idle_sessions_end(lan, data_dir):
    _, client = lan
    login(client, "kim")
    assert client.get("/review", follow_redirects=False).status_code == 200
    with sqlite3.connect(data_dir / WEB_DB) as db:
        db.execute("UPDATE session SET seen = '2000-01-01T00:00:00.000000Z'")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_first_account_ends_the_local_user(local, data_dir):
    _, client = local
    assert client.get("/review").status_code == 200
    add_account(data_dir, "kim", "admin")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_upload_streams_into_the_inbox_with_clean_names(local):
    web, client = local
    token = csrf_of(client.get("/upload").text)
    body = b"\xff\xd8" + b"x" * (3 << 20)
    r = client.put("/upload/file?path=trip/day%201/IMG_1.jpg", content=body,
                   headers={"x-csrf-token": token})
    assert r.status_code == 200, r.text
    dest = web.watch.inbox / "trip" / "day 1" / "IMG_1.jpg"
    assert dest.read_bytes() == body
    r = client.put("/upload/file?path=trip/day%201/IMG_1.jpg", content=b"other",
                   headers={"x-csrf-token": token})
    assert r.json()["name"] == "trip/day 1/IMG_1 (2).jpg"          # never overwritten
    assert dest.read_bytes() == body
    for bad in ("../outside.jpg", "/etc/x.jpg", ".hidden.jpg", "a/../../b.jpg", "", "a\x00b.jpg"):
        r = client.put("/upload/file", params={"path": bad}, content=b"x",
                       headers={"x-csrf-token": token})
        assert r.status_code == 400, bad
    assert not (web.watch.inbox.parent / "outside.jpg").exists()
    leftovers = [p for p in web.watch.inbox.rglob("*") if p.name.endswith(".part")]
    assert leftovers == []
    # a folder in the inbox that links elsewhere is never written through
    outside = web.watch.inbox.parent / "elsewhere"
    outside.mkdir()
    (web.watch.inbox / "link").symlink_to(outside, target_is_directory=True)
    r = client.put("/upload/file?path=link/x.jpg", content=b"x", headers={"x-csrf-token": token})
    assert r.status_code >= 400 and not list(outside.iterdir())


def test_upload_without_javascript(local):
    web, client = local
    token = csrf_of(client.get("/upload").text)
    r = client.post("/upload", data={"csrf_token": token},
                    files=[("files", ("a.jpg", b"\xff\xd8abc", "image/jpeg")),
                           ("files", ("../b.jpg", b"\xff\xd8abc", "image/jpeg"))])
    assert r.status_code == 200
    assert (web.watch.inbox / "a.jpg").read_bytes() == b"\xff\xd8abc"
    assert "det filnamnet kan inte användas" in r.text


def test_serve_on_the_network_needs_accounts(data_dir):
    from blurkit.cli import (
        cli,
        serve,  # noqa: F401  (registers the command)
    )

    r = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--lang", "en", "serve",
                                 "--host", "0.0.0.0", "--port", "8471"])
    assert r.exit_code == 2
    assert "no accounts" in r.output


def test_users_command_adds_lists_and_removes(data_dir):
    from blurkit.cli import (
        cli,
        serve,  # noqa: F401
    )

    runner = CliRunner()
    base = ["--data-dir", str(data_dir), "--lang", "en", "users"]
    r = runner.invoke(cli, base + ["add", "kim", "--role", "staff", "--password-stdin"],
                      input="short\n")
    assert r.exit_code != 0 and "at least" in str(r.exception)   # main() prints it
    r = runner.invoke(cli, base + ["add", "kim", "--role", "staff", "--password-stdin"],
                      input="long enough pw\n")
    assert r.exit_code == 0, r.output
    assert "kim\tstaff" in runner.invoke(cli, base + ["list"]).output
    with Accounts(data_dir) as accounts:
        assert accounts.verify("kim", "long enough pw", "test") is not None
    assert runner.invoke(cli, base + ["remove", "kim"]).exit_code == 0
    with Accounts(data_dir) as accounts:
        assert not accounts.any()
