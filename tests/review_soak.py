"""Review-mode soak of the whole service: `blurkit serve` (page + watch folder, review on) as
a real subprocess, killed with SIGKILL at chosen moments while a corpus is dropped in batches
and a person reviews through the page's own form posts (HTTP, with the session's CSRF token).

The moments cycle through: while files are being processed; while items wait in review (no
request in flight); during an approval (the kill follows the POST by a few milliseconds); and
during the re-render after a correction (a region hidden by hand: the server renders the
photo again, and is killed meanwhile). After the last kill the service runs until all is
through, is stopped with SIGTERM, and `watch_helpers.verify` checks every folder by content:
every valid file has exactly one verified output in ready/ once approved, nothing approved is
lost or published twice, nothing unapproved (or rejected) is in ready/, every published
entry names its approval, the audit chain verifies. A memory bomb (a 14,000 x 14,000 one-bit
PNG of a few KB) and a palette bomb are in the first batch: failed/ with their reason,
nothing else taken down.
"""

from __future__ import annotations

import http.cookiejar
import json
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from watch_helpers import (  # noqa: E402
    Drop,
    Dropper,
    WatcherProc,
    build_corpus,
    inbox_files,
    journal_counts,
    state_dir,
    verify,
)
from webkit import free_port  # noqa: E402

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class ServeProc(WatcherProc):
    """`blurkit serve` (page and watch folder) as a subprocess."""

    def __init__(self, data_dir: Path, args: list[str], log_path: Path, port: int) -> None:
        super().__init__(data_dir, args, log_path)
        self.port = port

    def start(self) -> None:
        import os
        import subprocess

        env = dict(os.environ, BLURKIT_LANG="en", PYTHONUNBUFFERED="1")
        env.pop("BLURKIT_DATA_DIR", None)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "blurkit", "--data-dir", str(self.data_dir), "serve",
                 "--port", str(self.port), *self.args], stdout=log, stderr=subprocess.STDOUT,
                env=env, cwd=str(Path(__file__).resolve().parent.parent))
        self.starts += 1


class HttpReviewer(threading.Thread):
    """A person at the review page: approves (or rejects content whose SHA-256 is in
    `reject`) the waiting photos with the page's form posts, first hiding a region by hand
    in about one in three (the server renders the photo again); videos through ReviewDesk.
    `inflight` names the request under way ("approve", "correct"), for the killer."""

    def __init__(self, port: int, sdir: Path, reject: set[str], seed: int) -> None:
        super().__init__(daemon=True)
        self.base = f"http://127.0.0.1:{port}"
        self.sdir, self.reject = sdir, reject
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.inflight: str | None = None
        self.error: BaseException | None = None
        self.counts = {"approved": 0, "rejected": 0, "corrected": 0, "refused": 0,
                       "cut_off": 0}
        self.decided: dict[str, set[str]] = {"approved": set(), "rejected": set()}
        self.corrected: set[int] = set()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _post(self, what: str, path: str, fields: dict) -> int:
        page = self.opener.open(self.base + path.rsplit("/", 1)[0], timeout=30).read().decode()
        m = _CSRF.search(page)
        data = urllib.parse.urlencode({**fields, "csrf_token": m.group(1) if m else ""}).encode()
        self.inflight = what
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=data),
                                  timeout=120) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        finally:
            self.inflight = None

    def run(self) -> None:
        from blurkit.watch.review import ReviewConflict, ReviewDesk
        try:
            while not (self.sdir / "journal.sqlite3").exists() and not self.stop.is_set():
                time.sleep(0.1)
            while not self.stop.is_set():
                desk = ReviewDesk(self.sdir)
                try:
                    items = desk.pending(limit=self.rng.randint(1, 5))
                    for item in items:
                        if self.stop.is_set():
                            break
                        try:
                            self._decide(desk, item)
                        except ReviewConflict:
                            self.counts["refused"] += 1
                        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                            self.counts["cut_off"] += 1     # the server was killed: later
                            time.sleep(0.3)
                finally:
                    desk.close()
                time.sleep(self.rng.uniform(0.05, 0.3))
        except BaseException as exc:   # reported by the soak
            self.error = exc

    def _decide(self, desk, item) -> None:
        verdict = "rejected" if item.sha256 in self.reject else "approved"
        if item.kind != "photo":
            (desk.approve if verdict == "approved" else desk.reject)(
                item.id, "soak", [], item.revision)
        else:
            if item.id not in self.corrected and self.rng.random() < 0.35:
                self.corrected.add(item.id)
                status = self._post("correct", f"/review/{item.id}/decide", {
                    "action": "hide_region", "shape": "rect", "x1": 2, "y1": 2, "x2": 30,
                    "y2": 24, "revision": item.revision})
                if status < 400:
                    self.counts["corrected"] += 1
                return          # decided on a later round, on the new revision
            if verdict == "approved":       # a reviewer's browser shows the copy first
                self.opener.open(f"{self.base}/review/{item.id}/output?rev={item.revision}",
                                 timeout=60).read()
            status = self._post("approve" if verdict == "approved" else "reject",
                                f"/review/{item.id}/"
                                f"{'approve' if verdict == 'approved' else 'reject'}",
                                {"revision": item.revision})
            if status >= 400:
                self.counts["refused"] += 1
                return
        self.counts[verdict] += 1
        self.decided[verdict].add(item.sha256)


def bomb_drops() -> list[Drop]:
    import tempfile

    from memory import _bomb

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, mode in (("bomba.png", "1"), ("palettbomb.png", "P")):
            path = Path(tmp) / name
            _bomb(path, 14_000, mode)
            out.append(Drop(name, path.read_bytes(), "invalid"))
    return out


PHASES = ("processing", "review", "approve", "rerender")


def _wait_for(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.005)
    return False


def review_soak(root: Path, *, n_items: int = 40, kills: int = 8, seed: int = 1,
                log=print, quiet_timeout: float = 600.0) -> dict:
    from blurkit.watch import default_folders

    t0 = time.monotonic()
    rng = random.Random(seed)
    data_dir = root / "data"
    folders = default_folders(data_dir)
    for d in folders.values():
        d.mkdir(parents=True, exist_ok=True)
    drops = build_corpus(n_items, seed, root / "scratch")
    head = bomb_drops() + drops[:len(drops) // 2]   # first batch, the bombs in it
    tail = drops[len(drops) // 2:]                  # second batch, after the first kills
    drops = head + tail
    sdir = state_dir(data_dir, folders["inbox"])
    valid = sorted({d.sha for d in drops if d.expect == "valid"})
    reject = set(random.Random(seed + 1).sample(valid, max(1, len(valid) // 6)))
    port = free_port()
    w = ServeProc(data_dir, ["--review", "--settle", "1", "--keep-days", "30", "--rescan", "5",
                             "--min-free-mb", "10"], root / "serve.log", port)
    w.start()
    reviewer = HttpReviewer(port, sdir, reject, seed)
    reviewer.start()
    first = Dropper(head, folders["inbox"], root / "scratch", seed)
    first.start()
    second = None
    kill_log = []
    for k in range(kills):
        phase = PHASES[k % len(PHASES)]
        if k == len(PHASES) and second is None:
            second = Dropper(tail, folders["inbox"], root / "scratch", seed + 7)
            second.start()
        if phase == "processing":
            hit = _wait_for(lambda: journal_counts(sdir).get("processing", 0) > 0, 90)
            time.sleep(rng.uniform(0.0, 0.2))
        elif phase == "review":
            hit = _wait_for(lambda: journal_counts(sdir).get("review", 0) > 0
                            and reviewer.inflight is None, 90)
        else:
            want = "approve" if phase == "approve" else "correct"
            hit = _wait_for(lambda: reviewer.inflight == want, 90)
            time.sleep(rng.uniform(0.0, 0.03) if phase == "approve" else rng.uniform(0.05, 0.4))
        counts = journal_counts(sdir)
        w.kill()
        kill_log.append({"phase": phase, "hit": hit, "at_s": round(time.monotonic() - t0, 1),
                         "states": counts})
        time.sleep(rng.uniform(0.0, 0.5))
        w.start()
    if second is None:
        second = Dropper(tail, folders["inbox"], root / "scratch", seed + 7)
        second.start()
    first.join(300)
    second.join(300)
    busy = ("claimed", "queued", "processing", "finishing", "review", "approved", "rejected")
    ignored = {d.rel for d in drops if d.expect == "ignored"}
    deadline = time.monotonic() + quiet_timeout
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        c = journal_counts(sdir)
        idle = not sum(c.get(s, 0) for s in busy) and not inbox_files(folders["inbox"], ignored)
        quiet = quiet + 1 if idle else 0
        time.sleep(1.0 if idle else 0.3)
    reviewer.stop.set()
    reviewer.join(120)
    rc = w.stop()
    # every content in `reject` reaches review and is rejected there, also when the kill
    # cut the reviewer's POST off after the server had taken it (the reviewer never heard)
    summary = verify(data_dir, folders, drops, 30.0, rejected=reject, reviewed=True)
    problems = summary["problems"]
    if reviewer.error is not None:
        problems.append(f"reviewer failed: {reviewer.error!r}")
    if reviewer.decided["rejected"] - reject:
        problems.append("the reviewer rejected the wrong content")
    if rc != 0:
        problems.append(f"serve exit status after SIGTERM: {rc}")
    for d in drops[:2]:         # the bombs: failed/, with the memory reason
        notes = list(folders["failed"].glob(d.rel + "*.txt"))
        text = notes[0].read_text("utf-8") if notes else ""
        if "14000×14000" not in text or "megapixel" not in text:
            problems.append(f"{d.rel}: no memory reason in failed/: {text[:200]!r}")
    summary.update(kills=len(kill_log), kill_log=kill_log, starts=w.starts,
                   review=reviewer.counts, seconds=round(time.monotonic() - t0, 1))
    log(json.dumps({k: v for k, v in summary.items() if k != "kill_log"}, ensure_ascii=False))
    log(json.dumps(kill_log, ensure_ascii=False))
    return summary
