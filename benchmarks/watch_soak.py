"""Watch-folder soak benchmark: a real `blurkit watch` killed with SIGKILL at random moments.

    .venv/bin/python benchmarks/watch_soak.py [--items 240] [--kills 6] [--runs 1]
                                              [--modes events,poll] [--seed 1] [--keep DIR]
                                              [--review]

For every mode (file events with a 5-s safety rescan; polling every 0.5 s) and run, a fresh
data directory gets a mixed corpus dropped into its inbox while the watcher runs: small
generated photos (JPEG/PNG/WebP, 48-160 px, the bulk), the project's nine samples, two tiny
clips (H.264 MP4/MOV), junk (text, random bytes, no suffix, fake PDF), corrupt and truncated
photos, zero-byte files, photos copied slowly in chunks, a folder tree with non-ASCII names, a
folder moved in whole, identical files dropped twice under other names, and temporary/system
files (.DS_Store, Thumbs.db, ~$x.docx, x.part, ...) that must be left alone. The watcher is
killed with SIGKILL --kills times (the first during start-up, the others at random moments,
most of them once a few more files are through) and restarted after up to 0.5 s, as systemd
would. Events mode keeps originals (--keep-days 30), polling mode deletes them once the copy
is verified (--keep-days 0).

Then it waits until the inbox is empty and the journal idle, stops the watcher with SIGTERM
and checks everything by content (tests/watch_helpers.verify): every valid input has exactly
one output in ready/ that decodes and has no metadata (find_metadata == []) and exactly one
audit entry; every invalid input is in failed/ with a Swedish+English reason file; every
original is in originals/ (or deleted with a retention-delete audit entry); duplicates are in
originals/duplicates/ with a note; ignored names untouched; no .part files, nothing left in a
work area or in a non-final journal state; the audit log verifies; no worker process outlived
a killed watcher. Exit status 1 on any problem.

Without --review the watcher runs with --no-review (publishing at once, as before the
review stage). With --review a simulated reviewer (tests/watch_helpers.Reviewer) takes the
waiting items through ReviewDesk in small batches, re-renders about one in five (a new
revision), rejects the content of about one valid input in five and approves the rest, while
half of the SIGKILLs wait for a moment when approved/rejected items are being finished; the
check then also requires: no output and one `review.rejected` entry for rejected content,
every published output's entry naming its approval, nothing left in review or in the review
area, exactly one audit entry per finished item.

Results (JSON) go to benchmarks/results/watch_soak-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("BLURKIT_MODELS_DIR", str(ROOT / ".cache" / "models"))

from watch_helpers import soak  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=240, help="items dropped per run (>= 60)")
    ap.add_argument("--kills", type=int, default=6, help="SIGKILLs per run")
    ap.add_argument("--runs", type=int, default=1, help="runs per mode (seed increases)")
    ap.add_argument("--modes", default="events,poll")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--review", action="store_true",
                    help="the review stage on, with a simulated reviewer approving/rejecting "
                         "through ReviewDesk; half the kills while decisions are finished")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep each run's folders under DIR (default: a temporary folder)")
    args = ap.parse_args()
    results = []
    failed = False
    for mode in args.modes.split(","):
        for run in range(args.runs):
            seed = args.seed + run
            if args.keep is not None:
                root = args.keep / f"{mode}-{seed}"
                root.mkdir(parents=True, exist_ok=False)
                ctx = None
            else:
                ctx = tempfile.TemporaryDirectory(prefix=f"watch-soak-{mode}-")
                root = Path(ctx.name)
            try:
                s = soak(root, n_items=args.items, kills=args.kills,
                         poll=0.5 if mode == "poll" else None,
                         keep_days=30 if mode == "events" else 0, seed=seed,
                         log=lambda line: None, review=args.review)
            finally:
                if ctx is not None:
                    ctx.cleanup()
            results.append(s)
            failed |= bool(s["problems"])
            print(f"{mode:6} seed {seed}: {s['items']} items ({s['valid']} valid, "
                  f"{s['invalid']} invalid, {s['either']} clips, {s['ignored']} ignored, "
                  f"{s['duplicates']} duplicates, {s['slow_copies']} slow copies, "
                  f"{s['moved_in']} moved in), {s['kills']} kills / {s['starts']} starts, "
                  f"{s['outputs']} outputs, {s['failed']} in failed/, "
                  f"{s['kept_originals']} originals kept, {s['deleted_originals']} deleted "
                  f"with audit entry, {s['seconds']} s: "
                  + (f"review: {s['approved']} approved, {s['rejected']} rejected, "
                     f"{s['replaced']} re-rendered; " if args.review else "")
                  + ("OK" if not s["problems"] else f"{len(s['problems'])} PROBLEM(S)"),
                  flush=True)
            for p in s["problems"]:
                print("    " + p)
            for k in s["kill_log"]:
                print(f"    kill at {k['at_s']:7.2f} s: {k['states']}")
    out = ROOT / "benchmarks" / "results" / time.strftime("watch_soak-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": {"platform": platform.platform(),
                                           "cpu": platform.machine(), "cores": os.cpu_count()},
                               "args": {k: str(v) for k, v in vars(args).items()},
                               "runs": results}, indent=1, ensure_ascii=False))
    print(f"results: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
