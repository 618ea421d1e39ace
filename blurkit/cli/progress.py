"""A one-line progress display for batches: files done, and for a video its frames, frames
per second and time left. On a terminal the line is redrawn in place; in a log (not a
terminal) a line is printed at most every 30 seconds. Frames redraw the terminal line at most
every 0.1 s: a short clip runs at 150-300 frames per second, and redrawing for each one cost
the encoding thread a write and a flush per frame (and the terminal a redraw)."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from blurkit import i18n


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# the phases of a video (blurkit.engine.videoflow's progress calls)
PHASE_WORDS = {"analyse": "video.phase.analyse", "stream": "video.phase.stream",
               "write": "video.phase.write"}


def frame_rate(phase: str, done: int, total: int, elapsed: float) -> tuple[float, float]:
    """(frames handled per second, share of the clip's work done). A clip decoded once
    ("stream") handles each frame once; decoded twice, it is analysed first and written
    second, and both passes count as frames handled."""
    if phase == "stream":
        return done / elapsed, done / max(total, 1)
    handled = done if phase == "analyse" else total + done
    return handled / elapsed, handled / max(2 * total, 1)


class Progress:
    LOG_EVERY = 30.0
    REDRAW_EVERY = 0.1

    def __init__(self, total: int, stream=None, clock=None) -> None:
        self.clock = clock or time.monotonic
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total, self.done, self.failed = total, 0, 0
        self.video: str | None = None
        self._clip: dict[str, tuple[float, str, int, int]] = {}   # source -> start, phase,
                                                                  # done, total
        self._last_log = self.clock()
        self._last_frames = float("-inf")    # when `frames` last redrew the line
        self._width = 0

    def file_done(self, ok: bool, source: str | None = None) -> None:
        self.done += 1
        self.failed += not ok
        if source is not None:
            self._clip.pop(source, None)
        self.show()

    def frames(self, source: str, phase: str, done: int, total: int) -> None:
        now = self.clock()
        start = self._clip.get(source, (now,))[0]
        self._clip[source] = (start, phase, done, total)
        if self.tty and now - self._last_frames < self.REDRAW_EVERY:
            return                   # the next frame (or file_done) shows the newest count
        self._last_frames = now
        self.show()

    def _line(self) -> str:
        parts = [i18n.t("progress.files", done=self.done, total=self.total, failed=self.failed)]
        for source, (start, phase, done, total) in list(self._clip.items())[-2:]:
            rate, share = frame_rate(phase, done, total, max(self.clock() - start, 1e-6))
            elapsed = max(self.clock() - start, 1e-6)
            eta = elapsed * (1 - share) / share if share > 0 else 0
            parts.append(i18n.t("progress.frames", name=Path(source).name,
                                phase=i18n.t(PHASE_WORDS[phase]),
                                done=done, total=total, fps=rate, eta=_clock(eta)))
        return " | ".join(parts)

    def show(self, force: bool = False) -> None:
        if self.tty:
            line = self._line()[: shutil.get_terminal_size((100, 20)).columns - 1]
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()
        elif force or self.clock() - self._last_log >= self.LOG_EVERY:
            self._last_log = self.clock()
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line (an error) without mangling the progress line."""
        if self.tty:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text + "\n")
        self.stream.flush()
        self.show()

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
