"""systemd unit for the watch folder (`blurkit service install`).

A user unit (default) runs as the person who installs it, from their session manager; on a
Raspberry Pi it keeps running without anyone logged in once "lingering" is enabled
(`loginctl enable-linger USER`). A system unit runs from boot as a named user. Either way
stdout/stderr go to the journal (or to a rotating file with --log-file), the watcher is
restarted if it ever stops, and a stop only sends SIGTERM to the watcher itself, which stops
its worker and puts the current file back in the queue (KillMode=mixed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from blurkit.fsutil import atomic_output

UNIT_NAME = "blurkit-watch.service"


def user_unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


SYSTEM_UNIT_DIR = Path("/etc/systemd/system")


def quote(arg: str) -> str:
    """One ExecStart word as systemd reads it: specifiers (%) doubled, quoted when needed."""
    arg = str(arg).replace("%", "%%")
    if arg and not any(c in arg for c in ' \t"\'\\;$'):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_args(data_dir: Path, watch_args: list[str], command: str = "watch") -> list[str]:
    """The command the unit runs: this Python (the venv's, with blurkit installed), and
    `watch` (the folder only) or `serve` (the staff web page and the folder)."""
    return [sys.executable, "-m", "blurkit", "--data-dir", str(Path(data_dir).resolve()),
            command, *watch_args]


def home_of(user: str) -> Path:
    import pwd

    return Path(pwd.getpwnam(user).pw_dir)


def unit_text(args: list[str], scope: str, inbox: Path, run_as: str | None = None,
              env: dict[str, str] | None = None, mounts: list[Path] | None = None,
              web: bool = False) -> str:
    what = "staff web page and watch folder" if web else "watch folder"
    lines = [
        "# Written by `blurkit service install`. Edit with care; re-run the command with",
        "# --force to write it again.",
        "[Unit]",
        f"Description=blurkit {what}: anonymize photos and videos dropped into {inbox}",
        "After=local-fs.target",
    ]
    if scope == "system":
        lines.append("After=network-online.target")
        lines.append("Wants=network-online.target")
        if mounts:
            lines.append("RequiresMountsFor=" + " ".join(quote(str(m)) for m in mounts))
    lines += ["", "[Service]", "Type=simple"]
    if scope == "system" and run_as:
        lines.append(f"User={run_as}")
    for key, value in sorted((env or {}).items()):
        lines.append(f"Environment={quote(f'{key}={value}')}")
    lines += [
        "ExecStart=" + " ".join(quote(a) for a in args),
        "Restart=always",
        "RestartSec=10",
        "KillMode=mixed",
        "TimeoutStopSec=60",
        "Nice=10",
        "NoNewPrivileges=yes",
        "",
        "[Install]",
        "WantedBy=" + ("multi-user.target" if scope == "system" else "default.target"),
        "",
    ]
    return "\n".join(lines)


def install(path: Path, text: str, force: bool = False) -> None:
    """Write the unit atomically; an existing one is replaced only with force."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o644)
