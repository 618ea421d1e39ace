"""The worker that anonymizes one file at a time: in a separate process (ProcessWorker) so a
decoder crash costs one attempt of one file instead of the watcher, or in this process
(InlineWorker, tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blurkit import i18n
from blurkit.errors import BlurkitError
from blurkit.watch.locks import FileLock


class WorkerStartError(Exception):
    def __init__(self, key: str, en: str, sv: str) -> None:
        super().__init__(en)
        self.key, self.en, self.sv = key, en, sv

    def message(self) -> str:
        return self.sv if i18n.language() == "sv" else self.en


def run_job(worker, job, display: str):
    """worker.process(job) and, for a failure, its reason in Swedish and English with the
    work-area path replaced by the name the file was dropped as."""
    result = worker.process(job)
    if result.ok:
        return result, None
    source = str(job.source)
    params = {k: v.replace(source, display) for k, v in result.error_params.items()}

    def word(lang: str) -> str:
        try:
            return i18n.t(result.error_key, lang, **params)
        except (KeyError, IndexError, ValueError):
            return (result.error or result.error_key or "?").replace(source, display)

    return result, {lang: word(lang) for lang in i18n.LANGUAGES}


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the worker is killed when the watcher dies, even by SIGKILL, so an orphan
    can never write into ready/ behind the back of the next watcher."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(0)


def _load(factory: str) -> Callable:
    import importlib

    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)


def _child_main(conn, options, factory: str, lock_path: str, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl+C is the watcher's to handle
    lock = FileLock(Path(lock_path))
    lock.acquire(timeout=3600)
    lock.write(str(os.getpid()))
    try:
        worker = _load(factory)(options)
    except BlurkitError as exc:
        conn.send(("init_error", exc.key, exc.message("en"), exc.message("sv")))
        return
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        conn.send(("init_error", "watch.paused.models", text, text))
        return
    current: dict[str, Any] = {"id": None, "last": 0.0}
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:
            conn.send(msg)

    def progress(job, phase: str, done: int, total: int) -> None:
        """Long videos report their frames: shown by `blurkit status`, and proof of life."""
        now = time.monotonic()
        if now - current["last"] >= 1.0 or done == total:
            current["last"] = now
            send(("progress", current["id"], phase, done, total))

    if hasattr(worker, "progress"):
        worker.progress = progress
    send(("ready", dict(worker.models)))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        if msg[0] == "snapshot":
            worker.set_snapshot(msg[1])
            send(("models", dict(worker.models)))
        elif msg[0] == "job":
            _, item_id, job, display = msg
            current["id"], current["last"] = item_id, 0.0
            result, reasons = run_job(worker, job, display)
            send(("result", item_id, result, reasons, dict(worker.models)))


class ProcessWorker:
    """The pipeline's Worker in a separate process: models loaded once, a crash in a decoder
    costs one attempt of one file instead of the watcher."""

    def __init__(self, lock_path: Path, factory: str = "blurkit.engine.pipeline:Worker") -> None:
        self.lock_path = Path(lock_path)
        self.factory = factory
        self.proc = None
        self.conn = None
        self.models: dict[str, str] = {}
        self.jobs = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def start(self, options, stop: Callable[[], bool] = lambda: False) -> dict[str, str]:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, name="blurkit-worker", daemon=True,
                                args=(child, options, self.factory, str(self.lock_path),
                                      os.getpid()))
        self.proc.start()
        child.close()
        self.conn, self.jobs = parent, 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not stop():
            if parent.poll(0.5):
                try:
                    msg = parent.recv()
                except (EOFError, OSError):
                    break
                if msg[0] == "ready":
                    self.models = msg[1]
                    return self.models
                self.kill()
                raise WorkerStartError(*msg[1:])
            if not self.proc.is_alive():
                break
        code = self.proc.exitcode if self.proc is not None else None
        self.kill()
        text = f"the worker process did not start (exit code {code})"
        raise WorkerStartError("watch.paused.models", text, text)

    def set_snapshot(self, snapshot) -> None:
        self.conn.send(("snapshot", snapshot))
        while True:  # only sent between jobs: nothing else is in flight
            msg = self.conn.recv()
            if msg[0] == "models":
                self.models = msg[1]
                return

    def submit(self, item_id: int, job, display: str) -> None:
        self.conn.send(("job", item_id, job, display))
        self.jobs += 1

    def poll(self, timeout: float):
        """('result', id, ItemResult, reasons, models), ('progress', id, phase, done, total),
        ('died', reason) or None."""
        try:
            if not self.conn.poll(timeout):
                if self.proc.is_alive():
                    return None
                return ("died", f"exit code {self.proc.exitcode}")
            msg = self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(5)
            code = self.proc.exitcode
            reason = (f"signal {-code}" if code is not None and code < 0
                      else f"exit code {code}")
            return ("died", reason)
        if msg[0] == "result":
            self.models = msg[4]
        return msg

    def stop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.send(("stop",))
        if self.proc is not None:
            self.proc.join(10)
        self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.proc = self.conn = None


class InlineWorker:
    """The same interface, in this process (tests, and debugging)."""

    def __init__(self, factory: Callable) -> None:
        self.factory = factory
        self.worker = None
        self.models: dict[str, str] = {}
        self.jobs = 0
        self._pending = None

    @property
    def alive(self) -> bool:
        return self.worker is not None

    def start(self, options, stop: Callable[[], bool] = lambda: False) -> dict[str, str]:
        try:
            self.worker = self.factory(options)
        except BlurkitError as exc:
            raise WorkerStartError(exc.key, exc.message("en"), exc.message("sv")) from exc
        self.models = dict(self.worker.models)
        self.jobs = 0
        return self.models

    def set_snapshot(self, snapshot) -> None:
        self.worker.set_snapshot(snapshot)
        self.models = dict(self.worker.models)

    def submit(self, item_id: int, job, display: str) -> None:
        result, reasons = run_job(self.worker, job, display)
        self._pending = ("result", item_id, result, reasons, dict(self.worker.models))
        self.jobs += 1

    def poll(self, timeout: float):
        msg, self._pending = self._pending, None
        return msg

    def stop(self) -> None:
        self.worker = None

    kill = stop
