"""`blurkit` imports only the module of the sub-command it runs (start-up time)."""

import importlib
import subprocess
import sys

import pytest

from blurkit.cli import COMMAND_MODULES, cli, command_modules


def test_every_command_is_mapped_to_the_module_that_defines_it():
    for name in set(COMMAND_MODULES.values()):
        importlib.import_module(f"blurkit.cli.{name}")
    assert set(cli.commands) == set(COMMAND_MODULES)
    for command, module in COMMAND_MODULES.items():
        assert cli.commands[command].callback.__module__ == f"blurkit.cli.{module}"


def test_command_modules_reads_the_group_options_first():
    everything = sorted(set(COMMAND_MODULES.values()))
    assert command_modules(["process", "a.jpg", "-o", "out"]) == ["process"]
    assert command_modules(["--data-dir", "process", "process", "x"]) == ["process"]
    assert command_modules(["--lang=sv", "--data-dir=/d", "users", "add"]) == ["serve"]
    assert command_modules(["--lang", "en", "status"]) == ["watch"]
    assert command_modules([]) == everything
    assert command_modules(["--help"]) == everything
    assert command_modules(["bogus"]) == everything
    assert command_modules(["--unknown", "process"]) == everything


def test_a_process_run_does_not_import_the_other_commands(tmp_path):
    code = ("import sys; sys.argv = ['blurkit', 'process', '--help']\n"
            "from blurkit.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('blurkit.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = out.strip().splitlines()[-1]
    assert "blurkit.cli.process" in loaded
    for other in ("consent", "serve", "watch", "audit", "models"):
        assert f"blurkit.cli.{other}'" not in loaded


def test_progress_redraws_a_terminal_line_at_most_every_tenth_of_a_second(monkeypatch):
    import io

    from blurkit.cli import progress as progress_mod
    from blurkit.cli.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    clock = [100.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: clock[0])
    out = Tty()
    p = Progress(1, out)
    for n in range(1, 101):          # 100 frames in 0.25 s
        p.frames("clip.mp4", "stream", n, 100)
        clock[0] += 0.0025
    assert out.getvalue().count("\r") == 3       # at 0, 0.1 and 0.2 s
    assert "1/100" in out.getvalue()
    p.file_done(True, "clip.mp4")                 # the end of a file is always shown
    assert out.getvalue().rstrip().endswith("1/1 files (0 failed)")


@pytest.mark.parametrize("two_pass", [False, True])
def test_the_frame_rate_shown_is_the_frames_handled_per_second(two_pass):
    """Counted, not timed: a clock driven by the test, frames reported as the video flow
    reports them, and the rate on the line is exactly frames handled / seconds (a one-pass
    clip showed twice its real rate: 76 'fps' for 1,722 frames in 42 s)."""
    import io
    import re

    from blurkit.cli.progress import Progress

    clock = [0.0]
    out = io.StringIO()
    p = Progress(1, out, clock=lambda: clock[0])
    total, seconds = 1722, 42.0
    if two_pass:         # analysed, then written: 2 x 1722 frames handled in 42 s
        steps = [("analyse", n) for n in range(1, total + 1)] + \
            [("write", n) for n in range(1, total + 1)]
    else:
        steps = [("stream", n) for n in range(1, total + 1)]
    for phase, n in steps:
        clock[0] += seconds / len(steps)
        p.frames("clip.mp4", phase, n, total)
    line = p._line()
    fps = float(re.search(r"([\d.]+) (?:fps|b/s)", line).group(1))
    assert fps == pytest.approx(len(steps) / seconds, abs=0.1)


def test_the_command_keeps_openblas_to_one_thread_unless_told_otherwise():
    import os

    code = "import os, blurkit.cli; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    run = lambda e: subprocess.run([sys.executable, "-c", code], capture_output=True,  # noqa: E731
                                   text=True, check=True, env=e).stdout.strip()
    assert run(env) == "1"
    assert run({**env, "OPENBLAS_NUM_THREADS": "3"}) == "3"
