"""Where a watch folder's files live (WatchConfig) and how the folders are chosen and checked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blurkit.config import Settings
from blurkit.errors import BlurkitError

STATE_DIRS = "watch-state"


@dataclass(frozen=True)
class WatchConfig:
    inbox: Path
    ready: Path
    originals: Path
    failed: Path
    state_dir: Path
    purpose: str = "public"
    poll: float | None = None       # seconds between scans; None: file events (+ rescan)
    rescan: float = 60.0            # event mode: full scan as a safety net
    settle: float = 5.0             # size and mtime unchanged this long before a file is taken
    keep_days: float = 30.0         # originals of published copies; 0 = delete once verified
    min_free_mb: int = 200          # pause when less is free where outputs are written
    max_attempts: int = 3           # processing runs cut short before a file goes to failed/
    recycle_after: int = 500        # restart the worker process after so many files
    tick: float = 0.5
    review: bool = False            # outputs wait in the review area for a person's approval
    time_limit: float = 900.0       # seconds a file may go without progress (+ 30 s per MB):
                                    # then it goes to failed/ with its reason, not retried

    @property
    def empty_settle(self) -> float:
        """An empty file is often a copy that has not started writing yet: wait longer."""
        return self.settle * 4


def default_folders(data_dir: Path) -> dict[str, Path]:
    root = Path(data_dir) / "watch"
    return {name: root / name for name in ("inbox", "ready", "originals", "failed")}


def state_dir_for(data_dir: Path, inbox: Path) -> Path:
    resolved = str(Path(inbox).expanduser().resolve())
    key = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    return Path(data_dir) / STATE_DIRS / f"inbox-{key}"


def make_config(settings: Settings, inbox: Path | None = None, ready: Path | None = None,
                originals: Path | None = None, failed: Path | None = None,
                review: bool | None = None, **options: Any) -> WatchConfig:
    """Folders resolved (defaults under the data directory) and checked: all different, none
    inside another. Folders are created; a named folder's parent must exist. `review`
    defaults to the setting."""
    defaults = default_folders(settings.data_dir)
    given = {"inbox": inbox, "ready": ready, "originals": originals, "failed": failed}
    folders: dict[str, Path] = {}
    for name, path in given.items():
        if path is None:
            path = defaults[name]
            path.mkdir(parents=True, exist_ok=True)
        else:
            path = Path(path).expanduser()
            if not path.is_dir():
                if not path.parent.is_dir():
                    raise BlurkitError("watch.no_parent", path=path)
                path.mkdir(exist_ok=True)
        folders[name] = path.resolve()
    data = Path(settings.data_dir).expanduser().resolve()
    if folders["inbox"] == data or folders["inbox"] in data.parents:
        raise BlurkitError("watch.bad_folders", a=folders["inbox"], b=data)
    names = list(folders)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pa, pb = folders[a], folders[b]
            if pa == pb or pa in pb.parents or pb in pa.parents:
                raise BlurkitError("watch.bad_folders", a=pa, b=pb)
    return WatchConfig(state_dir=state_dir_for(settings.data_dir, folders["inbox"]),
                       review=settings.review if review is None else bool(review),
                       **folders, **options)
