"""How things stand: the watch folders (queue, what is being processed and how far, files
that failed and why), free disk, the models, the consent registry. One answer for
`blurkit status` and the status page."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Disk:
    label: str               # inbox | ready
    path: str
    free_mb: int | None
    total_mb: int | None


# a model file's state (blurkit.modelstore.status) in words
MODEL_STATE_WORDS = {"ok": "cli.models.state.ok", "missing": "cli.models.state.missing",
                     "bad hash": "cli.models.state.bad",
                     "optional": "cli.models.state.optional"}


def models_state(models_dir: Path, detector: str) -> dict:
    """`problems`: [{"file", "state"}] of the models the detector setting needs."""
    from blurkit import modelstore
    from blurkit.detect import detector_models

    bad = [{"file": spec.file, "state": state}
           for spec, state in modelstore.problems(models_dir, detector_models(detector))]
    return {"dir": str(models_dir), "ok": not bad, "problems": bad}


def problems_text(models: dict, lang: str | None = None) -> str:
    from blurkit import i18n

    return "; ".join(f"{p['file']}: {i18n.t(MODEL_STATE_WORDS[p['state']], lang)}"
                     for p in models["problems"])


def registry_state(settings) -> dict:
    from blurkit.consent.registry import REGISTRY_DB
    from blurkit.errors import BlurkitError

    if not (Path(settings.data_dir) / REGISTRY_DB).exists():
        return {"exists": False, "ok": True}
    try:
        from blurkit.consent import Registry

        with Registry.open(settings) as reg:
            reg.check_key()
            return {"exists": True, "ok": True, "persons": len(reg.persons())}
    except Exception as exc:   # shown, not raised: status must always answer
        reason = exc.message() if isinstance(exc, BlurkitError) else f"{type(exc).__name__}: {exc}"
        return {"exists": True, "ok": False, "reason": reason}


def disks(folders: dict[str, Path]) -> list[Disk]:
    out = []
    for label, folder in folders.items():
        try:
            du = shutil.disk_usage(folder)
            out.append(Disk(label, str(folder), du.free >> 20, du.total >> 20))
        except OSError:
            out.append(Disk(label, str(folder), None, None))
    return out


def progress_of(watch: dict) -> dict | None:
    """The file being processed and how far it got ("phase done/total" in the journal)."""
    for cur in watch.get("current", []):
        if cur.get("progress"):
            phase, _, frac = cur["progress"].partition(" ")
            done, _, total = frac.partition("/")
            if done.isdigit() and total.isdigit() and int(total) > 0:
                return {"name": cur["name"], "phase": phase, "done": int(done),
                        "total": int(total)}
    return None


def overview(settings, state_dirs: list[Path], lang: str | None = None,
             n_errors: int = 5) -> dict:
    """Everything `blurkit status` reports; `attention` says whether something needs a
    person (no watch folder, one not running or paused, models or registry unusable)."""
    from blurkit.watch import watch_status

    watches = [watch_status(d, n_errors=n_errors, lang=lang) for d in state_dirs]
    # the models the watcher uses (a service may point BLURKIT_MODELS_DIR elsewhere)
    used = [(w.get("runtime") or {}).get("models_dir") for w in watches if w.get("running")]
    models = models_state(Path(next((m for m in used if m), settings.models_dir)),
                          settings.detector)
    registry = registry_state(settings)
    # a fresh install (no watch folder used yet) needs nothing from anyone
    attention = (not models["ok"] or not registry["ok"]
                 or any(not w.get("running") or w.get("paused") for w in watches))
    return {"watches": watches, "models": models, "registry": registry,
            "attention": attention}


class StatusService:
    """The status page's data for the watch folder it serves."""

    def __init__(self, settings, watch) -> None:
        self.settings = settings
        self.watch = watch

    def page(self, lang: str) -> dict:
        data = overview(self.settings, [Path(self.watch.state_dir)], lang, n_errors=20)
        st = data["watches"][0]
        return {"st": st, "disks": disks({"inbox": self.watch.inbox,
                                          "ready": self.watch.ready}),
                "models": data["models"], "models_problems": problems_text(data["models"], lang),
                "registry": data["registry"], "progress": progress_of(st)}
