"""The staff web page: an ASGI app (Starlette, Jinja2 templates, vendored htmx), served by
uvicorn from `blurkit serve`.

A thin shell: each handler parses the request, runs a use case (`blurkit.usecases`) in the
thread pool, and renders the result. Nothing here touches SQLite, moves files or loads a
model. Everything comes from the package (templates, CSS, JavaScript, htmx); nothing is
loaded from another origin, and the Content-Security-Policy says so to the browser
(`default-src 'self'`, no inline script or style). Files are only ever addressed by the
journal's item id; a path never comes from a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from blurkit import __version__
from blurkit.config import Settings
from blurkit.errors import BlurkitError
from blurkit.usecases.diarium import DiariumService
from blurkit.usecases.people import PeopleService
from blurkit.usecases.review import ReviewService
from blurkit.usecases.status import StatusService
from blurkit.usecases.uploads import Uploads
from blurkit.usecases.wording import chosen_face, suggestion_why
from blurkit.watch.config import WatchConfig
from blurkit.web import words
from blurkit.web.context import Ctx, anonymous_ctx, request_lang

log = logging.getLogger("blurkit.web")

HERE = Path(__file__).parent
DEFAULT_PORT = 8470

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
HSTS = "max-age=31536000"        # served over TLS only: browsers then never try plain HTTP


@dataclass
class WebApp:
    """What every page needs: settings, the watch folder it serves, how it is reached, and
    the use cases, built once when the app starts."""
    settings: Settings
    watch: WatchConfig
    lan: bool = False             # reachable from other computers: accounts are required
    https: bool = False
    port: int = DEFAULT_PORT
    env: Environment = field(init=False)
    review: ReviewService = field(init=False)
    people: PeopleService = field(init=False)
    diarium: DiariumService = field(init=False)
    status: StatusService = field(init=False)
    uploads: Uploads = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(("html",)), trim_blocks=True,
                               lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
        self.env.globals["version"] = __version__
        self.env.filters["local"] = local_time
        self.review = ReviewService(self.settings, self.watch)
        self.people = PeopleService(self.settings, self.review)
        self.diarium = DiariumService(self.settings)
        self.status = StatusService(self.settings, self.watch)
        self.uploads = Uploads(self.settings, self.watch)

    @property
    def purpose(self) -> str:
        return self.watch.purpose

    def render(self, ctx: Ctx, template: str, status: int = 200, headers=None,
               **values) -> HTMLResponse:
        # jinja2.ext.i18n's callables (`_`, `gettext`, `ngettext`) come with each render, in
        # the reader's language; the templates use `t(id, **params)`, its same function
        html = self.env.get_template(template).render(
            ctx=ctx, t=ctx.t, _=ctx.t, gettext=ctx.t,
            ngettext=lambda s, p, n, **kw: ctx.t(s if n == 1 else p, n=n, **kw),
            lang=ctx.lang, reason=lambda r: words.reason(r, ctx.lang),
            word=lambda family, code: words.word(family, code, ctx.lang),
            purpose_long=lambda p: words.purpose_long(p, ctx.lang),
            chosen_text=lambda how: ctx.t(chosen_face(how)),
            why=lambda code: suggestion_why(code, ctx.lang),
            timestamp=track_time, clock=clock, similarity=track_vote, **values)
        response = HTMLResponse(html, status_code=status, headers=headers)
        response.headers["cache-control"] = "no-store"
        return response

    def error_page(self, ctx: Ctx, status: int, key: str, **params) -> HTMLResponse:
        return self.render(ctx, "error.html", status=status, message=ctx.t(key, **params),
                           status_code=status)

    def refusal(self, ctx: Ctx, exc: BlurkitError, status: int = 409) -> HTMLResponse:
        return self.render(ctx, "error.html", status=status, message=exc.message(ctx.lang),
                           status_code=status)


def local_time(iso: str | None) -> str:
    """A journal/audit UTC time as this computer's local time, to the minute."""
    if not iso:
        return "–"
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime(
            "%Y-%m-%d %H:%M")
    except ValueError:
        return iso[:16].replace("T", " ")


def clock(seconds: float) -> str:
    """m:ss.s of a moment in a video."""
    return f"{int(seconds) // 60}:{seconds % 60:04.1f}"


def track_time(track: dict, which: str) -> str:
    """m:ss of a video track's first or last frame."""
    seconds = track.get(f"{which}_time")
    if seconds is None:
        return f"#{track.get(which + '_frame', '?')}"
    return clock(seconds)


def track_vote(track: dict, person_id: int) -> float | None:
    """The best similarity a video track's sampled frames had to a person (for the page)."""
    from blurkit.usecases.review import track_similarity

    return track_similarity({"faces": [track]}, track.get("id"), person_id)


def is_loopback(host: str) -> bool:
    """Is `host` this computer: localhost, 127.0.0.0/8 or ::1?"""
    import ipaddress

    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class RowId(Convertor):
    """An item, person or photo id in a path: 1 to 18 digits (a longer number cannot be a
    row id, and would overflow SQLite's integers on the way in)."""
    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", RowId())


class SecurityHeaders:
    """Adds the security headers to every response (HSTS over TLS), and (loopback mode)
    refuses requests whose Host is not this computer: a web page elsewhere cannot rebind a
    name to 127.0.0.1."""

    def __init__(self, app, web: WebApp) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.web.lan:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else \
                host[1:].split("]")[0]
            if not is_loopback(name):
                response = Response("Fel värdnamn / wrong host name", status_code=421,
                                    media_type="text/plain")
                return await response(scope, receive, send)
        extra = dict(SECURITY_HEADERS)
        if self.web.https:
            extra["strict-transport-security"] = HSTS

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in extra]
                headers += [(k.encode(), v.encode()) for k, v in extra.items()]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(web: WebApp) -> Starlette:
    from blurkit.web import auth, diarium, people, review, status, upload

    routes = [
        Route("/", review.home),
        Route("/login", auth.login, methods=["GET", "POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/lang", auth.set_lang, methods=["POST"]),
        Route("/review", review.queue),
        Route("/review/panel", review.queue_panel),
        Route("/review/{item_id:id}", review.item),
        Route("/review/{item_id:id}/output", review.output),
        Route("/review/{item_id:id}/video", review.video),
        Route("/review/{item_id:id}/thumb", review.thumb),
        Route("/review/{item_id:id}/original", review.original),
        Route("/review/{item_id:id}/suggest/{face:id}", review.suggest),
        Route("/review/{item_id:id}/decide", review.decide, methods=["POST"]),
        Route("/review/{item_id:id}/undo", review.undo, methods=["POST"]),
        Route("/review/{item_id:id}/approve", review.approve, methods=["POST"]),
        Route("/review/{item_id:id}/reject", review.reject, methods=["POST"]),
        Route("/review/{item_id:id}/track/{track:id}/thumb", review.track_thumb),
        Route("/review/{item_id:id}/render", review.render_page),
        Route("/review/{item_id:id}/render/panel", review.render_page),
        Route("/upload", upload.upload_page, methods=["GET", "POST"]),
        Route("/upload/file", upload.put_file, methods=["PUT"]),
        Route("/status", status.status_page),
        Route("/status/panel", status.panel),
        # the consent register and the diarium (registrar and admin)
        Route("/people", people.people_list),
        Route("/people/new", people.new_person, methods=["GET", "POST"]),
        Route("/people/new/{draft}", people.draft_page, methods=["GET", "POST"]),
        Route("/people/new/{draft}/cancel", people.draft_cancel, methods=["POST"]),
        Route("/people/new/{draft}/photo/{photo:id}/face/{face:int}", people.draft_photo),
        Route("/people/{person_id:id}", people.person_page),
        Route("/people/{person_id:id}/edit", people.edit_person, methods=["GET", "POST"]),
        Route("/people/{person_id:id}/consent", people.add_consent, methods=["GET", "POST"]),
        Route("/people/{person_id:id}/photos", people.add_photos, methods=["GET", "POST"]),
        Route("/people/{person_id:id}/photo/{photo_id:id}", people.kept_photo),
        Route("/people/{person_id:id}/withdraw", people.withdraw, methods=["GET", "POST"]),
        Route("/people/{person_id:id}/remove", people.remove, methods=["GET", "POST"]),
        Route("/people/{person_id:id}/takedown", people.takedown),
        Route("/diarium", diarium.diarium),
        Route("/diarium/export.csv", diarium.export_csv),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: HTTPException) -> Response:
        ctx = await run_in_threadpool(anonymous_ctx, request, web)
        key = {404: "web.err.not_found", 405: "web.err.method"}.get(exc.status_code,
                                                                   "web.err.generic")
        return ctx.apply(web.error_page(ctx, exc.status_code, key))

    async def server_error(request: Request, exc: Exception) -> Response:
        """The last resort: the page with the menu, saying what to do next (never a bare
        500 text)."""
        log.exception("web page error")
        try:
            ctx = await run_in_threadpool(anonymous_ctx, request, web)
            return web.render(ctx, "error.html", status=500, status_code=500,
                              message=ctx.t("web.err.unexpected"))
        except Exception:
            return HTMLResponse("<!doctype html><title>500</title><p>"
                                + ("Ett oväntat fel inträffade. Gå tillbaka och försök igen."
                                   if request_lang(request) == "sv" else
                                   "An unexpected error occurred. Go back and try again.")
                                + '</p><p><a href="/review">/review</a></p>', status_code=500)

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found,
                                                       500: server_error})
    app.state.web = web
    app.add_middleware(SecurityHeaders, web=web)
    return app
