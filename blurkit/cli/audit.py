"""`blurkit audit ...`: check, export and search the audit log (diarium)."""

from __future__ import annotations

from pathlib import Path

import click

from blurkit import i18n
from blurkit.audit import VerifyResult
from blurkit.cli import Context, cli, pass_context

T = i18n.t


@cli.group(help=T("cli.audit.help"))
def audit() -> None:
    pass


def _verify_line(result: VerifyResult) -> tuple[bool, str]:
    if result.ok:
        return True, T("cli.audit.intact", count=result.entries, hash=result.head_hash)
    return False, T("cli.audit.broken", seq=result.first_bad_id, problem=result.message())


def _when(moment) -> str:
    """A local time with its offset (the diarium's times are shown in local time)."""
    return moment.isoformat(timespec="seconds") if moment is not None else "–"


@audit.command("verify", help=T("cli.audit.verify.help"))
@pass_context
@click.pass_context
def verify(click_ctx: click.Context, ctx: Context) -> None:
    from blurkit.usecases.diarium import DiariumService

    ok, line = _verify_line(DiariumService(ctx.settings).verify())
    click.echo(line, err=not ok)
    if not ok:
        click_ctx.exit(1)


@audit.command("export", help=T("cli.audit.export.help"))
@click.option("--csv", "dest", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help=T("cli.audit.opt.csv"))
@click.option("--overwrite", is_flag=True, help=T("cli.audit.opt.overwrite"))
@pass_context
@click.pass_context
def export(click_ctx: click.Context, ctx: Context, dest: Path, overwrite: bool) -> None:
    """The same CSV as the diarium page's download, byte for byte."""
    from blurkit.usecases.diarium import DiariumService

    try:
        count, result = DiariumService(ctx.settings).export_to(dest, overwrite=overwrite)
    except FileExistsError:
        raise click.UsageError(T("cli.audit.exists", path=dest)) from None
    ok, line = _verify_line(result)
    click.echo(T("cli.audit.exported", count=count, path=dest))
    click.echo(line, err=not ok)
    if not ok:
        click_ctx.exit(1)


@audit.command("find", help=T("cli.audit.find.help"))
@click.option("--person", "person_id", required=True, type=int, help=T("cli.audit.opt.person"))
@click.option("--history", is_flag=True, help=T("cli.audit.opt.history"))
@pass_context
def find(ctx: Context, person_id: int, history: bool) -> None:
    """The takedown list (the consent register's, from the audit log)."""
    from blurkit.usecases.diarium import DiariumService
    from blurkit.usecases.register import history_rows, takedown_rows

    shown = takedown_rows(ctx.settings, person_id)
    for r in shown:
        click.echo(T("cli.audit.find.entry", seq=r.seq, time=_when(r.time), kind=r.kind,
                     output=r.path, purpose=r.purpose,
                     consent_id=", ".join(str(c) for c in r.consent_ids)))
    click.echo(T("cli.audit.find.count", count=len(shown), person_id=person_id))
    if history:
        click.echo(T("cli.audit.find.history", person_id=person_id))
        for e in history_rows(DiariumService(ctx.settings).history(person_id)):
            click.echo("  " + T("cli.audit.find.change", seq=e.seq, time=_when(e.time),
                                kind=e.kind, operator=e.operator, action=e.action or ""))
