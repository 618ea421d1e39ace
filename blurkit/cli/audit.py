"""`blurkit audit ...`: check, export and search the audit log (diarium)."""

from __future__ import annotations

from pathlib import Path

import click

from blurkit import i18n
from blurkit.audit import AuditLog
from blurkit.cli import Context, cli, pass_context

i18n.register({
    "cli.audit.help": {
        "en": "The audit log (diarium) of everything published and every consent change.",
        "sv": "Granskningsloggen (diariet) över allt som publicerats och varje ändring av "
              "samtycken.",
    },
    "cli.audit.verify.help": {
        "en": "Check that no entry was changed, removed, inserted or reordered. Exit code 0 "
              "only if the log is intact.",
        "sv": "Kontrollera att ingen post har ändrats, tagits bort, lagts in eller flyttats. "
              "Slutkod 0 bara om loggen är intakt.",
    },
    "cli.audit.export.help": {"en": "Write the whole log to a CSV file for the registrar.",
                              "sv": "Skriv hela loggen till en CSV-fil för registratorn."},
    "cli.audit.find.help": {
        "en": "List every output that showed a person (the takedown list after a withdrawal).",
        "sv": "Lista alla utdata som visade en person (listan för att ta ned efter en "
              "återkallelse).",
    },
    "cli.audit.opt.csv": {"en": "The CSV file to write.", "sv": "CSV-filen som ska skrivas."},
    "cli.audit.opt.overwrite": {"en": "Replace the file if it exists.",
                                "sv": "Ersätt filen om den finns."},
    "cli.audit.opt.person": {"en": "Person id (as in `blurkit consent list`).",
                             "sv": "Person-id (som i `blurkit consent list`)."},
    "cli.audit.opt.history": {"en": "Also list the person's consent changes and erasure.",
                              "sv": "Lista även personens samtyckesändringar och radering."},
    "cli.audit.intact": {
        "en": "The audit log is intact: {count} entries. Last hash: {hash}\n"
              "(Note this hash somewhere outside this computer to be able to prove later "
              "that the log was not rewritten.)",
        "sv": "Granskningsloggen är intakt: {count} poster. Senaste kontrollsumma: {hash}\n"
              "(Anteckna kontrollsumman någonstans utanför datorn för att senare kunna visa "
              "att loggen inte skrivits om.)",
    },
    "cli.audit.broken": {
        "en": "The audit log is NOT intact, from entry {seq}: {problem}",
        "sv": "Granskningsloggen är INTE intakt, från post {seq}: {problem}",
    },
    "cli.audit.exists": {"en": "{path} already exists. Use --overwrite to replace it.",
                         "sv": "{path} finns redan. Använd --overwrite för att ersätta den."},
    "cli.audit.exported": {"en": "Exported {count} entries to {path}.",
                           "sv": "Exporterade {count} poster till {path}."},
    "cli.audit.find.entry": {
        "en": "#{seq} {time} {kind}: {output} (purpose {purpose}, consent {consent_id})",
        "sv": "#{seq} {time} {kind}: {output} (syfte {purpose}, samtycke {consent_id})",
    },
    "cli.audit.find.count": {
        "en": "{count} output(s) showed person {person_id}.",
        "sv": "{count} utdata visade person {person_id}.",
    },
    "cli.audit.find.history": {"en": "Consent changes of person {person_id}:",
                               "sv": "Samtyckesändringar för person {person_id}:"},
    "cli.audit.find.change": {"en": "#{seq} {time} {kind} by {operator}: {action}",
                              "sv": "#{seq} {time} {kind} av {operator}: {action}"},
})
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
