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

i18n.register({
    "cli.watch.help": {
        "en": "Watch a folder: photos and videos dropped into the inbox are anonymized into "
              "ready/ (folders keep their structure); originals are kept in originals/ for "
              "--keep-days days, files that cannot be anonymized go to failed/ with a reason "
              "file. Runs until stopped (Ctrl+C or SIGTERM); safe to stop or cut power at any "
              "moment. Default folders are under DATA_DIR/watch/.",
        "sv": "Bevaka en mapp: foton och videor som läggs i inkorgen anonymiseras till ready/ "
              "(mappar behåller sin struktur); originalen sparas i originals/ i --keep-days "
              "dagar, filer som inte kan anonymiseras hamnar i failed/ med en fil som förklarar "
              "varför. Körs tills den stoppas (Ctrl+C eller SIGTERM); tål att stoppas eller "
              "att strömmen går när som helst. Standardmapparna ligger i DATA_DIR/watch/.",
    },
    "cli.watch.opt.inbox": {"en": "Folder people drop files into.",
                            "sv": "Mappen där man lägger filer."},
    "cli.watch.opt.ready": {"en": "Folder for the anonymized copies.",
                            "sv": "Mappen för de anonymiserade kopiorna."},
    "cli.watch.opt.originals": {"en": "Folder for the originals of published copies.",
                                "sv": "Mappen för originalen till publicerade kopior."},
    "cli.watch.opt.failed": {"en": "Folder for files that could not be anonymized.",
                             "sv": "Mappen för filer som inte kunde anonymiseras."},
    "cli.watch.opt.purpose": {
        "en": "Purpose of the outputs; a face stays visible only with a valid consent for it.",
        "sv": "Utdatans syfte; ett ansikte syns bara med ett giltigt samtycke för det.",
    },
    "cli.watch.opt.poll": {
        "en": "Check the folder every SECONDS (default 10) instead of relying on file events: "
              "for network shares (SMB/NFS), where events do not arrive.",
        "sv": "Gå igenom mappen var SECONDS:e sekund (standard 10) i stället för att lita på "
              "filhändelser: för nätverksresurser (SMB/NFS), där händelser inte kommer fram.",
    },
    "cli.watch.opt.rescan": {
        "en": "With file events: also go through the whole folder every SECONDS, so that "
              "nothing is ever left behind.",
        "sv": "Med filhändelser: gå också igenom hela mappen var SECONDS:e sekund, så att "
              "inget någonsin blir kvar.",
    },
    "cli.watch.opt.settle": {
        "en": "A file is taken once its size and time have not changed for SECONDS (a copy "
              "in progress is left alone).",
        "sv": "En fil tas när dess storlek och tid inte har ändrats på SECONDS sekunder (en "
              "kopiering som pågår lämnas i fred).",
    },
    "cli.watch.opt.keep_days": {
        "en": "Days to keep originals of published copies before deleting them (with an audit "
              "entry); 0 deletes each original as soon as its copy is verified.",
        "sv": "Antal dagar originalen till publicerade kopior sparas innan de raderas (med en "
              "post i granskningsloggen); 0 raderar originalet så fort kopian är kontrollerad.",
    },
    "cli.watch.opt.min_free": {
        "en": "Pause (and resume by itself) when less than this many MB are free.",
        "sv": "Pausa (och fortsätt av sig själv) när mindre än så många MB är lediga.",
    },
    "cli.watch.opt.max_attempts": {
        "en": "A file whose processing is cut short this many times goes to failed/.",
        "sv": "En fil vars behandling avbryts så många gånger hamnar i failed/.",
    },
    "cli.watch.opt.review": {
        "en": "Outputs wait for a person's approval (blurkit serve) before they go to ready/; "
              "--no-review publishes them at once. [setting review, default: on]",
        "sv": "Resultaten väntar på att en person godkänner dem (blurkit serve) innan de "
              "hamnar i ready/; --no-review publicerar dem direkt. [inställningen review, "
              "standard: på]",
    },
    "cli.status.review": {
        "en": "  Waiting for review: {review}; approved or rejected, being finished: {decided}",
        "sv": "  Väntar på granskning: {review}; godkända eller underkända, avslutas: {decided}",
    },
    "cli.watch.opt.log_file": {
        "en": "Write the log to this file (rotated at 5 MB, 5 kept) instead of stderr "
              "(which systemd sends to the journal).",
        "sv": "Skriv loggen till den här filen (roteras vid 5 MB, 5 sparas) i stället för "
              "stderr (som systemd skickar till journalen).",
    },
    "cli.status.help": {
        "en": "Show the watch folder: whether a watcher runs, the queue, the last errors, and "
              "whether the models and the consent registry are in order. Exit status 1 when "
              "something needs attention.",
        "sv": "Visa bevakningsmappen: om bevakningen körs, kön, de senaste felen, och om "
              "modellerna och samtyckesregistret är i ordning. Slutstatus 1 när något behöver "
              "åtgärdas.",
    },
    "cli.status.opt.inbox": {"en": "Only this inbox (default: every inbox used).",
                             "sv": "Bara den här inkorgen (standard: alla som använts)."},
    "cli.status.opt.json": {"en": "Print JSON.", "sv": "Skriv ut JSON."},
    "cli.status.none": {
        "en": "No watch folder has been used yet. Start one with: blurkit watch",
        "sv": "Ingen bevakningsmapp har använts än. Starta en med: blurkit watch",
    },
    "cli.status.folder": {"en": "Watch folder {inbox}", "sv": "Bevakningsmapp {inbox}"},
    "cli.status.running": {"en": "  Watcher: running (process {pid}, since {since}; {mode})",
                           "sv": "  Bevakning: körs (process {pid}, sedan {since}; {mode})"},
    "cli.status.not_running": {"en": "  Watcher: NOT running (last stopped {stopped})",
                               "sv": "  Bevakning: körs INTE (stoppades senast {stopped})"},
    "cli.status.queue": {
        "en": "  Waiting: {waiting}{oldest}; in the inbox, not taken yet: {pending}",
        "sv": "  Väntar: {waiting}{oldest}; i inkorgen, inte tagna än: {pending}",
    },
    "cli.status.oldest": {"en": " (oldest: {name}, since {since})",
                          "sv": " (äldsta: {name}, sedan {since})"},
    "cli.status.processing": {"en": "  Processing: {name} (since {since}, attempt {attempts})"
                                    "{progress}",
                              "sv": "  Behandlas: {name} (sedan {since}, försök {attempts})"
                                    "{progress}"},
    "cli.status.progress": {"en": "; {phase} {done} of {total}",
                            "sv": "; {phase} {done} av {total}"},
    "cli.status.totals": {
        "en": "  Done: {done}; failed: {failed}; duplicates set aside: {duplicate}; rejected in "
              "review: {declined}",
        "sv": "  Klara: {done}; misslyckade: {failed}; dubbletter lagda åt sidan: {duplicate}; "
              "underkända vid granskning: {declined}",
    },
    "cli.status.folders": {"en": "  Ready: {ready}\n  Originals: {originals} (kept {keep} days)"
                                 "\n  Failed: {failed}",
                           "sv": "  Klara: {ready}\n  Original: {originals} (sparas {keep} "
                                 "dagar)\n  Misslyckade: {failed}"},
    "cli.status.stuck": {"en": "  Cannot be taken from the inbox: {name}: {reason}",
                         "sv": "  Kan inte tas från inkorgen: {name}: {reason}"},
    "cli.status.errors": {"en": "  Last errors:", "sv": "  Senaste felen:"},
    "cli.status.models_ok": {"en": "Models: installed and verified ({dir})",
                             "sv": "Modeller: installerade och kontrollerade ({dir})"},
    "cli.status.models_bad": {
        "en": "Models: NOT in order ({problems}). Run: blurkit models fetch",
        "sv": "Modeller: INTE i ordning ({problems}). Kör: blurkit models fetch",
    },
    "cli.status.registry_none": {
        "en": "Consent registry: not created yet (every face is hidden)",
        "sv": "Samtyckesregister: inte skapat än (alla ansikten döljs)",
    },
    "cli.status.registry_ok": {"en": "Consent registry: opens ({n} person(s) registered)",
                               "sv": "Samtyckesregister: går att öppna ({n} person(er) "
                                     "registrerade)"},
    "cli.status.registry_bad": {"en": "Consent registry: CANNOT be read: {reason}",
                                "sv": "Samtyckesregister: KAN INTE läsas: {reason}"},
    "cli.service.help": {"en": "Run the watch folder as a service (systemd).",
                         "sv": "Kör bevakningsmappen som en tjänst (systemd)."},
    "cli.service.install.help": {
        "en": "Write a systemd unit that runs `blurkit watch` with these options, restarts it "
              "if it stops and starts it at boot. --user (default): a user unit for you; "
              "--system: a system unit (run with sudo) running as --run-as.",
        "sv": "Skriv en systemd-enhet som kör `blurkit watch` med de här flaggorna, startar "
              "om den om den stannar och startar den vid uppstart. --user (standard): en "
              "användarenhet för dig; --system: en systemenhet (kör med sudo) som körs som "
              "--run-as.",
    },
    "cli.service.opt.run_as": {"en": "User the system unit runs as (default: the sudo user).",
                               "sv": "Användaren systemenheten körs som (standard: "
                                     "sudo-användaren)."},
    "cli.service.opt.web": {
        "en": "Run the staff web page with the watch folder (blurkit serve); --no-web runs the "
              "watch folder alone (blurkit watch).",
        "sv": "Kör personalens webbsida tillsammans med bevakningsmappen (blurkit serve); "
              "--no-web kör bara bevakningsmappen (blurkit watch).",
    },
    "cli.service.opt.host": {"en": "With --web: the address of the page (see blurkit serve).",
                             "sv": "Med --web: sidans adress (se blurkit serve)."},
    "cli.service.opt.port": {"en": "With --web: the port of the page.",
                             "sv": "Med --web: sidans port."},
    "cli.service.opt.force": {"en": "Replace an existing unit file.",
                              "sv": "Ersätt en befintlig enhetsfil."},
    "cli.service.opt.print": {"en": "Print the unit instead of writing it.",
                              "sv": "Skriv ut enheten i stället för att spara den."},
    "cli.service.exists": {
        "en": "{path} already exists; add --force to replace it.",
        "sv": "{path} finns redan; lägg till --force för att ersätta den.",
    },
    "cli.service.denied": {
        "en": "Cannot write {path} ({reason}). A system unit needs root: run the command with "
              "sudo.",
        "sv": "Kan inte skriva {path} ({reason}). En systemenhet kräver root: kör kommandot "
              "med sudo.",
    },
    "cli.service.root_user": {
        "en": "A system unit should not run as root: name the user with --run-as.",
        "sv": "En systemenhet bör inte köras som root: ange användaren med --run-as.",
    },
    "cli.service.written": {"en": "Wrote {path}.", "sv": "Skrev {path}."},
    "cli.service.next_user": {
        "en": "Start it now and at every boot:\n"
              "  systemctl --user daemon-reload\n"
              "  systemctl --user enable --now {unit}\n"
              "  sudo loginctl enable-linger {user}   # keeps it running with nobody logged in\n"
              "Its log: journalctl --user-unit {unit} -f\n"
              "The queue: blurkit status",
        "sv": "Starta den nu och vid varje uppstart:\n"
              "  systemctl --user daemon-reload\n"
              "  systemctl --user enable --now {unit}\n"
              "  sudo loginctl enable-linger {user}   # så att den körs även när ingen är "
              "inloggad\n"
              "Dess logg: journalctl --user-unit {unit} -f\n"
              "Kön: blurkit status",
    },
    "cli.service.next_system": {
        "en": "Start it now and at every boot:\n"
              "  sudo systemctl daemon-reload\n"
              "  sudo systemctl enable --now {unit}\n"
              "Its log: journalctl -u {unit} -f\n"
              "The queue: sudo -u {user} blurkit status",
        "sv": "Starta den nu och vid varje uppstart:\n"
              "  sudo systemctl daemon-reload\n"
              "  sudo systemctl enable --now {unit}\n"
              "Dess logg: journalctl -u {unit} -f\n"
              "Kön: sudo -u {user} blurkit status",
    },
})
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


def _models_state(models_dir: Path, detector: str) -> dict:
    from blurkit import modelstore
    from blurkit.detect import detector_models

    bad = [f"{spec.file}: {state}"
           for spec, state in modelstore.problems(models_dir, detector_models(detector))]
    return {"dir": str(models_dir), "ok": not bad, "problems": bad}


def _registry_state(settings) -> dict:
    from blurkit.consent.registry import REGISTRY_DB

    if not (Path(settings.data_dir) / REGISTRY_DB).exists():
        return {"exists": False, "ok": True}
    try:
        from blurkit.consent import Registry

        with Registry.open(settings) as reg:
            reg.check_key()
            return {"exists": True, "ok": True, "persons": len(reg.persons())}
    except Exception as exc:   # shown, not raised: status must always answer
        from blurkit.errors import BlurkitError
        reason = exc.message() if isinstance(exc, BlurkitError) else f"{type(exc).__name__}: {exc}"
        return {"exists": True, "ok": False, "reason": reason}


@cli.command("status", help=T("cli.status.help"))
@click.option("--inbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=T("cli.status.opt.inbox"))
@click.option("--json", "as_json", is_flag=True, help=T("cli.status.opt.json"))
@pass_context
def status(ctx: Context, inbox: Path | None, as_json: bool) -> None:
    from blurkit.watch import known_watches, state_dir_for, watch_status

    s = ctx.settings
    if inbox is not None:
        dirs = [state_dir_for(s.data_dir, inbox)]
    else:
        dirs = known_watches(s.data_dir)
    watches = [watch_status(d) for d in dirs]
    # the models the watcher uses (a service may point BLURKIT_MODELS_DIR elsewhere)
    used = [(w.get("runtime") or {}).get("models_dir") for w in watches if w.get("running")]
    models = _models_state(Path(next((m for m in used if m), s.models_dir)), s.detector)
    registry = _registry_state(s)
    attention = (not models["ok"] or not registry["ok"] or not watches
                 or any(not w.get("running") or w.get("paused") for w in watches))
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
            click.echo(T("cli.status.models_bad", problems="; ".join(models["problems"])))
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
@_watch_options
@click.option("--force", is_flag=True, help=T("cli.service.opt.force"))
@click.option("--print", "print_only", is_flag=True, help=T("cli.service.opt.print"))
@pass_context
def service_install(ctx: Context, scope, run_as, web, host, port, inbox, ready, originals,
                    failed, purpose, poll, rescan, settle, keep_days, min_free_mb, max_attempts,
                    log_file, review, force, print_only) -> None:
    from blurkit import service as svc
    from blurkit.config import load_settings
    from blurkit.watch import default_folders

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
        args = [*(["--host", host] if host else []), *(["--port", str(port)] if port else []),
                *args]
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
