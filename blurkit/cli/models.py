"""`blurkit models ...`: install and check the model files."""

from __future__ import annotations

from pathlib import Path

import click

from blurkit import i18n, modelstore
from blurkit.cli import Context, cli, pass_context
from blurkit.usecases.status import MODEL_STATE_WORDS as STATE_WORDS

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
    rows = [(spec, T(STATE_WORDS["optional" if state == "missing" and spec not in bad
                                 else state]))
            for spec, state in states]
    width = max(len(text) for _, text in rows)
    for spec, text in rows:
        click.echo(f"{spec.name:12} {text:{width}} {spec.requirement:32} "
                   f"{spec.file}\n{'':12} {spec.role}; {spec.licence}")
    if bad:
        optional = [spec.name for spec in bad if spec.optional]
        raise click.ClickException(T("cli.models.some_missing",
                                     command=modelstore.fetch_command(models_dir, optional)))
