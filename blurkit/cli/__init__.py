"""The `blurkit` command: click commands only. Each sub-module parses, calls the library, prints.

Help texts and messages follow `--lang`, `language` in settings.toml, `BLURKIT_LANG` or the
locale, in that order. Help texts are written when the commands are defined (in the language of
the environment); `main` reads the language from the command line first and puts every help
text into it (`retranslate_help`).
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

i18n.register({
    "cli.help": {
        "en": "Anonymize photos and video on this device: hide every face without a valid "
              "consent and strip all metadata.",
        "sv": "Anonymisera foton och video på den här enheten: dölj varje ansikte utan giltigt "
              "samtycke och ta bort all metadata.",
    },
    "cli.opt.data_dir": {
        "en": "Data directory (settings, models, registry). Default: the user data folder, "
              "or BLURKIT_DATA_DIR.",
        "sv": "Datakatalog (inställningar, modeller, register). Standard: användarens "
              "datamapp, eller BLURKIT_DATA_DIR.",
    },
    "cli.opt.lang": {
        "en": "Language of messages: sv or en (default: settings file, BLURKIT_LANG, locale).",
        "sv": "Språk för meddelanden: sv eller en (standard: inställningsfil, BLURKIT_LANG, "
              "locale).",
    },
    "cli.error": {
        "en": "Error: {message}",
        "sv": "Fel: {message}",
    },
})

T = i18n.t


class Context:
    """What every command needs: the settings (which carry the data directory)."""

    def __init__(self, data_dir: Path | None, lang: str | None) -> None:
        self.settings = load_settings(data_dir)
        if lang is None and self.settings.language:
            lang = self.settings.language
        if lang is not None:
            i18n.set_language(lang)


pass_context = click.make_pass_decorator(Context)


@click.group(help=T("cli.help"), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blurkit")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="BLURKIT_DATA_DIR", help=T("cli.opt.data_dir"))
@click.option("--lang", type=click.Choice(i18n.LANGUAGES), default=None, help=T("cli.opt.lang"))
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, lang: str | None) -> None:
    ctx.obj = Context(data_dir, lang)


def early_language(args: list[str]) -> str | None:
    """The language a run asks for before click parses it (so that `--help` can honour it):
    `--lang` among the group options, else `language` in the settings file of the data
    directory named by `--data-dir` / BLURKIT_DATA_DIR (a broken settings file is reported
    later, by the command itself)."""
    options: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-"):
            break                       # the sub-command: its own options follow
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


def retranslate_help(group: click.Command, before: str, after: str) -> None:
    """Replace every help text of `group` and its sub-commands written in `before` by the
    same message in `after` (texts that are not blurkit messages stay as they are)."""
    if before == after:
        return
    keys = {texts[before]: key for key, texts in i18n.catalog().items()}

    def swap(text: str | None) -> str | None:
        key = keys.get(text) if text else None
        return T(key, after) if key else text

    todo = [group]
    while todo:
        cmd = todo.pop()
        cmd.help, cmd.short_help = swap(cmd.help), swap(cmd.short_help)
        for param in cmd.params:
            if isinstance(param, click.Option):
                param.help = swap(param.help)
        todo.extend(getattr(cmd, "commands", {}).values())


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

    for name in command_modules(sys.argv[1:]):
        importlib.import_module(f"blurkit.cli.{name}")     # registers its commands

    written_in = i18n.language()
    lang = early_language(sys.argv[1:])
    if lang is not None:
        i18n.set_language(lang)
        retranslate_help(cli, written_in, lang)
    try:
        # standalone_mode=False returns the exit code of ctx.exit(n) instead of exiting
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BlurkitError as exc:
        click.echo(T("cli.error", message=exc.message()), err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
