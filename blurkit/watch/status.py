"""What `blurkit status` shows about a watch folder (read while the watcher runs)."""

from __future__ import annotations

from pathlib import Path

from blurkit import i18n
from blurkit.i18n import t as T
from blurkit.watch.config import STATE_DIRS
from blurkit.watch.journal import JOURNAL_DB, Journal
from blurkit.watch.locks import FileLock


def known_watches(data_dir: Path) -> list[Path]:
    root = Path(data_dir) / STATE_DIRS
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if (d / JOURNAL_DB).is_file())


def watch_status(state_dir: Path, n_errors: int = 5, lang: str | None = None) -> dict:
    """What `blurkit status` shows about one inbox (read while the watcher runs), its
    reasons in `lang` (default: the run's language)."""
    holder = FileLock.holder(state_dir / "watch.lock")
    j = Journal.open_existing(state_dir / JOURNAL_DB)
    if j is None:
        return {"state_dir": str(state_dir), "running": holder is not None}
    try:
        rt = j.runtime()
        counts = j.counts()
        oldest = j.oldest_waiting()
        current = j.current()
        failed = j.last_failed(n_errors)
        lang = lang or i18n.language()
        out = {
            "state_dir": str(state_dir),
            "inbox": j.inbox,
            "running": holder is not None,
            "pid": int(holder.split()[0]) if holder and holder.split()[0].isdigit() else None,
            "runtime": rt,
            "counts": counts,
            "oldest_waiting": None if oldest is None else {"name": oldest["rel"],
                                                           "since": oldest["created"]},
            "current": [{"name": r["rel"], "state": r["state"], "since": r["updated"],
                         "attempts": r["attempts"],
                         "progress": rt.get("progress") if r["id"] == rt.get("current_id")
                         and holder is not None else None} for r in current],
            "last_errors": [{"name": r["rel"], "time": r["finished"],
                             "reason": r["reason_sv"] if lang == "sv" else r["reason_en"],
                             "moved_to": r["dest_rel"]} for r in failed],
        }
        if rt.get("paused_key") and holder is not None:
            out["paused"] = T(rt["paused_key"], lang, **(rt.get("paused_params") or {}))
        return out
    finally:
        j.close()
