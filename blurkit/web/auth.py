"""Log in, log out, and the language switch. The account store (and Argon2's deliberately
slow password check) runs in the thread pool, never on the event loop."""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from blurkit import i18n
from blurkit.accounts import Accounts
from blurkit.web import forms
from blurkit.web.context import LANG_COOKIE, Ctx, client_address, page


def safe_next(target: str | None) -> str:
    """Only a path on this site (never another origin) may follow a login or a switch."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/review"
    return target


def _attempt(ctx: Ctx, name: str, password: str, address: str):
    """('wait', seconds) | ('failed', None) | ('ok', (token, session))."""
    with Accounts(ctx.app.settings.data_dir) as accounts:
        wait = accounts.wait_seconds(name, address)
        if wait > 0:
            return "wait", wait
        account = accounts.verify(name, password, address)
        if account is None:
            return "failed", None
        if ctx.session is not None:
            accounts.end_session(ctx.session.token_hash)
        return "ok", accounts.new_session(account)            # a new id at login


def _pre_login(ctx: Ctx):
    with Accounts(ctx.app.settings.data_dir) as accounts:
        return accounts.new_anonymous()


def _end(ctx: Ctx) -> None:
    with Accounts(ctx.app.settings.data_dir) as accounts:
        accounts.end_session(ctx.session.token_hash)


@page(public=True)
async def login(request: Request, ctx: Ctx) -> Response:
    web = ctx.app
    nxt = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if ctx.logged_in and not ctx.local_user:
            return RedirectResponse(nxt, 303)
        if ctx.session is None:      # a pre-login session carries the form's CSRF token
            ctx.new_token, ctx.session = await run_in_threadpool(_pre_login, ctx)
        return web.render(ctx, "login.html", next=nxt, error=None)
    form = ctx.form
    name = forms.text(form, "name", 64)
    password = str(form.get("password", "")) if form is not None else ""
    outcome, value = await run_in_threadpool(_attempt, ctx, name, password,
                                             client_address(request))
    if outcome == "wait":
        return web.render(ctx, "login.html", status=429, next=nxt,
                          error=ctx.t("web.login.throttled",
                                      minutes=max(1, math.ceil(value / 60))))
    if outcome == "failed":
        return web.render(ctx, "login.html", status=401, next=nxt,
                          error=ctx.t("web.login.failed"))
    ctx.new_token, ctx.session = value
    return RedirectResponse(safe_next(forms.text(form, "next", 500)), 303)


@page(public=True)
async def logout(request: Request, ctx: Ctx) -> Response:
    if ctx.session is not None:
        await run_in_threadpool(_end, ctx)
    ctx.session, ctx.clear_cookie = None, True
    return RedirectResponse("/login", 303)


@page(public=True)
async def set_lang(request: Request, ctx: Ctx) -> Response:
    lang = forms.text(ctx.form, "lang")
    if lang in i18n.LANGUAGES:
        ctx.extra_cookies[LANG_COOKIE] = lang
    return RedirectResponse(safe_next(forms.text(ctx.form, "next", 500)), 303)
