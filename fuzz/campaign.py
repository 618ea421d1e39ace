"""A bounded fuzzing campaign over every target (what scripts/fuzz and CI run).

    .venv/bin/python fuzz/campaign.py [--seconds 30] [--keep DIR] [TARGET ...]

Each target runs under Atheris for --seconds, starting from its kept corpus
(fuzz/corpus/<target>, read only) plus slices of the project's samples made now; new
inputs go to a scratch corpus (--keep DIR keeps it, e.g. to grow the kept one by hand).
Per input: 10 s at most (a hang is a finding) and 2 GB of memory (-rss_limit_mb). A crash,
hang or memory blow-up is copied to fuzz/findings/<target>/ (not committed) for a person to
turn into a regression seed (fuzz/regressions/<target>/) and a fix; the campaign then exits
1. The summary gives per target: executions, exec/s, coverage (libFuzzer's `cov`: covered
edges of blurkit's instrumented bytecode; `ft`: features) and the corpus size.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from targets import TARGETS  # noqa: E402

# the project's samples, sliced for the targets that read their kind (added at run time)
_SAMPLE_SEEDS = {"jpeg": ("*.jpg",), "png": ("*.png",), "webp": ("*.webp",),
                 "tiff": ("*.tif",), "heif": ("*.heic",), "mp4_boxes": ("*.mp4",),
                 "video_probe": ("*.mp4",)}
MAX_LEN = 64 << 10


def _seed_dir(target: str, scratch: Path) -> Path:
    seeds = scratch / "samples"
    seeds.mkdir(parents=True, exist_ok=True)
    for pattern in _SAMPLE_SEEDS.get(target, ()):
        for p in sorted((ROOT / "samples").glob(pattern)):
            data = p.read_bytes()
            (seeds / p.name).write_bytes(data[:MAX_LEN])
    return seeds


def run_target(target: str, seconds: int, scratch: Path, seed: int = 0) -> dict:
    work = scratch / target
    corpus = work / "corpus"
    artifacts = work / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(exist_ok=True)
    dirs = [str(corpus)]
    for d in (HERE / "corpus" / target, HERE / "regressions" / target,
              _seed_dir(target, work)):
        if d.is_dir() and any(d.iterdir()):
            dirs.append(str(d))
    cmd = [sys.executable, str(HERE / "run.py"), target, f"-max_total_time={seconds}",
           "-timeout=10", "-rss_limit_mb=2048", f"-max_len={MAX_LEN}", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/", "-close_fd_mask=1",
           *([f"-seed={seed}"] if seed else []), *dirs]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                          timeout=seconds + 300, cwd=str(work))
    log = proc.stderr
    (work / "log.txt").write_text(log)
    stats = {"target": target, "seconds": round(time.monotonic() - t0, 1),
             "exit": proc.returncode}
    m = re.findall(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", log)
    if m:
        stats.update(execs=int(m[-1][0]), cov=int(m[-1][1]), ft=int(m[-1][2]),
                     corpus=int(m[-1][3]))
    for key in ("number_of_executed_units", "average_exec_per_sec", "peak_rss_mb"):
        m2 = re.search(rf"stat::{key}:\s+(\d+)", log)
        if m2:
            stats[key] = int(m2.group(1))
    found = sorted(artifacts.iterdir())
    stats["findings"] = [p.name for p in found]
    if found or proc.returncode != 0:
        keep = HERE / "findings" / target
        keep.mkdir(parents=True, exist_ok=True)
        for p in found:
            shutil.copy(p, keep / p.name)
        tail = "\n".join(log.splitlines()[-60:])
        stats["log_tail"] = tail
    return stats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("targets", nargs="*", default=list(TARGETS))
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--keep", type=Path, default=None, help="keep the scratch corpora here")
    ap.add_argument("--seed", type=int, default=0,
                    help="libFuzzer's random seed (CI: fixed, so that a run can be repeated; "
                         "0: a new one each run)")
    args = ap.parse_args()
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        ap.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    scratch = Path(tempfile.mkdtemp(prefix="blurkit-fuzz-")) if args.keep is None else args.keep
    t0 = time.monotonic()
    results = []
    try:
        for target in args.targets:
            r = run_target(target, args.seconds, scratch, args.seed)
            results.append(r)
            verdict = ("FINDINGS " + " ".join(r["findings"]) if r["findings"] or r["exit"]
                       else "ok")
            print(f"fuzz {target:<19} {r.get('number_of_executed_units', r.get('execs', 0)):>8} "
                  f"execs  {r.get('average_exec_per_sec', 0):>6}/s  cov {r.get('cov', '?'):>5}  "
                  f"ft {r.get('ft', '?'):>6}  corpus {r.get('corpus', '?'):>5}  "
                  f"rss {r.get('peak_rss_mb', '?')} MB  {r['seconds']} s  "
                  f"{verdict}",
                  flush=True)
            if r.get("log_tail"):
                print(r["log_tail"], flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    bad = [r["target"] for r in results if r["findings"] or r["exit"] != 0]
    total = sum(r.get("number_of_executed_units", 0) for r in results)
    print(f"fuzz: {len(results)} targets, {total} executions in {time.monotonic() - t0:.0f} s; "
          + (f"findings in {', '.join(bad)} (inputs in fuzz/findings/)" if bad else "no findings"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
