"""Log in, log out, and the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from blurkit import i18n
from blurkit.web.context import LANG_COOKIE, Ctx, client_address, page


def safe_next(target: str | None) -> str:
    """Only a path on this site (never another origin) may follow a login or a switch."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/review"
    return target


@page(public=True)
async def login(request: Request, ctx: Ctx) -> Response:
    web = ctx.app
    nxt = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if ctx.logged_in and not ctx.local_user:
            return RedirectResponse(nxt, 303)
        if ctx.session is None:      # a pre-login session carries the form's CSRF token
            ctx.new_token, ctx.session = ctx.accounts.new_anonymous()
        return web.render(ctx, "login.html", next=nxt, error=None)
    form = await request.form()
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    address = client_address(request)
    if ctx.accounts.throttled(name, address):
        return web.render(ctx, "login.html", status=429, next=nxt,
                          error=ctx.t("web.login.throttled"))
    account = ctx.accounts.verify(name, password, address)
    if account is None:
        return web.render(ctx, "login.html", status=401, next=nxt,
                          error=ctx.t("web.login.failed"))
    if ctx.session is not None:
        ctx.accounts.end_session(ctx.session.token_hash)
    ctx.new_token, ctx.session = ctx.accounts.new_session(account)   # a new id at login
    return RedirectResponse(safe_next(str(form.get("next", ""))), 303)


@page(public=True)
async def logout(request: Request, ctx: Ctx) -> Response:
    if ctx.session is not None:
        ctx.accounts.end_session(ctx.session.token_hash)
    ctx.session, ctx.clear_cookie = None, True
    return RedirectResponse("/login", 303)


@page(public=True)
async def set_lang(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    lang = str(form.get("lang", ""))
    if lang in i18n.LANGUAGES:
        ctx.extra_cookies[LANG_COOKIE] = lang
    return RedirectResponse(safe_next(str(form.get("next", ""))), 303)
