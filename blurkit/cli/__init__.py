"""The `blurkit` command: click commands only. Each sub-module parses, calls the library, prints.

Help texts and messages follow the language chosen by `BLURKIT_LANG` or the locale;
`--lang` (or `language` in settings.toml) switches the messages of a run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from blurkit import __version__, i18n
from blurkit.config import load_settings
from blurkit.errors import BlurkitError

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


def main() -> None:
    from blurkit.cli import audit, consent, models, process, watch  # noqa: F401  (registers commands)

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
