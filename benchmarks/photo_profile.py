"""Where the time of `blurkit process DIR -o OUT` goes on photos, stage by stage.

    .venv/bin/python benchmarks/photo_profile.py [--half tune] [--data ../shared/data]
        [--cprofile FILE] [--wall-rounds 1]

The photos are one half of the benchmark split (benchmarks/photosplit.py: the WIDER subset
and the negatives; choices are made on the *tune* half), copied to a temporary folder.

1. CPU per stage: the whole `blurkit process` command (the CLI's own code: settings, plan,
   audit log, the report) runs inside this process, pinned to one core, so that the run is
   single-threaded (one inference thread, as in each worker of a default run) and its CPU
   time is one core's work. Every stage function is wrapped with a CPU-time counter
   (time.process_time; nested stages are counted once, in the innermost one); what no
   stage claims is start-up (imports, settings, models) and the rest. CPU time, not wall
   time: on a shared machine it is far less disturbed by other processes. The network's
   time is also split by kind of pass (finest pyramid level, coarser levels, rotated).
2. The real command as a user runs it (default workers: one process per core), in a child
   process, start-up included: its wall time and its CPU time (the command and its worker
   processes); with `--compare DIR` an older source tree too ("before", e.g. from `git
   archive`), with `--deface` deface as photos.py runs it, in alternating order per round.
   The CPU ratio is much less disturbed by other work on a shared machine than the wall
   ratio, but it flatters blurkit: deface creates its onnxruntime session with the default
   options, whose inference threads spin while they wait, and spinning counts as CPU time.
   The figure to quote is photos.py's wall ratio; the CPU figures say where blurkit stands.

`--cprofile FILE` also writes a cProfile of part 1 (CPU-time clock) for pstats/snakeviz; it
slows pure-Python code (the JSON report, per-face loops) far more than native code, so
quote the table of a run without it.
`--large K` profiles K 12-megapixel mosaics of the half's photos (as photos.py makes them
from the check half) instead of the photos themselves. The machine and its load are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_DATA, ROOT, machine
from photos import load_sets, make_large

# (stage, module, attribute): the functions timed; nested ones are subtracted from callers
STAGES = [
    ("read: decode", "blurkit.engine.pipeline", "read_photo"),
    ("read: hash input / output", "blurkit.engine.pipeline", "sha256_file"),
    ("detect: network (onnxruntime)", "onnxruntime", "InferenceSession.run"),
    ("detect: search (pyramid, tiles, decoding, selection)", "blurkit.detect.search",
     "FaceSearch.detect_with_candidates"),
    ("identify + decide", "blurkit.engine.pipeline", "Worker.decide"),
    ("redact: hide (masks, destroy)", "blurkit.engine.pipeline", "redact"),
    ("redact: keep shown", "blurkit.engine.pipeline", "keep_shown"),
    ("self-check (still_visible)", "blurkit.engine.pipeline", "still_visible"),
    ("write: encode", "blurkit.media.image", "_encode"),
    ("write: verify (re-read, metadata, decode)", "blurkit.media.image", "_verify"),
    ("write: fsync + rename", "blurkit.fsutil", "commit"),
    ("write: rest (array to image, checks)", "blurkit.engine.pipeline", "write_photo"),
    ("audit log append", "blurkit.audit", "AuditLog.append"),
    ("report (JSON)", "blurkit.cli.process", "_write_report"),
]


class StageClock:
    """Exclusive CPU time per stage: a stage's time minus the stages called inside it."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list] = []   # [stage, start, child time]

    def wrap(self, stage: str, fn):
        clock = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            clock._stack.append([stage, time.process_time(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, start, child = clock._stack.pop()
                spent = time.process_time() - start
                clock.totals[name] = clock.totals.get(name, 0.0) + spent - child
                clock.calls[name] = clock.calls.get(name, 0) + 1
                if clock._stack:
                    clock._stack[-1][2] += spent
        return timed

    def install(self) -> None:
        import importlib
        for stage, module, attr in STAGES:
            owner = importlib.import_module(module)
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part)
            setattr(owner, name, self.wrap(stage, getattr(owner, name)))


def half_files(data: Path, which: str, dest: Path, large: int = 0) -> list[Path]:
    """The half's photos (its WIDER images, then its negatives) copied into `dest` under
    photos.py's names, or, with `large`, that many 12-MP mosaics of its WIDER images."""
    faces, negatives = load_sets(data, None)[which]
    dest.mkdir(parents=True)
    if large:
        return sorted(make_large(faces, large, dest))
    out = []
    for i, p in enumerate([*faces, *negatives]):
        out.append(dest / f"{i:04d}_{p.name}")
        shutil.copy(p, out[-1])
    return out


def count_passes() -> dict[str, list[float]]:
    """Network CPU time, passes and input pixels by kind of pass: the pyramid's finest
    level, its coarser levels, the rotated passes (blurkit/detect/search.py)."""
    import onnxruntime

    from blurkit.detect import search

    passes: dict[str, list[float]] = {}
    state: dict[str, object] = {"first": None, "level": None}
    pyramid, tiled, run = (search.FaceSearch.pyramid, search.FaceSearch._tiled,
                           onnxruntime.InferenceSession.run)

    def pyramid_seen(self, rgb):
        levels = pyramid(self, rgb)
        state["first"] = levels[0].shape
        return levels

    def tiled_seen(self, net, floor, level):
        state["level"] = "finest level" if level.shape == state["first"] else "coarser levels"
        try:
            return tiled(self, net, floor, level)
        finally:
            state["level"] = None

    def run_seen(self, names, feed, *args, **kwargs):
        start = time.process_time()
        try:
            return run(self, names, feed, *args, **kwargs)
        finally:
            kind = str(state["level"] or "rotated passes (90 and 270 degrees)")
            row = passes.setdefault(kind, [0.0, 0, 0])
            shape = next(iter(feed.values())).shape
            row[0] += time.process_time() - start
            row[1] += 1
            row[2] += int(shape[-1]) * int(shape[-2])

    search.FaceSearch.pyramid, search.FaceSearch._tiled = pyramid_seen, tiled_seen
    onnxruntime.InferenceSession.run = run_seen
    return passes


def cpu_profile(src: Path, work: Path, cprofile_to: Path | None) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core: one thread
    start = time.process_time()
    from blurkit import cli
    passes = count_passes()
    clock = StageClock()
    clock.install()
    argv = ["blurkit", "--data-dir", str(work / "data-cpu"), "process", str(src),
            "-o", str(work / "out-cpu"), "--report", str(work / "report-cpu.json")]
    profiler = cProfile.Profile(time.process_time) if cprofile_to else None
    saved = sys.argv
    sys.argv = argv
    try:
        if profiler:
            profiler.enable()
        try:
            cli.main()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
    finally:
        sys.argv = saved
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(cprofile_to))
    total = time.process_time() - start
    claimed = sum(clock.totals.values())
    rows = [(s, clock.totals.get(s, 0.0), clock.calls.get(s, 0)) for s, _, _ in STAGES]
    rows.append(("start-up (imports, settings, models) and the rest", total - claimed, 1))
    print(f"\n== CPU time per stage, one core, {len(list(src.iterdir()))} photos "
          f"(`blurkit process`, in-process, single-threaded)")
    print(f"{'stage':56} {'CPU s':>8} {'share':>7} {'calls':>7}")
    for stage, secs, calls in rows:
        print(f"{stage:56} {secs:8.2f} {secs / total * 100:6.1f}% {calls:7d}")
    det = sum(v for k, v in clock.totals.items() if k.startswith("detect:"))
    print(f"{'total':56} {total:8.2f} {100:6.1f}%")
    print(f"detector (network + search): {det / total * 100:.1f}%; everything else: "
          f"{(total - det) / total * 100:.1f}%")
    print("\n-- the detector network by kind of pass (padded network input)")
    print(f"{'pass':40} {'CPU s':>8} {'share':>7} {'passes':>7} {'Mpx in':>8} {'us/px':>6}")
    for kind, (secs, n, px) in sorted(passes.items()):
        print(f"{kind:40} {secs:8.2f} {secs / total * 100:6.1f}% {n:7d} {px / 1e6:8.1f} "
              f"{secs / max(px, 1) * 1e6:6.3f}")


def timed(cmd: list[str], **kwargs) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and every process it
    waited for: blurkit's workers) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run_tool(tool: str, src: Path, work: Path, compare: Path | None) -> tuple[float, float, dict]:
    if tool == "deface":
        from common import deface_bin
        wall, cpu = timed([str(deface_bin()), *sorted(str(p) for p in src.iterdir())])
        return wall, cpu, {}
    code = compare if tool == "before" else ROOT
    report = work / "report.json"
    cmd = [sys.executable, "-m", "blurkit", "--data-dir", str(work / "data"), "process",
           str(src), "-o", str(work / "out"), "--report", str(report)]
    wall, cpu = timed(cmd, cwd=code, env={**os.environ, "PYTHONPATH": str(code)})
    return wall, cpu, json.loads(report.read_text())


def wall_rounds(files: list[Path], tmp: Path, rounds: int, compare: Path | None,
                deface: bool) -> None:
    tools = ["blurkit"] + (["before"] if compare else []) + (["deface"] if deface else [])
    totals = {tool: [0.0, 0.0] for tool in tools}
    for rnd in range(rounds):
        for tool in (tools if rnd % 2 == 0 else tools[::-1]):
            work = tmp / f"wall-{tool}-{rnd}"
            (work / "in").mkdir(parents=True)
            for f in files:
                shutil.copy(f, work / "in" / f.name)
            wall, cpu, report = run_tool(tool, work / "in", work, compare)
            totals[tool][0] += wall
            totals[tool][1] += cpu
            line = (f"  round {rnd + 1} {tool:8}: {len(files)} photos, wall {wall:6.2f} s, "
                    f"CPU {cpu:6.2f} s (load average now {os.getloadavg()[0]:.2f})")
            if report:
                sums: dict[str, float] = {}
                for f in report["files"]:
                    for k, v in f.get("timings", {}).items():
                        sums[k] = sums.get(k, 0.0) + v
                line += ("; per-stage wall summed over workers: "
                         + ", ".join(f"{k} {v:.1f}" for k, v in sums.items()))
            print(line, flush=True)
    print(f"\n== the real command (default workers), {rounds} round(s), start-up included")
    for tool, (wall, cpu) in totals.items():
        print(f"{tool:8} wall {wall:7.2f} s  CPU {cpu:7.2f} s")
    if deface:
        for tool in tools[:-1]:
            print(f"speed ratio {tool}/deface: wall {totals['deface'][0] / totals[tool][0]:.2f}, "
                  f"CPU {totals['deface'][1] / totals[tool][1]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--half", default="tune", choices=("tune", "check"))
    ap.add_argument("--cprofile", type=Path, default=None)
    ap.add_argument("--wall-rounds", type=int, default=1)
    ap.add_argument("--compare", type=Path, default=None,
                    help="also run the blurkit source tree in this folder (label 'before')")
    ap.add_argument("--deface", action="store_true", help="also run deface (photos.py's)")
    ap.add_argument("--no-cpu", action="store_true", help="only the wall-time runs")
    ap.add_argument("--no-wall", action="store_true", help="only the CPU table")
    ap.add_argument("--large", type=int, default=0,
                    help="profile K 12-MP mosaics of the half's photos instead (photos.py)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="blurkit-profile-") as tmp:
        tmp = Path(tmp)
        files = half_files(args.data, args.half, tmp / "in", args.large)
        print(f"{args.half} half: {len(files)} photos")
        if not args.no_wall:
            wall_rounds(files, tmp, args.wall_rounds, args.compare, args.deface)
        if not args.no_cpu:
            cpu_profile(tmp / "in", tmp, args.cprofile)


if __name__ == "__main__":
    main()
