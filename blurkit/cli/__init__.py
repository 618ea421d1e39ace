"""The `blurkit` command: click commands only. Each sub-module parses, calls the library, prints.

Help texts and messages follow `--lang`, `language` in settings.toml, `BLURKIT_LANG` or the
locale, in that order. Help texts are written when the commands are defined, so `main` reads
the language from the command line first, then imports the command that was asked for; Click's
own words come from the same catalogues (`i18n.use_for_click`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# numpy's OpenBLAS starts a thread pool when numpy is imported (~50 ms of CPU at every start
# here); blurkit's own matrix work is a few small products (face templates), which OpenBLAS
# runs on one thread anyway. Set before anything imports numpy; the environment still wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from blurkit import __version__, i18n  # noqa: E402
from blurkit.config import load_settings  # noqa: E402
from blurkit.errors import BlurkitError  # noqa: E402

T = i18n.t


class Context:
    """What every command needs: the settings (which carry the data directory)."""

    def __init__(self, data_dir: Path | None, lang: str | None) -> None:
        self.lang = lang
        self.use_data_dir(data_dir)

    def use_data_dir(self, data_dir: Path | None) -> None:
        self.settings = load_settings(data_dir)
        lang = self.lang
        if lang is None and self.settings.language:
            lang = self.settings.language
        if lang is not None:
            i18n.set_language(lang)


pass_context = click.make_pass_decorator(Context)


# The commands by task, for `blurkit --help` (Click would list them alphabetically).
TASKS = (("cli.task.daily", ("process", "serve", "status")),
         ("cli.task.register", ("consent", "audit")),
         ("cli.task.setup", ("models", "service", "users", "watch")))


class TaskGroup(click.Group):
    """Lists its commands by task, each with the whole first sentence of its help."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = set()
        for title, names in TASKS:
            rows = [(name, _first_sentence(self.commands[name]))
                    for name in names if name in self.commands]
            listed.update(name for name, _ in rows)
            if rows:
                with formatter.section(T(title)):
                    formatter.write_dl(rows)
        rest = [(n, _first_sentence(c)) for n, c in sorted(self.commands.items())
                if n not in listed]
        if rest:
            with formatter.section(T("cli.task.other")):
                formatter.write_dl(rest)


def _first_sentence(cmd: click.Command) -> str:
    text = " ".join((cmd.short_help or cmd.help or "").split())
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")


@click.group(cls=TaskGroup, help=T("cli.help"),
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blurkit")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="BLURKIT_DATA_DIR", help=T("cli.opt.data_dir"))
@click.option("--lang", type=click.Choice(i18n.LANGUAGES), default=None, help=T("cli.opt.lang"))
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, lang: str | None) -> None:
    ctx.obj = Context(data_dir, lang)


def _word_group(group: click.Group) -> None:
    """The group's own help texts, in the language chosen (the group is defined at import,
    before `main` knows the language), and the usage line's "[OPTIONS]" of every command."""
    group.help = T("cli.help")
    group.subcommand_metavar = T("cli.metavar.command")
    for param in group.params:
        if isinstance(param, click.Option) and param.name in GROUP_OPTION_HELP:
            param.help = T(GROUP_OPTION_HELP[param.name])
        if param.name == "data_dir":
            param.metavar = T("cli.metavar.folder")
        if param.name == "version":          # Click worded it when blurkit.cli was imported
            param.help = click.core._("Show the version and exit.")
    todo: list[tuple[str, click.Command]] = [("", group)]
    while todo:                        # "[OPTIONS]" in every usage line
        path, cmd = todo.pop()
        cmd.options_metavar = T("cli.options_metavar")
        if cmd is not group and not isinstance(cmd, click.Group):
            _add_common_options(cmd)
        if path in EXAMPLES:           # a few examples under each command's help
            cmd.epilog = T("cli.examples") + "\n\n\b\n" + T(EXAMPLES[path])
        todo.extend(((f"{path} {name}".strip(), sub)
                     for name, sub in getattr(cmd, "commands", {}).items()))


def _set_lang(ctx: click.Context, param, value) -> None:
    if value is not None:
        i18n.set_language(value)


def _set_data_dir(ctx: click.Context, param, value) -> None:
    if value is not None:
        ctx.find_object(Context).use_data_dir(value)


def _add_common_options(cmd: click.Command) -> None:
    """`--lang` and `--data-dir` work after the command too (`blurkit process ... --lang sv`),
    as they do before it."""
    if any(p.name in ("lang_here", "data_dir_here") for p in cmd.params):
        return
    cmd.params.append(click.Option(["--lang", "lang_here"], type=click.Choice(i18n.LANGUAGES),
                                   default=None, expose_value=False, is_eager=True,
                                   callback=_set_lang, help=T("cli.opt.lang")))
    cmd.params.append(click.Option(["--data-dir", "data_dir_here"], metavar=T("cli.metavar.folder"),
                                   type=click.Path(file_okay=False, path_type=Path),
                                   default=None, expose_value=False, is_eager=True,
                                   callback=_set_data_dir, help=T("cli.opt.data_dir")))


GROUP_OPTION_HELP = {"data_dir": "cli.opt.data_dir", "lang": "cli.opt.lang"}
EXAMPLES = {
    "process": "cli.examples.process", "serve": "cli.examples.serve",
    "status": "cli.examples.status", "watch": "cli.examples.watch",
    "consent add": "cli.examples.consent.add", "consent list": "cli.examples.consent.list",
    "consent show": "cli.examples.consent.show", "consent edit": "cli.examples.consent.edit",
    "consent withdraw": "cli.examples.consent.withdraw",
    "consent remove": "cli.examples.consent.remove",
    "audit verify": "cli.examples.audit.verify", "audit export": "cli.examples.audit.export",
    "audit find": "cli.examples.audit.find", "models fetch": "cli.examples.models.fetch",
    "models list": "cli.examples.models.list",
    "service install": "cli.examples.service.install", "users add": "cli.examples.users.add",
    "users list": "cli.examples.users.list", "users remove": "cli.examples.users.remove",
    "users passwd": "cli.examples.users.passwd",
}


def early_language(args: list[str]) -> str | None:
    """The language a run asks for before click parses it (so that `--help` can honour it):
    `--lang` before or after the command, else `language` in the settings file of the data
    directory named by `--data-dir` / BLURKIT_DATA_DIR (a broken settings file is reported
    later, by the command itself)."""
    options: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            break                       # what follows is arguments, not options
        name, eq, value = arg.partition("=")
        if name in ("--lang", "--data-dir"):
            options[name] = value if eq else next(rest, "")
    lang = options.get("--lang")
    if lang in i18n.LANGUAGES:
        return lang
    data_dir = options.get("--data-dir") or os.environ.get("BLURKIT_DATA_DIR") or None
    try:
        return load_settings(Path(data_dir) if data_dir else None).language
    except (BlurkitError, OSError):
        return None


# The module that defines each sub-command: a run imports only the one it needs (importing
# them all cost ~15 ms of CPU at every start, e.g. the consent registry's cryptography).
COMMAND_MODULES = {"audit": "audit", "consent": "consent", "models": "models",
                   "process": "process", "serve": "serve", "users": "serve", "watch": "watch",
                   "status": "watch", "service": "watch"}
_GROUP_VALUE_OPTIONS = ("--data-dir", "--lang")
_GROUP_FLAGS = ("--version", "-h", "--help")


def command_modules(args: list[str]) -> list[str]:
    """The cli sub-modules to import for the command line `args`: the one that defines the
    sub-command named, or all of them when none is named (`blurkit --help`), the name is not
    a command, or a group option is not understood here (click then reports it)."""
    rest = iter(args)
    for arg in rest:
        if arg in _GROUP_FLAGS:
            continue
        if arg in _GROUP_VALUE_OPTIONS:
            next(rest, None)
            continue
        if arg.partition("=")[0] in _GROUP_VALUE_OPTIONS and "=" in arg:
            continue
        if arg in COMMAND_MODULES:
            return [COMMAND_MODULES[arg]]
        break
    return sorted(set(COMMAND_MODULES.values()))


def main() -> None:
    import importlib

    # the language first: help texts are written when the commands are defined
    lang = early_language(sys.argv[1:]) or i18n.language()
    i18n.set_language(lang)
    i18n.use_for_click(lang)
    for name in command_modules(sys.argv[1:]):
        importlib.import_module(f"blurkit.cli.{name}")     # registers its commands
    _word_group(cli)
    try:
        # standalone_mode=False returns the exit code of ctx.exit(n) instead of exiting
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(T("cli.aborted"), err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BlurkitError as exc:
        click.echo(T("cli.error", message=exc.message()), err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
