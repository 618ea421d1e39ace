"""`blurkit process INPUT... -o OUTDIR`: anonymize photos (and videos) in batch."""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from blurkit import __version__, i18n
from blurkit.audit import AuditLog
from blurkit.cli import Context, cli, pass_context
from blurkit.cli.progress import Progress
from blurkit.config import DETECTORS, MASKS, MODES, PURPOSES, TEXTS
from blurkit.engine.pipeline import ItemResult, Options, check_folders, default_workers, plan, run
from blurkit.engine.redact import Style
from blurkit.engine.styles.sticker import load_sticker
from blurkit.fsutil import atomic_output, cleanup_partials
from blurkit.signals import TERMINATED_STATUS, Terminated, terminate_as_interrupt

T = i18n.t
SKIPPED_NAMED = 10      # files that were not media, named in the summary (then "and N more")


def _default(setting: str) -> str:
    """What an option takes when it is not given: the setting's default, unless
    settings.toml says otherwise."""
    import dataclasses

    from blurkit.config import Settings

    field = next(f for f in dataclasses.fields(Settings) if f.name == setting)
    return T("cli.default_setting", value=field.default, setting=setting)


def _snapshot(settings):
    """The consent registry as of today, or None when no registry exists yet."""
    from blurkit.consent import Registry
    from blurkit.consent.registry import REGISTRY_DB

    if not (Path(settings.data_dir) / REGISTRY_DB).exists():
        return None
    with Registry.open(settings) as reg:
        return reg.snapshot()


@cli.command("process", help=T("cli.process.help"))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True,
              type=click.Path(file_okay=False, path_type=Path), help=T("cli.process.opt.output"))
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help=T("cli.process.opt.report"))
@click.option("--purpose", type=click.Choice(PURPOSES), default=None,
              show_default=_default("purpose"), help=T("cli.process.opt.purpose"))
@click.option("--detector", type=click.Choice(DETECTORS), default=None,
              show_default=_default("detector"), help=T("cli.process.opt.detector"))
@click.option("--mode", type=click.Choice(MODES), default=None, show_default=_default("mode"),
              help=T("cli.process.opt.mode"))
@click.option("--mask", type=click.Choice(MASKS), default=None, show_default=_default("mask"),
              help=T("cli.process.opt.mask"))
@click.option("--margin", type=click.FloatRange(0.0, 2.0), default=None,
              metavar=T("cli.metavar.number"),
              show_default=_default("margin"), help=T("cli.process.opt.margin"))
@click.option("--sticker", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help=T("cli.process.opt.sticker"))
@click.option("--text", type=click.Choice(TEXTS), default=None, show_default=_default("text"),
              help=T("cli.process.opt.text"))
@click.option("--workers", type=click.IntRange(0, 256), default=None,
              metavar=T("cli.metavar.count"),
              show_default=_default("workers"), help=T("cli.process.opt.workers"))
@click.option("--jpeg-quality", type=click.IntRange(50, 100), default=None,
              metavar="50-100",
              show_default=_default("jpeg_quality"), help=T("cli.process.opt.quality"))
@pass_context
def process(ctx: Context, inputs, outdir, report, purpose, detector, mode, mask, margin, sticker,
            text, workers, jpeg_quality) -> None:
    s = ctx.settings
    if sticker is not None:
        if (mode or "sticker") != "sticker":
            raise click.UsageError(i18n.t("cli.process.sticker_mode", mode=mode))
        mode = "sticker"
        load_sticker(str(sticker.resolve()))   # a clear error now, not one per photo
    options = Options(
        models_dir=s.models_dir,
        detector=detector or s.detector,
        style=Style(mode=mode or s.mode, mask=mask or s.mask,
                    margin=s.margin if margin is None else margin,
                    sticker=None if sticker is None else str(sticker.resolve())),
        jpeg_quality=jpeg_quality or s.jpeg_quality,
        purpose=purpose or s.purpose,
        snapshot=_snapshot(s),
        language=i18n.language(),
        text=text or s.text,
    )
    # fail early, before any work: models that are not installed, an output folder among
    # the inputs, a folder or report that cannot be written
    from blurkit import modelstore
    from blurkit.detect import detector_models
    for name in detector_models(options.detector) + (
            [] if options.text == "off" else ["ppocr_det", "ppocr_rec"]):
        modelstore.model_path(options.models_dir, name)
    check_folders(inputs, outdir, report)

    started = time.time()
    if outdir.is_dir():
        # what a run killed by SIGKILL or a power cut left (blurkit's own `.part` names that
        # no live writer holds: a second run into the same folder is not disturbed)
        cleanup_partials(outdir)
    the_plan = plan(inputs, outdir)
    total = len(the_plan.jobs) + len(the_plan.errors)
    if total == 0:
        raise click.ClickException(T("cli.process.nothing"))
    results: list[ItemResult] = []
    audit = AuditLog.open(s)
    progress = Progress(total, sys.stderr)
    for failed in the_plan.errors:
        audit.append({"kind": failed.kind, "status": "failed", "purpose": options.purpose,
                      "input_path": failed.source, "reason": failed.error_key})
        progress.message(T("cli.process.failed_line", message=failed.error))
        progress.file_done(False)
        results.append(failed)

    def on_result(result: ItemResult) -> None:
        if not result.ok:
            progress.message(T("cli.process.failed_line", message=result.error))
        progress.file_done(result.ok, result.source)

    try:
        # SIGTERM (a plain `kill`, systemd) cleans up as Ctrl-C does: no `.part` is left
        with terminate_as_interrupt():
            results += run(the_plan.jobs, options,
                           workers=s.workers if workers is None else workers,
                           on_result=on_result, audit=audit, on_progress=progress.frames)
    except (KeyboardInterrupt, Terminated) as exc:
        progress.close()
        audit.close()
        done = progress.done - progress.failed
        click.echo(T("cli.process.interrupted", done=done, total=total, outdir=outdir,
                     left=total - progress.done), err=True)
        sys.exit(TERMINATED_STATUS if isinstance(exc, Terminated) else 130)
    finally:
        progress.close()
    audit.close()
    seconds = time.time() - started

    ok = [r for r in results if r.ok]
    click.echo(T("cli.process.summary", ok=len(ok), total=total, outdir=outdir,
                 faces=sum(r.people_counts()[0] for r in ok),
                 areas=sum(r.people_counts()[1] for r in ok), shown=sum(len(r.shown) for r in ok),
                 seconds=seconds, errors=total - len(ok)))
    held_back = _held_back(ok)
    if held_back:
        from blurkit.identify.suggest import held_back_text
        click.echo(held_back_text(held_back))
    if the_plan.skipped:
        names = ", ".join(str(p) for p in the_plan.skipped[:SKIPPED_NAMED])
        more = len(the_plan.skipped) - SKIPPED_NAMED
        click.echo(T("cli.process.skipped", n=len(the_plan.skipped), names=names)
                   + (" " + T("cli.process.skipped_more", n=more) if more > 0 else ""))
    if report is not None:
        _write_report(report, results, the_plan.skipped, options, started, seconds)
        click.echo(T("cli.process.report", path=report))
    if len(ok) != total:
        ctx_exit = click.get_current_context()
        ctx_exit.exit(1)


def _write_report(path: Path, results: list[ItemResult], skipped: list[Path], options: Options,
                  started: float, seconds: float) -> None:
    ok = [r for r in results if r.ok]
    data = {
        "blurkit": __version__,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "machine": {"platform": platform.platform(), "cpu": platform.machine(),
                    "cores": default_workers()},
        "purpose": options.purpose,
        "detector": options.detector,
        "text": options.text,
        "style": {"mode": options.style.mode, "mask": options.style.mask,
                  "margin": options.style.margin, "sticker": options.style.sticker},
        "summary": {"files": len(results), "ok": len(ok), "errors": len(results) - len(ok),
                    "skipped": len(skipped), "faces": sum(len(r.faces) for r in ok),
                    "hidden": sum(r.hidden for r in ok),
                    "hidden_areas": sum(r.people_counts()[1] for r in ok),
                    "shown": sum(len(r.shown) for r in ok),
                    "suggestions": _held_back(ok),
                    "text_hidden": sum(1 for r in ok for t in r.text
                                       if t.get("action") == "hidden")},
        "files": [r.to_dict() for r in sorted(results, key=lambda r: r.source)],
        "skipped": [str(p) for p in skipped],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(report_json(data), encoding="utf-8")


def _held_back(results: list[ItemResult]) -> int:
    """Faces (photo faces, video tracks) hidden in the doubtful band with a suggestion
    (blurkit.identify.suggest)."""
    return sum(1 for r in results for f in r.faces
               if f.get("action") == "hidden" and f.get("suggestion"))


def report_json(data: dict) -> str:
    """`data` as JSON with one line per top-level key and one line per file.

    json's `indent` makes every value its own line and switches to the pure-Python encoder:
    for a batch of crowd photos (thousands of faces with landmarks) that was ~4x the time
    of the compact C encoder, spent after every photo is done. Same content either way."""
    def dumps(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            inner = ",\n  ".join(dumps(item) for item in value)
            lines.append(f" {dumps(key)}: [\n  {inner}\n ]")
        else:
            lines.append(f" {dumps(key)}: {dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
