"""Who is asking, in which language, and may they: the per-request context of every page.

`page(permission)` wraps an endpoint: it finds the session (cookie), sends people who must
log in to the login page, answers 403 with a clear page when the role lacks the permission,
and refuses a state-changing request (anything but GET/HEAD) without the session's CSRF token
(form field `csrf_token` or header `X-CSRF-Token`) or from another origin (scheme, host and
port compared). The account store is read in the thread pool, never on the event loop.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from blurkit import i18n
from blurkit.accounts import PERMISSIONS, Account, Accounts, Session
from blurkit.web.forms import FORM_LIMIT, BadForm, TooLarge, read_form

if TYPE_CHECKING:
    from blurkit.web.app import WebApp

SESSION_COOKIE = "blurkit_session"
LANG_COOKIE = "blurkit_lang"
DEFAULT_LANG = "sv"
SAFE_METHODS = ("GET", "HEAD")


@dataclass
class Ctx:
    request: Request
    app: WebApp
    lang: str
    session: Session | None = None
    form: FormData | None = None      # a POSTed form, read within its size limit
    new_token: str | None = None      # a session cookie to set on the response
    clear_cookie: bool = False
    extra_cookies: dict[str, str] = field(default_factory=dict)

    # who ---------------------------------------------------------------------------------
    @property
    def account(self) -> Account | None:
        return self.session.account if self.session else None

    @property
    def local_user(self) -> bool:
        """The person at the computer, with no accounts defined (loopback only)."""
        return (self.session is not None and self.session.account is None
                and not self.session.pre_login)

    @property
    def logged_in(self) -> bool:
        return self.session is not None and not self.session.pre_login

    @property
    def user_name(self) -> str:
        if self.account is not None:
            return self.account.name
        return self.app.settings.operator

    @property
    def role(self) -> str | None:
        if self.account is not None:
            return self.account.role
        return "admin" if self.local_user else None

    def may(self, permission: str) -> bool:
        return self.role is not None and permission in PERMISSIONS[self.role]

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""

    @property
    def owner(self) -> str:
        """Whose drafts and notices these are: the session's, never another's."""
        return self.session.token_hash if self.session else ""

    # words -------------------------------------------------------------------------------
    def t(self, key: str, **params: object) -> str:
        return i18n.t(key, self.lang, **params)

    def apply(self, response: Response) -> Response:
        secure = self.app.https
        if self.new_token:
            response.set_cookie(SESSION_COOKIE, self.new_token, httponly=True, samesite="strict",
                                secure=secure, path="/")
        elif self.clear_cookie:
            response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                                   secure=secure)
        for name, value in self.extra_cookies.items():
            response.set_cookie(name, value, max_age=365 * 24 * 3600, httponly=True,
                                samesite="strict", secure=secure, path="/")
        return response


def request_lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in i18n.LANGUAGES else DEFAULT_LANG


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def open_ctx(request: Request, app: WebApp) -> Ctx:
    """The request's context (blocks: reads the account store)."""
    ctx = Ctx(request=request, app=app, lang=request_lang(request))
    with Accounts(app.settings.data_dir) as accounts:
        ctx.session = accounts.session(request.cookies.get(SESSION_COOKIE))
        has_accounts = accounts.any()
        if ctx.local_user and (has_accounts or app.lan):
            # a local-user session from before the first account was made: no longer enough
            accounts.end_session(ctx.session.token_hash)
            ctx.session = None
            ctx.clear_cookie = True
        if (ctx.session is None or ctx.session.pre_login) and not has_accounts \
                and not app.lan:
            ctx.new_token, ctx.session = accounts.new_session(None)
    return ctx


def anonymous_ctx(request: Request, app: WebApp) -> Ctx:
    """A context for an error page: the session if there is one, nothing created."""
    ctx = Ctx(request=request, app=app, lang=request_lang(request))
    try:
        with Accounts(app.settings.data_dir) as accounts:
            ctx.session = accounts.session(request.cookies.get(SESSION_COOKIE))
    except Exception:          # an error page must not fail on the account store
        ctx.session = None
    return ctx


def same_origin(request: Request, https: bool) -> bool:
    """A browser names the page's origin on every cross-site POST; refuse a foreign one
    (scheme, host and port must all be this site's)."""
    origin = request.headers.get("origin")
    if origin == "null":                 # an opaque origin (sandboxed frame, data: page)
        return False
    if origin is None:
        origin = request.headers.get("referer")
        if origin is None:
            return True                  # a client that sends neither (curl): the token decides
    parts = urlsplit(origin)
    return (parts.scheme == ("https" if https else "http")
            and parts.netloc == request.headers.get("host", ""))


def csrf_ok(request: Request, ctx: Ctx) -> bool:
    if ctx.session is None or not same_origin(request, ctx.app.https):
        return False
    token = request.headers.get("x-csrf-token")
    if token is None and ctx.form is not None:
        token = ctx.form.get("csrf_token")
    return isinstance(token, str) and hmac.compare_digest(token, ctx.session.csrf)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


Endpoint = Callable[[Request, Ctx], Awaitable[Response]]


def page(permission: str | None = "review", *, public: bool = False,
         max_body: int = FORM_LIMIT, max_files: int = 0):
    """Wrap an endpoint `fn(request, ctx)` with login, role and CSRF checks. A posted form is
    read into `ctx.form` within `max_body` bytes and `max_files` files (checked while it
    streams in); anything larger is refused before it is read."""

    def wrap(fn: Endpoint):
        async def endpoint(request: Request) -> Response:
            app = request.app.state.web
            ctx = await run_in_threadpool(open_ctx, request, app)
            if not public:
                if not ctx.logged_in:
                    if request.method in SAFE_METHODS and not request.headers.get("hx-request"):
                        target = quote(request.url.path, safe="/")
                        return ctx.apply(RedirectResponse(f"/login?next={target}", 303))
                    return ctx.apply(app.error_page(ctx, 401, "web.err.login_needed"))
                if permission is not None and not ctx.may(permission):
                    return ctx.apply(app.error_page(ctx, 403, "web.err.forbidden"))
            if request.method not in SAFE_METHODS:
                kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if kind in FORM_TYPES and (ctx.logged_in or public):
                    try:
                        ctx.form = await read_form(request, max_body, max_files)
                    except TooLarge as exc:
                        return ctx.apply(app.error_page(ctx, 413, "web.err.too_large",
                                                        mb=max(1, exc.limit >> 20)))
                    except BadForm:
                        return ctx.apply(app.error_page(ctx, 400, "web.err.bad_form"))
                if not csrf_ok(request, ctx):
                    return ctx.apply(app.error_page(ctx, 403, "web.err.csrf"))
            return ctx.apply(await fn(request, ctx))

        endpoint.__name__ = fn.__name__
        endpoint.__doc__ = fn.__doc__
        return endpoint

    return wrap
