"""Soak-test machinery for the watch folder, shared by tests/test_watch.py and
benchmarks/watch_soak.py.

`soak()` starts a real `blurkit watch` subprocess, drops a mixed corpus into its inbox (small
generated photos in several formats, the project's samples, tiny clips, junk, zero-byte files,
corrupt and truncated photos, files copied slowly in chunks, a folder tree, a folder moved in
whole, identical files dropped twice, temporary/system names that must be left alone) while
killing the watcher with SIGKILL at random moments and restarting it, waits until everything
is through and checks the result with `verify()`, which trusts nothing the watcher says: it
hashes every file in every folder and matches them to what was dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediafactory  # noqa: E402
import videofactory  # noqa: E402

SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir()
                      if p.suffix.lower() in (".jpg", ".png", ".webp", ".heic", ".tif"))
TREE = ["", "", "", "a", "a/b", "c/d/e", "Utflykt till Skansen åäö"]


@dataclass
class Drop:
    rel: str                       # where it lands in the inbox
    data: bytes
    expect: str                    # valid | invalid | either | ignored
    how: str = "write"             # write | slow | move (part of a folder moved in whole)
    group: str = ""                # for "move": the folder moved in
    delay: float = 0.0             # pause before this drop

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _photo(rng: random.Random, seed: int) -> tuple[bytes, str]:
    w = rng.randint(48, 160)
    h = rng.randint(40, 120)
    arr = mediafactory.pattern(w, h, seed=seed)
    fmt = rng.choices(["JPEG", "PNG", "WEBP"], [7, 2, 1])[0]
    ext = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[fmt]
    opts = {"quality": 90} if fmt != "PNG" else {}
    return mediafactory.encode(arr, fmt, **opts), ext


def build_corpus(n_items: int, seed: int, scratch: Path) -> list[Drop]:
    """About n_items drops; photos (mostly tiny) dominate. Every valid file has its own stem,
    so its output can be found by name."""
    rng = random.Random(seed)
    drops: list[Drop] = []
    n = 0

    def name(prefix: str, ext: str) -> str:
        nonlocal n
        n += 1
        folder = rng.choice(TREE)
        stem = f"{prefix}{n:04d}"
        return (PurePosixPath(folder) / (stem + ext)).as_posix() if folder else stem + ext

    for s in SAMPLE_FILES:
        drops.append(Drop(name("sample_", s.suffix), s.read_bytes(), "valid"))
    scratch.mkdir(parents=True, exist_ok=True)
    for i, ext in enumerate((".mp4", ".mov")):
        clip = scratch / f"clip{i}{ext}"
        videofactory.make_clip(clip, width=96, height=64, n=6, audio=(), flash_at=None)
        drops.append(Drop(name("clip_", ext), clip.read_bytes(), "either"))
    junk = [(".txt", "Att göra: fika kl 15\n".encode()), (".docx", rng.randbytes(3000)),
            (".bin", rng.randbytes(777)), ("", b"no suffix at all"),
            (".pdf", b"%PDF-1.4 not really")]
    for ext, data in junk:
        drops.append(Drop(name("junk_", ext), data, "invalid"))
    jpeg = mediafactory.encode(mediafactory.pattern(120, 90, seed=seed), "JPEG")
    for ext, data in ((".jpg", rng.randbytes(2048)), (".jpg", jpeg[: len(jpeg) // 2]),
                      (".png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(100)),
                      (".mp4", rng.randbytes(4096))):
        drops.append(Drop(name("corrupt_", ext), data, "invalid"))
    for ext in (".jpg", ".png", ".txt"):
        drops.append(Drop(name("empty_", ext), b"", "invalid"))
    for ignored in (".DS_Store", "Thumbs.db", "~$rapport.docx", "film.mp4.part", "._p.jpg",
                    "nedladdning.jpg.crdownload", "desktop.ini"):
        drops.append(Drop(ignored, b"system or temporary file " + ignored.encode(), "ignored"))
    # one folder built elsewhere and moved in whole (a single event for the folder)
    for k in range(4):
        data, ext = _photo(rng, seed * 1000 + 900 + k)
        drops.append(Drop(f"moved in/sub/m{k}{ext}" if k % 2 else f"moved in/m{k}{ext}", data,
                          "valid", how="move", group="moved in"))
    photos: list[Drop] = []
    target = max(n_items - len(drops), 10)
    n_slow = max(2, target // 20)
    n_dup = max(2, target // 25)
    for k in range(target - n_dup):
        data, ext = _photo(rng, seed * 1000 + k)
        d = Drop(name("p", ext), data, "valid", how="slow" if k < n_slow else "write")
        photos.append(d)
    for k in range(n_dup):
        twin = photos[rng.randrange(n_slow, len(photos))]
        photos.append(Drop(name("again_", PurePosixPath(twin.rel).suffix), twin.data, "valid"))
    drops += photos
    head, tail = drops[:1], drops[1:]
    rng.shuffle(tail)
    drops = head + tail
    for d in drops:
        d.delay = rng.uniform(0.0, 0.12)
    return drops


class Dropper(threading.Thread):
    """Drops the corpus into the inbox as people would: plain copies, slow copies in chunks
    (each chunk well inside the settle time), a folder moved in."""

    def __init__(self, drops: list[Drop], inbox: Path, scratch: Path, seed: int,
                 chunk_pause: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.drops, self.inbox, self.scratch = drops, inbox, scratch
        self.rng = random.Random(seed)
        self.chunk_pause = chunk_pause
        self.slow: list[threading.Thread] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            moved: dict[str, list[Drop]] = {}
            for d in self.drops:
                if d.how == "move":
                    moved.setdefault(d.group, []).append(d)
            done_groups: set[str] = set()
            for d in self.drops:
                time.sleep(d.delay)
                if d.how == "move":
                    if d.group not in done_groups:
                        done_groups.add(d.group)
                        self._move_in(d.group, moved[d.group])
                elif d.how == "slow":
                    t = threading.Thread(target=self._slow, args=(d,), daemon=True)
                    t.start()
                    self.slow.append(t)
                else:
                    dest = self.inbox / d.rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(d.data)
            for t in self.slow:
                t.join()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _slow(self, d: Drop) -> None:
        dest = self.inbox / d.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        chunks = self.rng.randint(4, 7)
        size = max(1, len(d.data) // chunks + 1)
        with open(dest, "wb") as fh:
            for i in range(0, len(d.data), size):
                fh.write(d.data[i:i + size])
                fh.flush()
                time.sleep(self.chunk_pause)

    def _move_in(self, group: str, drops: list[Drop]) -> None:
        staging = self.scratch / ("incoming-" + group.replace("/", "_"))
        for d in drops:
            path = staging / PurePosixPath(d.rel).relative_to(group)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(d.data)
        dest = self.inbox / group
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, dest)


# --------------------------------------------------------------------------- the watcher

def state_dir(data_dir: Path, inbox: Path) -> Path:
    from blurkit.watch import state_dir_for
    return state_dir_for(data_dir, inbox)


class WatcherProc:
    """`blurkit watch` as a subprocess (as systemd runs it)."""

    def __init__(self, data_dir: Path, args: list[str], log_path: Path) -> None:
        self.data_dir, self.args, self.log_path = data_dir, args, log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        env = dict(os.environ, BLURKIT_LANG="en", PYTHONUNBUFFERED="1")
        env.pop("BLURKIT_DATA_DIR", None)
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {self.starts + 1} at {time.time():.3f}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "blurkit", "--data-dir", str(self.data_dir), "watch",
             *self.args], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        log.close()
        self.starts += 1

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout: float = 120) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def journal_counts(sdir: Path) -> dict[str, int]:
    path = sdir / "journal.sqlite3"
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return dict(conn.execute("SELECT state, COUNT(*) FROM item GROUP BY state").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


def finished_count(sdir: Path) -> int:
    c = journal_counts(sdir)
    return sum(c.get(s, 0) for s in ("done", "failed", "duplicate"))


def inbox_files(inbox: Path, ignored: set[str]) -> list[str]:
    out = []
    for p in inbox.rglob("*"):
        rel = p.relative_to(inbox).as_posix()
        if p.is_file() and not rel.startswith(".blurkit-work/") and rel not in ignored:
            out.append(rel)
    return out


def worker_lock_free(sdir: Path, timeout: float = 15.0) -> bool:
    from blurkit.watch import FileLock
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if FileLock.holder(sdir / "worker.lock") is None:
            return True
        time.sleep(0.1)
    return False


class Reviewer(threading.Thread):
    """A person at the review page, through ReviewDesk (as the web app does): takes the
    waiting items in small batches, now and then replaces an output with a re-render (here
    the same bytes again: a new revision to publish), and approves, or rejects content
    whose SHA-256 is in `reject`."""

    def __init__(self, sdir: Path, reject: set[str], seed: int) -> None:
        super().__init__(daemon=True)
        self.sdir, self.reject = sdir, reject
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.approved = self.rejected = self.replaced = self.conflicts = 0
        self.decided: dict[str, set[str]] = {"approved": set(), "rejected": set()}

    def run(self) -> None:
        from blurkit.watch.review import ReviewConflict, ReviewDesk
        try:
            while not (self.sdir / "journal.sqlite3").exists() and not self.stop.is_set():
                time.sleep(0.1)
            desk = ReviewDesk(self.sdir)
            try:
                while not self.stop.is_set():
                    items = desk.pending(limit=self.rng.randint(1, 6))
                    for item in items:
                        try:
                            self._decide(desk, item)
                        except ReviewConflict:
                            self.conflicts += 1
                    time.sleep(self.rng.uniform(0.05, 0.4))
            finally:
                desk.close()
        except BaseException as exc:   # reported by the soak
            self.error = exc

    def _decide(self, desk, item) -> None:
        if self.rng.random() < 0.2:
            new = desk.new_render_path(item.id, item.output.name)
            new.write_bytes(item.output.read_bytes())
            item = desk.replace_output(item.id, new, item.report, item.revision)
            self.replaced += 1
        boxes = [{"action": "hide", "shape": "rect", "box": [8 * i, 4, 20, 24]}
                 for i in range(self.rng.randint(0, 10))]
        if item.sha256 in self.reject:
            desk.reject(item.id, "soak-reviewer", boxes, item.revision)
            self.rejected += 1
            self.decided["rejected"].add(item.sha256)
        else:
            desk.approve(item.id, "soak-reviewer", boxes, item.revision)
            self.approved += 1
            self.decided["approved"].add(item.sha256)


def decided_count(sdir: Path) -> int:
    c = journal_counts(sdir)
    return c.get("approved", 0) + c.get("rejected", 0)


_BUSY = ("claimed", "queued", "processing", "finishing")
_REVIEW_BUSY = _BUSY + ("review", "approved", "rejected")


def soak(root: Path, *, n_items: int, kills: int, poll: float | None, keep_days: float,
         seed: int, settle: float = 1.0, log=print, quiet_timeout: float = 900.0,
         review: bool = False) -> dict:
    """The whole soak: returns the summary (with `problems`, empty when all is well).
    `review`: the watcher runs with the review stage and a simulated reviewer approves or
    rejects (about one content in five) every item through ReviewDesk meanwhile; half of
    the kills then wait for a moment when approved/rejected items are being finished."""
    from blurkit.watch import default_folders

    t0 = time.monotonic()
    rng = random.Random(seed)
    data_dir = root / "data"
    folders = default_folders(data_dir)
    for d in folders.values():
        d.mkdir(parents=True, exist_ok=True)
    scratch = root / "scratch"
    drops = build_corpus(n_items, seed, scratch)
    sdir = state_dir(data_dir, folders["inbox"])
    args = ["--settle", f"{settle:g}", "--keep-days", f"{keep_days:g}", "--rescan", "5",
            "--min-free-mb", "10", "--review" if review else "--no-review"]
    args += ["--poll", f"{poll:g}"] if poll else []
    busy_states = _REVIEW_BUSY if review else _BUSY
    reject: set[str] = set()
    if review:
        valid = sorted({d.sha for d in drops if d.expect == "valid"})
        reject = set(random.Random(seed + 1).sample(valid, max(1, len(valid) // 5)))
    w = WatcherProc(data_dir, args, root / "watch.log")
    w.start()
    reviewer = Reviewer(sdir, reject, seed) if review else None
    if reviewer is not None:
        reviewer.start()
    dropper = Dropper(drops, folders["inbox"], scratch, seed)
    dropper.start()
    kill_log = []
    orphans = 0
    for k in range(kills):
        started = time.monotonic()
        base = finished_count(sdir)
        if review and k % 2 == 1:
            deadline = time.monotonic() + 60          # while decisions are being finished
            while decided_count(sdir) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
        elif k == 0 or rng.random() < 0.25:
            time.sleep(rng.uniform(0.3, 3.0))           # any moment, even during start-up
        else:
            want = rng.randint(1, 6)                     # in the middle of the stream
            deadline = time.monotonic() + 60
            while finished_count(sdir) < base + want and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.4))
        counts = journal_counts(sdir)
        w.kill()
        kill_log.append({"after_s": round(time.monotonic() - started, 2),
                         "at_s": round(time.monotonic() - t0, 2),
                         "finished_before": finished_count(sdir), "states": counts})
        if not worker_lock_free(sdir):
            orphans += 1
        time.sleep(rng.uniform(0.0, 0.5))
        w.start()
    dropper.join(600)
    ignored = {d.rel for d in drops if d.expect == "ignored"}
    deadline = time.monotonic() + quiet_timeout
    while time.monotonic() < deadline:
        c = journal_counts(sdir)
        busy = sum(c.get(s, 0) for s in busy_states)
        if not busy and not inbox_files(folders["inbox"], ignored):
            # quiet twice in a row (a file may be between inbox and journal)
            time.sleep(1.0)
            c = journal_counts(sdir)
            if not sum(c.get(s, 0) for s in busy_states) \
                    and not inbox_files(folders["inbox"], ignored):
                break
        time.sleep(0.3)
    rc = w.stop()
    elapsed = time.monotonic() - t0
    if reviewer is not None:
        reviewer.stop.set()
        reviewer.join(60)
    summary = verify(data_dir, folders, drops, keep_days,
                     rejected=reviewer.decided["rejected"] if reviewer else frozenset(),
                     reviewed=review)
    if reviewer is not None:
        if reviewer.error is not None:
            summary["problems"].append(f"reviewer failed: {reviewer.error!r}")
        if reviewer.conflicts:
            summary["problems"].append(f"{reviewer.conflicts} review conflicts (one reviewer)")
        if not reviewer.decided["rejected"] or reviewer.decided["rejected"] - reject:
            summary["problems"].append("the reviewer rejected nothing, or the wrong content")
        summary.update(approved=reviewer.approved, rejected=reviewer.rejected,
                       replaced=reviewer.replaced)
    if dropper.error is not None:
        summary["problems"].append(f"dropper failed: {dropper.error!r}")
    if rc != 0:
        summary["problems"].append(f"watcher exit status after SIGTERM: {rc}")
    if orphans:
        summary["problems"].append(f"{orphans} worker process(es) outlived a killed watcher")
    summary.update(kills=len(kill_log), starts=w.starts, kill_log=kill_log,
                   seconds=round(elapsed, 1), mode="poll" if poll else "events", review=review,
                   keep_days=keep_days, seed=seed)
    log(json.dumps({k: v for k, v in summary.items() if k != "kill_log"}, ensure_ascii=False))
    return summary


# --------------------------------------------------------------------------- verification

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def _check_output(path: Path) -> list[str]:
    from blurkit.media.metadata import find_metadata

    if path.suffix.lower() in (".mp4", ".mov", ".m4v"):
        from blurkit.media.videometa import mp4_problems
        return [f"{path.name}: {p}" for p in mp4_problems(path)]
    problems = [f"{path.name}: metadata {m}" for m in find_metadata(path)]
    try:
        from blurkit.media.image import read_photo
        read_photo(path)
    except Exception as exc:
        problems.append(f"{path.name}: does not decode: {exc}")
    return problems


def verify(data_dir: Path, folders: dict[str, Path], drops: list[Drop], keep_days: float,
           rejected: set[str] | frozenset[str] = frozenset(), reviewed: bool = False) -> dict:
    """Match every file in every folder to what was dropped, by content. `rejected`: the
    SHA-256 of valid content a reviewer rejected (review stage): no output, one audit entry
    saying so, the original kept (or deleted with its entry) like any other. `reviewed`:
    every published output's audit entry must name its approval."""
    from blurkit.audit import AuditLog
    from blurkit.config import load_settings
    from blurkit.watch import NOTE_SUFFIX

    problems: list[str] = []
    inbox, ready, originals, failed = (folders[k] for k in ("inbox", "ready", "originals",
                                                           "failed"))
    ignored = {d.rel: d for d in drops if d.expect == "ignored"}
    for rel, d in ignored.items():
        p = inbox / rel
        if not p.is_file() or p.read_bytes() != d.data:
            problems.append(f"ignored file {rel} was touched")
    for rel in inbox_files(inbox, set(ignored)):
        problems.append(f"left in the inbox: {rel}")
    for root in (inbox / ".blurkit-work", ready / ".blurkit-work"):
        for p in _files(root):
            if p.name != "watch.lock":
                problems.append(f"left in a work area: {p}")
    for root in (inbox, ready, originals, failed):
        for p in _files(root):
            if p.name.endswith(".part") and p.relative_to(inbox if root == inbox else root
                                                          ).as_posix() not in ignored:
                problems.append(f"temporary file left: {p}")

    ready_files = {p: None for p in _files(ready) if ".blurkit-work" not in p.parts}
    orig_files: dict[str, list[Path]] = {}
    dup_files: dict[str, list[Path]] = {}
    failed_files: dict[str, list[Path]] = {}
    for p in _files(originals):
        if p.name.endswith(NOTE_SUFFIX):
            continue
        target = dup_files if p.relative_to(originals).parts[0] == "duplicates" else orig_files
        target.setdefault(_sha(p), []).append(p)
    for p in _files(failed):
        if p.name.endswith(NOTE_SUFFIX):
            continue
        failed_files.setdefault(_sha(p), []).append(p)
        note = Path(str(p) + NOTE_SUFFIX)
        if not note.is_file() or "SVENSKA" not in note.read_text("utf-8") \
                or "ENGLISH" not in note.read_text("utf-8"):
            problems.append(f"no bilingual reason file for {p.relative_to(failed)}")
    for paths in dup_files.values():
        for p in paths:
            if not Path(str(p) + NOTE_SUFFIX).is_file():
                problems.append(f"duplicate without a note: {p}")

    settings = load_settings(data_dir)
    with AuditLog.open(settings) as audit:
        check = audit.verify()
        entries = audit.entries()
    if not check.ok:
        problems.append(f"audit log broken: {check.message('en')}")
    tokens: dict[str, int] = {}
    for e in entries:
        t = (e.body.get("details") or {}).get("watch_item")
        if t:
            tokens[t] = tokens.get(t, 0) + 1
    for t, count in tokens.items():
        if count > 1:
            problems.append(f"audit entry for {t} written {count} times")
    ok_entries: dict[str, list] = {}
    deletions: dict[str, list] = {}
    for e in entries:
        if e.kind in ("photo", "video") and e.status == "ok":
            ok_entries.setdefault(e.input_sha256, []).append(e)
        elif e.kind == "retention-delete":
            deletions.setdefault(e.input_sha256, []).append(e)

    groups: dict[str, list[Drop]] = {}
    for d in drops:
        if d.expect != "ignored":
            groups.setdefault(d.sha, []).append(d)
    stats = {"items": len(drops), "valid": 0, "invalid": 0, "either": 0,
             "ignored": len(ignored), "duplicates": 0, "outputs": 0, "failed": 0,
             "kept_originals": 0, "deleted_originals": 0,
             "slow_copies": sum(d.how == "slow" for d in drops),
             "moved_in": sum(d.how == "move" for d in drops)}
    claimed_outputs: set[Path] = set()
    for sha, group in groups.items():
        expect = {d.expect for d in group}
        if len(expect) != 1:
            problems.append(f"test corpus: mixed expectations for {sha[:12]}")
            continue
        expect = expect.pop()
        stats[expect] += len(group)
        outputs = []
        for d in group:
            rel = PurePosixPath(d.rel)
            stem_path = ready / rel.parent
            for p in (stem_path.glob(rel.stem + ".*") if stem_path.is_dir() else []):
                if PurePosixPath(p.name).stem == rel.stem:
                    outputs.append(p)
        claimed_outputs.update(outputs)
        n_failed = len(failed_files.get(sha, []))
        if expect == "invalid":
            if outputs:
                problems.append(f"{group[0].rel}: invalid but published {outputs}")
            if n_failed != len(group):
                problems.append(f"{group[0].rel}: {n_failed} of {len(group)} in failed/")
            stats["failed"] += n_failed
            continue
        if expect == "either" and n_failed:
            stats["failed"] += n_failed
            if outputs or n_failed != len(group):
                problems.append(f"{group[0].rel}: {len(outputs)} output(s) and {n_failed} "
                                f"in failed/ (of {len(group)})")
            continue
        refused: list = []
        if sha in rejected:
            # each drop of the content was either reviewed (and rejected: content dropped
            # again after its twin was rejected is processed again) or set aside as a
            # duplicate of a twin still waiting in review
            stats["rejected"] = stats.get("rejected", 0) + len(group)
            if outputs:
                problems.append(f"{group[0].rel}: rejected in review but published {outputs}")
            refused = [e for e in entries if e.input_sha256 == sha
                       and e.kind in ("photo", "video") and e.reason == "review.rejected"]
            if not refused or ok_entries.get(sha):
                problems.append(f"{group[0].rel}: {len(refused)} rejection entries, "
                                f"{len(ok_entries.get(sha, []))} ok entries")
        # valid (or a clip that was processed): exactly one output for the content
        elif len(outputs) != 1:
            problems.append(f"{[d.rel for d in group]}: {len(outputs)} outputs {outputs}")
        if n_failed:
            problems.append(f"{group[0].rel}: valid but in failed/: {failed_files[sha]}")
        for p in outputs:
            problems += _check_output(p)
        stats["outputs"] += len(outputs)
        n_entries = len(ok_entries.get(sha, []))
        if sha in rejected:
            pass
        elif n_entries != 1:
            problems.append(f"{group[0].rel}: {n_entries} audit entries for its output")
        elif outputs and ok_entries[sha][0].output_sha256 != _sha(outputs[0]):
            problems.append(f"{group[0].rel}: audit entry names another output")
        elif reviewed and ((ok_entries[sha][0].body.get("details") or {}).get("review")
                           or {}).get("decision") != "approved":
            problems.append(f"{group[0].rel}: published without an approval in its entry")
        kept = len(orig_files.get(sha, []))
        dups = len(dup_files.get(sha, []))
        stats["duplicates"] += dups
        processed = max(1, len(refused))
        if dups != len(group) - processed:
            problems.append(f"{group[0].rel}: {dups} in duplicates/ (dropped {len(group)}x)")
        deleted = [e for e in deletions.get(sha, []) if not e.body["details"].get("duplicate")]
        if keep_days > 0:
            stats["kept_originals"] += kept
            if kept != processed:
                problems.append(f"{group[0].rel}: {kept} originals kept")
            if deleted:
                problems.append(f"{group[0].rel}: original deleted before its time")
        else:
            stats["deleted_originals"] += len(deleted)
            if kept or len(deleted) != processed:
                problems.append(f"{group[0].rel}: {kept} kept, {len(deleted)} deletion "
                                f"entries (keep-days 0)")
    for p in ready_files:
        if p not in claimed_outputs:
            problems.append(f"unexpected file in ready/: {p.relative_to(ready)}")
    known = set(groups)
    for where, files in (("originals", orig_files), ("duplicates", dup_files),
                         ("failed", failed_files)):
        for sha, paths in files.items():
            if sha not in known:
                problems.append(f"unknown file(s) in {where}: {paths}")
    sdir = state_dir(data_dir, inbox)
    counts = journal_counts(sdir)
    for s in ("claimed", "queued", "processing", "finishing", "review", "approved",
              "rejected"):
        if counts.get(s):
            problems.append(f"{counts[s]} journal item(s) left in state {s}")
    for p in _files(sdir / "review"):
        problems.append(f"left in the review area: {p.relative_to(sdir)}")
    if (sdir / "journal.sqlite3").exists():
        conn = sqlite3.connect(f"file:{sdir / 'journal.sqlite3'}?mode=ro", uri=True, timeout=30)
        try:
            jid = conn.execute("SELECT value FROM meta WHERE key = 'journal_id'").fetchone()[0]
            rows = conn.execute("SELECT id, rel, state FROM item WHERE state IN ('done', "
                                "'declined') OR (state = 'failed' AND kind != 'other')").fetchall()
        finally:
            conn.close()
        for item_id, rel, state in rows:
            if tokens.get(f"{jid}:{item_id}") != 1:
                problems.append(f"{rel} ({state}): {tokens.get(f'{jid}:{item_id}', 0)} audit "
                                f"entries")
    stats["journal"] = counts
    stats["audit_entries"] = len(entries)
    stats["problems"] = problems
    return stats


class SimulatedCrash(BaseException):
    """What kill -9 does to the watcher at a chosen point (not an Exception: nothing in the
    watcher catches it)."""


def drop(w, rel: str, data: bytes) -> None:
    """A file appears in the watcher's inbox; the next step scans for it."""
    p = w.config.inbox / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    w._next_scan = 0.0


def folders_of(w) -> dict:
    c = w.config
    return {"inbox": c.inbox, "ready": c.ready, "originals": c.originals, "failed": c.failed}


def crash_at(point: str, nth: int = 1):
    """A crash hook that 'kills' the watcher the nth time it reaches `point`."""
    seen = {"n": 0}

    def hook(name: str) -> None:
        if name == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise SimulatedCrash(point)
    return hook
