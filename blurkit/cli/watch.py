"""`blurkit watch`, `blurkit status` and `blurkit service install`: the watch folder."""

from __future__ import annotations

import getpass
import json
import logging
import logging.handlers
import os
import signal
import sys
from pathlib import Path

import click

from blurkit import i18n
from blurkit.cli import Context, cli, pass_context
from blurkit.config import PURPOSES

T = i18n.t


def _folder_option(name: str, key: str):
    return click.option(name, type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=T(key))


def _watch_options(f):
    """Options shared by `watch` and `service install` (which passes them on)."""
    for opt in reversed([
        _folder_option("--inbox", "cli.watch.opt.inbox"),
        _folder_option("--ready", "cli.watch.opt.ready"),
        _folder_option("--originals", "cli.watch.opt.originals"),
        _folder_option("--failed", "cli.watch.opt.failed"),
        click.option("--purpose", type=click.Choice(PURPOSES), default=None,
                     help=T("cli.watch.opt.purpose") + " [settings, public]"),
        click.option("--poll", type=click.FloatRange(min=0.2), is_flag=False, flag_value=10.0,
                     default=None, metavar="[SECONDS]", help=T("cli.watch.opt.poll")),
        click.option("--rescan", type=click.FloatRange(min=1.0), default=60.0,
                     show_default=True, metavar="SECONDS", help=T("cli.watch.opt.rescan")),
        click.option("--settle", type=click.FloatRange(min=0.0), default=5.0,
                     show_default=True, metavar="SECONDS", help=T("cli.watch.opt.settle")),
        click.option("--keep-days", type=click.FloatRange(min=0.0), default=30.0,
                     show_default=True, help=T("cli.watch.opt.keep_days")),
        click.option("--min-free-mb", type=click.IntRange(min=0), default=200,
                     show_default=True, help=T("cli.watch.opt.min_free")),
        click.option("--max-attempts", type=click.IntRange(1, 100), default=3,
                     show_default=True, help=T("cli.watch.opt.max_attempts")),
        click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help=T("cli.watch.opt.log_file")),
        click.option("--review/--no-review", default=None, help=T("cli.watch.opt.review")),
    ]):
        f = opt(f)
    return f


class _JournalFormatter(logging.Formatter):
    """Under systemd: a <priority> prefix journald understands, no time (journald adds it)."""

    def format(self, record: logging.LogRecord) -> str:
        prio = 3 if record.levelno >= logging.ERROR else 4 if record.levelno >= logging.WARNING \
            else 6
        return f"<{prio}>" + super().format(record)


def setup_logging(log_file: Path | None) -> None:
    logger = logging.getLogger("blurkit")
    logger.setLevel(logging.INFO)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    if log_file is not None:
        log_file = Path(log_file).expanduser()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=5 << 20, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
            handler.setFormatter(_JournalFormatter("%(message)s"))
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.propagate = False


@cli.command("watch", help=T("cli.watch.help"))
@_watch_options
@pass_context
def watch(ctx: Context, inbox, ready, originals, failed, purpose, poll, rescan, settle,
          keep_days, min_free_mb, max_attempts, log_file, review) -> None:
    from blurkit.engine.pipeline import watch_options
    from blurkit.watch import Watcher, make_config

    s = ctx.settings
    setup_logging(log_file)
    config = make_config(s, inbox, ready, originals, failed, purpose=purpose or s.purpose,
                         poll=poll, rescan=rescan, settle=settle, keep_days=keep_days,
                         min_free_mb=min_free_mb, max_attempts=max_attempts, review=review)
    watcher = Watcher(config, s, watch_options(s, config.purpose))

    def stop(signum, frame):
        watcher.request_stop()
        if signum == signal.SIGINT:   # a second Ctrl+C interrupts at once
            signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, stop)
    watcher.run()


# --------------------------------------------------------------------------- status

def _short_time(text: str | None) -> str:
    if not text:
        return "-"
    return text.replace("T", " ")[:19]


@cli.command("status", help=T("cli.status.help"))
@click.option("--inbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=T("cli.status.opt.inbox"))
@click.option("--json", "as_json", is_flag=True, help=T("cli.status.opt.json"))
@pass_context
def status(ctx: Context, inbox: Path | None, as_json: bool) -> None:
    from blurkit.usecases.status import overview, problems_text
    from blurkit.watch import known_watches, state_dir_for

    s = ctx.settings
    dirs = [state_dir_for(s.data_dir, inbox)] if inbox is not None else known_watches(s.data_dir)
    data = overview(s, dirs)
    watches, models, registry = data["watches"], data["models"], data["registry"]
    attention = data["attention"]
    if as_json:
        click.echo(json.dumps({"watches": watches, "models": models, "registry": registry},
                              indent=1, ensure_ascii=False, default=str))
    else:
        if not watches:
            click.echo(T("cli.status.none"))
        for w in watches:
            _print_watch(w)
        if models["ok"]:
            click.echo(T("cli.status.models_ok", dir=models["dir"]))
        else:
            click.echo(T("cli.status.models_bad", problems=problems_text(models)))
        if not registry["exists"]:
            click.echo(T("cli.status.registry_none"))
        elif registry["ok"]:
            click.echo(T("cli.status.registry_ok", n=registry["persons"]))
        else:
            click.echo(T("cli.status.registry_bad", reason=registry["reason"]))
    if attention:
        click.get_current_context().exit(1)


def _print_watch(w: dict) -> None:
    rt = w.get("runtime") or {}
    click.echo(T("cli.status.folder", inbox=w.get("inbox") or w["state_dir"]))
    if w.get("running"):
        click.echo(T("cli.status.running", pid=w.get("pid") or "?",
                     since=_short_time(rt.get("started")), mode=rt.get("mode") or "?"))
        if w.get("paused"):
            click.echo("  " + w["paused"])
    else:
        click.echo(T("cli.status.not_running", stopped=_short_time(rt.get("stopped"))))
    if "counts" not in w:
        return
    counts = w["counts"]
    oldest = w.get("oldest_waiting")
    click.echo(T("cli.status.queue", waiting=counts["claimed"] + counts["queued"],
                 oldest=T("cli.status.oldest", name=oldest["name"],
                          since=_short_time(oldest["since"])) if oldest else "",
                 pending=rt.get("inbox_pending") or 0 if w.get("running") else "-"))
    for cur in w.get("current") or []:
        progress = ""
        if cur.get("progress"):
            phase, _, frames = cur["progress"].rpartition(" ")
            done, _, total = frames.partition("/")
            progress = T("cli.status.progress", phase=phase, done=done, total=total)
        click.echo(T("cli.status.processing", name=cur["name"], since=_short_time(cur["since"]),
                     attempts=cur["attempts"], progress=progress))
    click.echo(T("cli.status.totals", **counts))
    if counts.get("review") or counts.get("approved") or counts.get("rejected"):
        click.echo(T("cli.status.review", review=counts.get("review", 0),
                     decided=counts.get("approved", 0) + counts.get("rejected", 0)))
    if rt.get("ready"):
        keep = rt.get("keep_days")
        click.echo(T("cli.status.folders", ready=rt["ready"], originals=rt.get("originals"),
                     failed=rt.get("failed"), keep=f"{keep:g}" if keep is not None else "?"))
    for name, reason in ((rt.get("stuck") or {}).items() if w.get("running") else []):
        click.echo(T("cli.status.stuck", name=name, reason=reason))
    if w.get("last_errors"):
        click.echo(T("cli.status.errors"))
        for e in w["last_errors"]:
            click.echo(f"    {_short_time(e['time'])} {e['reason']}")


# --------------------------------------------------------------------------- service

@cli.group("service", help=T("cli.service.help"))
def service() -> None:
    pass


@service.command("install", help=T("cli.service.install.help"))
@click.option("--user", "scope", flag_value="user", default=True, help="systemd --user")
@click.option("--system", "scope", flag_value="system", help="/etc/systemd/system")
@click.option("--run-as", default=None, help=T("cli.service.opt.run_as"))
@click.option("--web/--no-web", default=True, show_default=True, help=T("cli.service.opt.web"))
@click.option("--host", default=None, help=T("cli.service.opt.host"))
@click.option("--port", type=click.IntRange(1, 65535), default=None, help=T("cli.service.opt.port"))
@click.option("--cert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help=T("cli.serve.opt.cert"))
@click.option("--key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help=T("cli.serve.opt.key"))
@_watch_options
@click.option("--force", is_flag=True, help=T("cli.service.opt.force"))
@click.option("--print", "print_only", is_flag=True, help=T("cli.service.opt.print"))
@pass_context
def service_install(ctx: Context, scope, run_as, web, host, port, cert, key, inbox, ready,
                    originals, failed, purpose, poll, rescan, settle, keep_days, min_free_mb,
                    max_attempts, log_file, review, force, print_only) -> None:
    from blurkit import service as svc
    from blurkit.config import load_settings
    from blurkit.watch import default_folders

    if (cert is None) != (key is None):
        raise click.UsageError(T("cli.serve.cert_pair"))
    if cert is not None and not web:
        raise click.UsageError(T("cli.service.cert_needs_web"))
    user = getpass.getuser()
    settings = ctx.settings
    if scope == "system":
        run_as = run_as or os.environ.get("SUDO_USER") or user
        if run_as == "root":
            raise click.ClickException(T("cli.service.root_user"))
        explicit = click.get_current_context().find_root().params.get("data_dir")
        if explicit is None and run_as != user:   # that user's data folder, not root's
            settings = load_settings(svc.home_of(run_as) / ".local" / "share" / "blurkit")
    else:
        run_as = user
    data_dir = Path(settings.data_dir).resolve()
    folders = default_folders(data_dir)
    chosen = {"inbox": inbox, "ready": ready, "originals": originals, "failed": failed}
    args: list[str] = []
    for name, value in chosen.items():
        if value is not None:
            args += [f"--{name}", str(Path(value).expanduser().resolve())]
    if purpose:
        args += ["--purpose", purpose]
    if poll is not None:
        args += ["--poll", f"{poll:g}"]
    for flag, value, default in (("--rescan", rescan, 60.0), ("--settle", settle, 5.0),
                                 ("--keep-days", keep_days, 30.0),
                                 ("--min-free-mb", min_free_mb, 200),
                                 ("--max-attempts", max_attempts, 3)):
        if value != default:
            args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if log_file is not None:
        args += ["--log-file", str(Path(log_file).expanduser().resolve())]
    if review is not None:
        args += ["--review" if review else "--no-review"]
    if web:
        tls = ["--cert", str(cert.expanduser().resolve()), "--key",
               str(key.expanduser().resolve())] if cert is not None else []
        args = [*(["--host", host] if host else []), *(["--port", str(port)] if port else []),
                *tls, *args]
    env = {"PYTHONUNBUFFERED": "1", "BLURKIT_LANG": i18n.language()}
    if os.environ.get("BLURKIT_MODELS_DIR"):
        env["BLURKIT_MODELS_DIR"] = str(Path(os.environ["BLURKIT_MODELS_DIR"]).resolve())
    resolved = {k: Path(v).expanduser().resolve() if v is not None else folders[k]
                for k, v in chosen.items()}
    text = svc.unit_text(svc.exec_args(data_dir, args, "serve" if web else "watch"), scope,
                         resolved["inbox"], run_as=run_as, env=env,
                         mounts=[data_dir, *resolved.values()], web=web)
    if print_only:
        click.echo(text, nl=False)
        return
    path = (svc.SYSTEM_UNIT_DIR if scope == "system" else svc.user_unit_dir()) / svc.UNIT_NAME
    try:
        svc.install(path, text, force=force)
    except FileExistsError:
        raise click.ClickException(T("cli.service.exists", path=path)) from None
    except PermissionError as exc:
        raise click.ClickException(T("cli.service.denied", path=path,
                                     reason=exc.strerror or exc)) from None
    click.echo(T("cli.service.written", path=path))
    click.echo(T("cli.service.next_system" if scope == "system" else "cli.service.next_user",
                 unit=svc.UNIT_NAME, user=run_as))
