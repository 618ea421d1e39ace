"""`blurkit audit ...`: check, export and search the audit log (diarium)."""

from __future__ import annotations

from pathlib import Path

import click

from blurkit import i18n
from blurkit.audit import AuditLog
from blurkit.cli import Context, cli, pass_context

T = i18n.t


@cli.group(help=T("cli.audit.help"))
def audit() -> None:
    pass


def _verify_line(log: AuditLog) -> tuple[bool, str]:
    result = log.verify()
    if result.ok:
        return True, T("cli.audit.intact", count=result.entries, hash=result.head_hash)
    return False, T("cli.audit.broken", seq=result.first_bad_id, problem=result.message())


@audit.command("verify", help=T("cli.audit.verify.help"))
@pass_context
@click.pass_context
def verify(click_ctx: click.Context, ctx: Context) -> None:
    with AuditLog.open(ctx.settings) as log:
        ok, line = _verify_line(log)
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
    with AuditLog.open(ctx.settings) as log:
        try:
            count = log.export_csv(dest, overwrite=overwrite)
        except FileExistsError:
            raise click.UsageError(T("cli.audit.exists", path=dest)) from None
        ok, line = _verify_line(log)
    click.echo(T("cli.audit.exported", count=count, path=dest))
    click.echo(line, err=not ok)
    if not ok:
        click_ctx.exit(1)


@audit.command("find", help=T("cli.audit.find.help"))
@click.option("--person", "person_id", required=True, type=int, help=T("cli.audit.opt.person"))
@click.option("--history", is_flag=True, help=T("cli.audit.opt.history"))
@pass_context
def find(ctx: Context, person_id: int, history: bool) -> None:
    with AuditLog.open(ctx.settings) as log:
        shown = log.find_person(person_id)
        changes = log.history(person_id) if history else []
    for e in shown:
        consent_ids = ", ".join(str(s["consent_id"]) for s in e.shown
                                if s["person_id"] == person_id)
        click.echo(T("cli.audit.find.entry", seq=e.seq, time=e.time, kind=e.kind,
                     output=e.output_path, purpose=e.purpose, consent_id=consent_ids))
    click.echo(T("cli.audit.find.count", count=len(shown), person_id=person_id))
    if history:
        click.echo(T("cli.audit.find.history", person_id=person_id))
        for e in changes:
            click.echo("  " + T("cli.audit.find.change", seq=e.seq, time=e.time, kind=e.kind,
                                operator=e.operator, action=(e.details or {}).get("action", "")))
