"""The staff web page: an ASGI app (Starlette, Jinja2 templates, vendored htmx), served by
uvicorn from `blurkit serve`.

Everything comes from the package (templates, CSS, JavaScript, htmx); nothing is loaded from
another origin, and the Content-Security-Policy says so to the browser (`default-src 'self'`,
no inline script or style). Files are only ever addressed by the journal's item id; a path
never comes from a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from blurkit import __version__
from blurkit.config import Settings
from blurkit.identify.enrol import CHOSEN_WORDS
from blurkit.web import words
from blurkit.web.context import Ctx, open_ctx, request_lang

log = logging.getLogger("blurkit.web")

HERE = Path(__file__).parent
DEFAULT_PORT = 8470
LOOPBACK = ("127.0.0.1", "::1", "localhost")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with a
    # form POST, and the CSRF check compares the Origin with this site
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), interest-cohort=()",
}


@dataclass
class WebApp:
    """What every page needs: settings, the watch folder it serves, how it is reached."""
    settings: Settings
    watch: object                 # blurkit.watch WatchConfig (inbox, ready, state_dir, purpose)
    lan: bool = False             # reachable from other computers: accounts are required
    https: bool = False
    port: int = DEFAULT_PORT

    def __post_init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(("html",)), trim_blocks=True,
                               lstrip_blocks=True)
        self.env.globals["version"] = __version__
        self.env.filters["local"] = local_time
        from blurkit.web.previews import Previews
        self.previews = Previews(Path(self.settings.data_dir) / "web-cache")

    @property
    def purpose(self) -> str:
        return self.watch.purpose

    def desk(self):
        """The review desk (one connection for the whole app: the desk serialises its calls
        across the server's threads). `close()` on what this returns is a no-op."""
        if getattr(self, "_desk", None) is None:
            from blurkit.watch.review import ReviewDesk
            self._desk = ReviewDesk(self.watch.state_dir)
        return _Borrowed(self._desk)

    def render(self, ctx: Ctx, template: str, status: int = 200, headers=None, **values) -> HTMLResponse:
        html = self.env.get_template(template).render(
            ctx=ctx, t=ctx.t, lang=ctx.lang, reason=lambda r: words.reason(r, ctx.lang),
            word=lambda family, code: words.word(family, code, ctx.lang),
            purpose_long=lambda p: words.purpose_long(p, ctx.lang),
            chosen_text=lambda how: ctx.t(CHOSEN_WORDS[how]),
            timestamp=track_time, voted=track_vote, **values)
        response = HTMLResponse(html, status_code=status, headers=headers)
        response.headers["cache-control"] = "no-store"
        return response

    def error_page(self, ctx: Ctx, status: int, key: str, **params) -> HTMLResponse:
        return self.render(ctx, "error.html", status=status, message=ctx.t(key, **params),
                           status_code=status)


def local_time(iso: str | None) -> str:
    """A journal/audit UTC time as this computer's local time, to the minute."""
    if not iso:
        return "–"
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime(
            "%Y-%m-%d %H:%M")
    except ValueError:
        return iso[:16].replace("T", " ")


def track_vote(track: dict, person_id: int) -> float | None:
    """The best similarity a video track's sampled frames had to a person (a suggestion)."""
    votes = track.get("votes")
    if not isinstance(votes, list):
        return None
    sims = [v.get("similarity") for v in votes
            if v.get("person_id") == person_id and v.get("similarity") is not None]
    return max(sims) if sims else None


def track_time(track: dict, which: str) -> str:
    """m:ss of a video track's first or last frame."""
    seconds = track.get(f"{which}_time")
    if seconds is None:
        return f"#{track.get(which + '_frame', '?')}"
    return f"{int(seconds) // 60}:{seconds % 60:04.1f}"


class _Borrowed:
    """The shared desk, lent to one request: everything but close()."""

    def __init__(self, desk) -> None:
        self._desk = desk

    def __getattr__(self, name):
        return getattr(self._desk, name)

    def close(self) -> None:
        pass


class SecurityHeaders:
    """Adds the security headers to every response, and (loopback mode) refuses requests whose
    Host is not this computer: a web page elsewhere cannot rebind a name to 127.0.0.1."""

    def __init__(self, app, web: WebApp) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.web.lan:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") else \
                host[1:].split("]")[0]
            if name not in LOOPBACK:
                response = Response("Fel värdnamn / wrong host name", status_code=421,
                                    media_type="text/plain")
                return await response(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in SECURITY_HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(web: WebApp) -> Starlette:
    from blurkit.web import auth, diarium, people, review, status, upload, videoreview

    routes = [
        Route("/", review.home),
        Route("/login", auth.login, methods=["GET", "POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/lang", auth.set_lang, methods=["POST"]),
        Route("/review", review.queue),
        Route("/review/{item_id:int}", review.item),
        Route("/review/{item_id:int}/output", review.output),
        Route("/review/{item_id:int}/video", review.video),
        Route("/review/{item_id:int}/thumb", review.thumb),
        Route("/review/{item_id:int}/original", review.original),
        Route("/review/{item_id:int}/suggest/{face:int}", review.suggest),
        Route("/review/{item_id:int}/decide", review.decide, methods=["POST"]),
        Route("/review/{item_id:int}/undo", review.undo, methods=["POST"]),
        Route("/review/{item_id:int}/approve", review.approve, methods=["POST"]),
        Route("/review/{item_id:int}/reject", review.reject, methods=["POST"]),
        Route("/review/{item_id:int}/track", videoreview.decide, methods=["POST"]),
        Route("/review/{item_id:int}/track-undo", videoreview.undo, methods=["POST"]),
        Route("/review/{item_id:int}/track/{track:int}/thumb", videoreview.track_thumb),
        Route("/review/{item_id:int}/render", videoreview.render_page),
        Route("/review/{item_id:int}/render/panel", videoreview.render_page),
        Route("/upload", upload.upload_page, methods=["GET", "POST"]),
        Route("/upload/file", upload.put_file, methods=["PUT"]),
        Route("/status", status.status_page),
        Route("/status/panel", status.panel),
        # the consent register and the diarium (registrar and admin; blurkit.web.people,
        # blurkit.web.diarium)
        Route("/people", people.people_list),
        Route("/people/new", people.new_person, methods=["GET", "POST"]),
        Route("/people/new/{draft}", people.draft_page, methods=["GET", "POST"]),
        Route("/people/new/{draft}/cancel", people.draft_cancel, methods=["POST"]),
        Route("/people/new/{draft}/photo/{photo:int}/face/{face:int}", people.draft_photo),
        Route("/people/{person_id:int}", people.person_page),
        Route("/people/{person_id:int}/edit", people.edit_person, methods=["GET", "POST"]),
        Route("/people/{person_id:int}/consent", people.add_consent, methods=["GET", "POST"]),
        Route("/people/{person_id:int}/photos", people.add_photos, methods=["GET", "POST"]),
        Route("/people/{person_id:int}/photo/{photo_id:int}", people.kept_photo),
        Route("/people/{person_id:int}/withdraw", people.withdraw, methods=["GET", "POST"]),
        Route("/people/{person_id:int}/remove", people.remove, methods=["GET", "POST"]),
        Route("/people/{person_id:int}/takedown", people.takedown),
        Route("/diarium", diarium.diarium),
        Route("/diarium/export.csv", diarium.export_csv),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: HTTPException) -> Response:
        ctx = open_ctx(request, web)
        try:
            key = {404: "web.err.not_found", 405: "web.err.method"}.get(exc.status_code,
                                                                       "web.err.generic")
            return ctx.apply(web.error_page(ctx, exc.status_code, key))
        finally:
            ctx.accounts.close()

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web page error")
        return HTMLResponse(f"<!doctype html><title>500</title><p>"
                            f"{'Ett oväntat fel inträffade.' if request_lang(request) == 'sv' else 'An unexpected error occurred.'}"
                            f"</p>", status_code=500)

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found,
                                                       500: server_error})
    app.state.web = web
    app.add_middleware(SecurityHeaders, web=web)
    return app
