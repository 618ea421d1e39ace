"""`blurkit serve` (the staff web page and the watch folder in one service) and `blurkit users`
(accounts for the web page)."""

from __future__ import annotations

import signal
import sys
import threading
import webbrowser
from pathlib import Path

import click

from blurkit import i18n
from blurkit.cli import Context, cli, pass_context
from blurkit.cli.watch import _watch_options, setup_logging

T = i18n.t


@cli.command("serve", help=T("cli.serve.help"))
@click.option("--host", default="127.0.0.1", show_default=True, help=T("cli.serve.opt.host"))
@click.option("--port", type=click.IntRange(1, 65535), default=8470, show_default=True,
              help=T("cli.serve.opt.port"))
@click.option("--open", "open_browser", is_flag=True, help=T("cli.serve.opt.open"))
@click.option("--cert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help=T("cli.serve.opt.cert"))
@click.option("--key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help=T("cli.serve.opt.key"))
@click.option("--no-watch", is_flag=True, help=T("cli.serve.opt.no_watch"))
@_watch_options
@pass_context
def serve(ctx: Context, host, port, open_browser, cert, key, no_watch, **folder_options) -> None:
    import uvicorn

    from blurkit.accounts import Accounts
    from blurkit.web.app import WebApp, create_app

    s = ctx.settings
    if (cert is None) != (key is None):
        raise click.UsageError(T("cli.serve.cert_pair"))
    from blurkit.web.app import is_loopback

    lan = not is_loopback(host)
    with Accounts(s.data_dir) as accounts:
        if lan and not accounts.any():
            click.echo(T("cli.error", message=T("cli.serve.need_accounts", host=host)), err=True)
            sys.exit(2)
    setup_logging(folder_options.get("log_file"))
    watcher, config = _make_watcher(ctx, folder_options)
    web = WebApp(settings=s, watch=config, lan=lan, https=cert is not None, port=port)
    app = create_app(web)
    thread = None
    if not no_watch:
        thread = threading.Thread(target=watcher.run, name="blurkit-watch", daemon=True)
        thread.start()
    scheme = "https" if cert else "http"
    url = f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    click.echo(T("cli.serve.started", url=url))
    if open_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None, log_level="warning", server_header=False,
        proxy_headers=False, access_log=False))
    # uvicorn stops on SIGINT/SIGTERM and then passes the signal on to the handler that was
    # there before it: this one, which stops the watcher cleanly (its item goes back to the
    # queue) instead of the default action, which would end the process at once
    def stop(signum, frame) -> None:
        watcher.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        server.run()
    finally:
        if thread is not None:
            watcher.request_stop()
            thread.join(timeout=60)


def _make_watcher(ctx: Context, o: dict):
    from blurkit.engine.pipeline import watch_options
    from blurkit.watch import Watcher, make_config

    s = ctx.settings
    o = dict(o)
    o.pop("log_file", None)
    inbox, ready = o.pop("inbox"), o.pop("ready")
    originals, failed = o.pop("originals"), o.pop("failed")
    purpose = o.pop("purpose") or s.purpose
    config = make_config(s, inbox, ready, originals, failed, purpose=purpose, **o)
    return Watcher(config, s, watch_options(s, config.purpose)), config


# --------------------------------------------------------------------------- users

@cli.group("users", help=T("cli.users.help"))
def users() -> None:
    pass


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt(T("cli.users.password"), hide_input=True, confirmation_prompt=True)


@users.command("add", help=T("cli.users.add.help"))
@click.argument("name")
@click.option("--role", type=click.Choice(("staff", "registrar", "admin")), required=True,
              help=T("cli.users.opt.role"))
@click.option("--password-stdin", is_flag=True, help=T("cli.users.opt.stdin"))
@pass_context
def users_add(ctx: Context, name: str, role: str, password_stdin: bool) -> None:
    from blurkit.accounts import Accounts

    with Accounts(ctx.settings.data_dir) as accounts:
        accounts.add(name, role, _password(password_stdin))
    click.echo(T("cli.users.added", name=name, role=role))


@users.command("list", help=T("cli.users.list.help"))
@pass_context
def users_list(ctx: Context) -> None:
    from blurkit.accounts import Accounts

    with Accounts(ctx.settings.data_dir) as accounts:
        rows = accounts.list()
    if not rows:
        click.echo(T("cli.users.none"))
    for a in rows:
        click.echo(f"{a.name}\t{a.role}")


@users.command("remove", help=T("cli.users.remove.help"))
@click.argument("name")
@pass_context
def users_remove(ctx: Context, name: str) -> None:
    from blurkit.accounts import Accounts

    with Accounts(ctx.settings.data_dir) as accounts:
        accounts.remove(name)
    click.echo(T("cli.users.removed", name=name))


@users.command("passwd", help=T("cli.users.passwd.help"))
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=T("cli.users.opt.stdin"))
@pass_context
def users_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    from blurkit.accounts import Accounts

    with Accounts(ctx.settings.data_dir) as accounts:
        accounts.set_password(name, _password(password_stdin))
    click.echo(T("cli.users.changed", name=name))
