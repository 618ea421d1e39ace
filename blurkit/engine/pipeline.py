"""One item through the flow, and the batch runner.

    read -> detect -> identify -> decide -> redact -> write (verified, atomic) -> audit

`plan()` turns the user's inputs into jobs (files and folders, recursive, each output under
OUTDIR with the same relative path and stem). `Worker` holds the models (loaded once per
process) and runs one job; it never raises: every failure becomes an error result with a
one-line reason, and nothing is published for it. `run()` spreads jobs over worker
processes, survives a worker that crashes (a decoder killed by the OS, say), and appends an
audit entry for every item.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import multiprocessing
import os
import queue
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from blurkit import __version__, i18n, modelstore
from blurkit.consent import Snapshot
from blurkit.engine.cores import default_workers
from blurkit.engine.decide import FaceDecision, decide
from blurkit.engine.redact import Style, keep_shown, redact, still_visible
from blurkit.errors import BlurkitError, OutputError
from blurkit.fsutil import cleanup_partials, sha256_file
from blurkit.media.image import PHOTO_SUFFIXES, output_suffix, read_photo, write_photo

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".3gp", ".mts",
                            ".m2ts", ".ts"})
MEDIA_SUFFIXES = PHOTO_SUFFIXES | VIDEO_SUFFIXES
_PHOTO_OUT = {".heic": ".jpg", ".heif": ".jpg", ".hif": ".jpg", ".avif": ".jpg", ".jpeg": ".jpg",
              ".jpe": ".jpg", ".jfif": ".jpg", ".tiff": ".tif"}


# --------------------------------------------------------------------------- planning

@dataclass(frozen=True)
class Job:
    source: Path
    out_dir: Path
    rel_parent: Path      # folder under out_dir, mirroring the input's place in its folder
    kind: str             # "photo" | "video"

    def dest(self, suffix: str) -> Path:
        return self.out_dir / self.rel_parent / (self.source.stem + suffix)

    def expected_dest(self) -> Path:
        suffix = self.source.suffix.lower()
        if self.kind == "video":
            return self.dest(".mp4")
        return self.dest(_PHOTO_OUT.get(suffix, suffix))


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    errors: list[ItemResult] = field(default_factory=list)   # refused before processing
    skipped: list[Path] = field(default_factory=list)          # files in folders that are not media


def _kind(path: Path) -> str:
    return "video" if path.suffix.lower() in VIDEO_SUFFIXES else "photo"


def _walk(folder: Path, out_dir: Path) -> Iterable[tuple[Path, Path] | Path]:
    """(file, relative parent) for media files under `folder`; bare Paths for skipped files.

    Hidden files and folders (including blurkit's own temporary `.part` files) and the
    output folder itself are left out.
    """
    out_resolved = out_dir.resolve()
    for root, dirs, files in os.walk(folder):
        root_p = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (root_p / d).resolve() != out_resolved)
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_p / name
            if path.suffix.lower() in MEDIA_SUFFIXES:
                yield path, root_p.relative_to(folder)
            else:
                yield path


def plan(inputs: Iterable[Path], out_dir: Path) -> Plan:
    """Jobs for files and (recursively) folders; conflicts are refused before any work."""
    result = Plan()
    out_dir = Path(out_dir)
    candidates: list[tuple[Path, Path]] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            for item in _walk(path, out_dir):
                if isinstance(item, Path):
                    result.skipped.append(item)
                else:
                    candidates.append(item)
        elif path.exists() or path.is_symlink():
            candidates.append((path, Path(".")))
        else:
            result.errors.append(ItemResult.failed(path, "photo", "pipeline.not_found",
                                                   i18n.t("pipeline.not_found", path=path)))
    sources = {p.resolve() for p, _ in candidates}
    claimed: dict[Path, Path] = {}
    for path, rel in candidates:
        job = Job(path, out_dir, rel, _kind(path))
        dest = job.expected_dest()
        key = dest.resolve()
        if key in sources:
            result.errors.append(ItemResult.failed(
                path, job.kind, "pipeline.is_input",
                i18n.t("pipeline.is_input", path=path, dest=dest)))
        elif dest.exists() or dest.is_symlink():      # found now, not after the work
            result.errors.append(ItemResult.failed(
                path, job.kind, "pipeline.exists",
                i18n.t("pipeline.exists", path=path, dest=dest)))
        elif key in claimed:
            result.errors.append(ItemResult.failed(
                path, job.kind, "pipeline.same_output",
                i18n.t("pipeline.same_output", path=path, other=claimed[key], dest=dest)))
        else:
            claimed[key] = path
            result.jobs.append(job)
    return result


def check_folders(inputs: Iterable[Path], out_dir: Path, report: Path | None = None) -> None:
    """Before any work: the output folder is neither an input folder nor inside one (nor
    the other way round), it can be written, and so can the report. OutputError saying
    which and why (read-only disk, no permission, disk full) in the reader's language."""
    out = Path(out_dir).resolve()
    for raw in inputs:
        path = Path(raw)
        if not path.is_dir():
            continue
        folder = path.resolve()
        if out == folder or out.is_relative_to(folder) or folder.is_relative_to(out):
            raise OutputError("pipeline.output_in_input", output=out_dir, input=raw)
    _probe_writable(Path(out_dir), Path(out_dir))
    if report is not None:
        _probe_writable(Path(report).parent, Path(report))


# why a folder cannot be written, said in the reader's language (not the OS's English)
_WRITE_ERRORS = {errno.EROFS: "pipeline.unwritable.read_only",
                 errno.EACCES: "pipeline.unwritable.permission",
                 errno.EPERM: "pipeline.unwritable.permission",
                 errno.ENOSPC: "pipeline.unwritable.full",
                 getattr(errno, "EDQUOT", errno.ENOSPC): "pipeline.unwritable.full"}


def _probe_writable(folder: Path, target: Path) -> None:
    """Create `folder` if needed and write (and remove) a probe file in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".blurkit-probe-", suffix=".part", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        key = _WRITE_ERRORS.get(exc.errno, "pipeline.unwritable.other")
        raise OutputError(key, path=target, reason=exc.strerror or type(exc).__name__) from exc


# --------------------------------------------------------------------------- results

@dataclass
class ItemResult:
    source: str
    kind: str
    status: str = "ok"                       # "ok" | "error"
    output: str | None = None
    error_key: str | None = None
    error: str | None = None                 # the message, in the language of the run
    error_params: dict[str, str] = field(default_factory=dict)   # to word it in any language
    input_sha256: str | None = None
    output_sha256: str | None = None
    width: int | None = None
    height: int | None = None
    faces: list[dict] = field(default_factory=list)
    text: list[dict] = field(default_factory=list)      # [{box, quad, score, action}]
    shown: list[dict] = field(default_factory=list)     # [{"person_id", "consent_id"}]
    notes: list[str] = field(default_factory=list)
    removed_metadata: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)           # kind-specific (video: tracks, frames)

    @classmethod
    def failed(cls, path: Path, kind: str, key: str, message: str,
               params: dict | None = None) -> ItemResult:
        return cls(source=str(path), kind=kind, status="error", error_key=key, error=message,
                   error_params={k: str(v) for k, v in (params or {}).items()})

    def error_message(self, lang: str | None = None) -> str | None:
        """The error in `lang` (a watch folder writes its reason files in both languages)."""
        if self.ok or self.error_key is None:
            return None
        try:
            return i18n.t(self.error_key, lang, **self.error_params)
        except (KeyError, IndexError, ValueError):
            return self.error

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def hidden(self) -> int:
        """Faces a person would call faces, hidden (`people_counts`' first number)."""
        return self.people_counts()[0]

    def people_counts(self) -> tuple[int, int]:
        """(faces hidden, further areas hidden): people, not detections."""
        from blurkit.engine.secondlook.people import report_counts

        return report_counts({"faces": self.faces}, self.kind)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}
        d["hidden"] = self.hidden
        return d


# --------------------------------------------------------------------------- one item

@dataclass(frozen=True)
class Options:
    """Everything a worker process needs; plain and picklable."""
    models_dir: Path
    detector: str = "centerface"
    style: Style = Style()
    jpeg_quality: int = 92
    purpose: str = "public"
    snapshot: Snapshot | None = None
    language: str = "en"
    threads: int = 1              # inference threads per worker
    second_look: bool = True      # look at every photo output again (blurkit/secondlook)
    time_limit: float = 900.0     # seconds without progress before a file is given up
                                  # (photos: + 30 s per MB; videos: between progress reports)
    text: str = "hide"            # readable text: hide | review | off (blurkit.engine.textmask)


def watch_options(settings, purpose: str) -> Options:
    """The options of a long-running service (the watch folder, the web page's renders):
    the settings' detector and style, the run's language, every core for inference (one
    file at a time)."""
    s = settings
    return Options(models_dir=s.models_dir, detector=s.detector,
                   style=Style(mode=s.mode, mask=s.mask, margin=s.margin),
                   jpeg_quality=s.jpeg_quality, purpose=purpose, language=i18n.language(),
                   threads=default_workers(), text=s.text)


def _anyone_may_be_shown(snapshot: Snapshot | None, purpose: str) -> bool:
    if snapshot is None or not snapshot.templates:
        return False
    with_templates = {t.person_id for t in snapshot.templates}
    return any(snapshot.decide(pid, purpose).valid for pid in with_templates)


class Worker:
    """The models of one process, and the flow for one item."""

    def __init__(self, options: Options) -> None:
        from blurkit.detect import load_detector, video_search

        self.options = options
        i18n.set_language(options.language)
        self.detector = load_detector(options.detector, options.models_dir, threads=options.threads)
        self.video_detector = video_search(self.detector)
        self.text_search = None
        if options.text != "off":
            from blurkit.detect.text import load_text_search
            self.text_search = load_text_search(options.models_dir, threads=options.threads)
        self.progress: Callable[[Job, str, int, int], None] = lambda job, phase, done, total: None
        from blurkit.timelimit import time_limit
        with time_limit(None) as idle:
            self._clock = idle           # the running file's time limit (see process)
        self.recognizer = None
        self.models: dict[str, str] = {}
        self.set_snapshot(options.snapshot)
        self.looker = None
        if options.second_look:
            from blurkit.engine.secondlook import SecondLook
            self.looker = SecondLook(options.models_dir, threads=options.threads)

    def set_snapshot(self, snapshot: Snapshot | None) -> None:
        """Use a new view of the consent registry (after a consent was added or withdrawn).

        Recognition runs only when someone may actually be shown for this purpose; with no
        valid consent on file every face is hidden without computing any face template.
        """
        import dataclasses

        self.options = dataclasses.replace(self.options, snapshot=snapshot)
        self.models = {"detector": _model_version(self.options.detector)}
        if self.options.second_look:
            self.models["second_look"] = _model_version("retinaface")
        if self.options.text != "off":
            self.models["text"] = _model_version("ppocr_det")
        self.recognizer = None
        if _anyone_may_be_shown(snapshot, self.options.purpose):
            from blurkit.identify import MODEL_NAME, Recognizer

            self.recognizer = Recognizer(self.options.models_dir, snapshot.for_model(MODEL_NAME))
            self.models["recognizer"] = _model_version("dlib_resnet")

    def decide(self, rgb, detections) -> list[FaceDecision]:
        identities = None
        if self.recognizer is not None and detections:
            identities = self.recognizer.identify(rgb, detections)
        return decide(detections, identities, self.options.snapshot, self.options.purpose)

    def redact_checked(self, rgb, boxes, source: Path, shown=(), style: Style | None = None):
        """Hide `boxes` and check from the pixels that each is really hidden.

        A lighter style (pixelate, blur) can leave a small face recognisable, and rarely a
        small face between overlapping regions keeps some detail; such faces are hidden
        again with the irreversible default, with a note. Publishing stops if a face still
        shows detail after that (it never should).
        """
        notes: list[str] = []
        style = style or self.options.style
        out = redact(rgb, boxes, style)
        if shown:
            out = keep_shown(rgb, out, shown, boxes)
        leaks = still_visible(rgb, out, boxes)
        if leaks:
            strong = Style(mode="destroy", mask="box", margin=style.margin)
            out = redact(out, leaks, strong)
            if shown:
                out = keep_shown(rgb, out, shown, boxes)
            notes.append(i18n.t("pipeline.note.strengthened", n=len(leaks)))
            if still_visible(rgb, out, leaks):
                raise OutputError("pipeline.redaction_failed", path=source)
        return out, notes

    def find_text(self, original) -> list:
        """The readable text in `original` (none when text is off)."""
        if self.text_search is None:
            return []
        return self.text_search.detect(original)

    def hide_text(self, original, out, regions, shown_faces, source: Path):
        """Hide the text `regions` found in `original` on `out` (faces already hidden there),
        checked from the pixels; text inside a face shown with consent is kept. Returns
        (pixels, the report's text list, notes, extra)."""
        from blurkit.engine.textmask import actions, hide_text_checked

        if self.text_search is None:
            return out, [], [], {}
        acts = actions(regions, shown_faces)
        hidden = [r for r, a in zip(regions, acts) if a == "hidden"]
        if out is original:     # painted in place: never on the original the check reads
            out = original.copy()
        out, again = hide_text_checked(original, out, hidden, self.options.style, source,
                                       in_place=True)
        notes, extra = [], {}
        if again:
            notes.append(i18n.t("text.note.strengthened", n=again))
            extra["text_hidden_again"] = again
        if hidden and self.options.text == "review":
            notes.append(i18n.t("text.note.review", n=len(hidden)))
            extra["text_review"] = True
        return out, [{**r.to_dict(), "action": a} for r, a in zip(regions, acts)], notes, extra

    def redact_regions(self, original, out, boxes, source: Path):
        """Destroy regions a person drew (irreversible style whatever the settings, a small
        margin), on top of `out`, and check them from the pixels like every hidden face."""
        from blurkit.engine.revise import REGION_MARGIN

        strong = Style(mode="destroy", mask="box", margin=REGION_MARGIN)
        out = redact(out, boxes, strong)
        leaks = still_visible(original, out, boxes)
        if leaks:
            out = redact(out, leaks, Style(mode="destroy", mask="box", margin=0.35))
            if still_visible(original, out, leaks):
                raise OutputError("pipeline.redaction_failed", path=source)
        return out

    def process(self, job: Job) -> ItemResult:
        from blurkit.timelimit import seconds_for, time_limit

        try:
            size = job.source.stat().st_size if job.kind == "photo" else 0
        except OSError:
            size = 0
        try:
            with time_limit(seconds_for(size, self.options.time_limit)) as clock:
                self._clock = clock
                _test_hang(job)
                if job.kind == "video":
                    return self._video(job)
                return self._photo(job)
        except Exception as exc:  # never let one file stop a batch; nothing was published
            key, params = _failure(job, exc)
            return ItemResult.failed(job.source, job.kind, key, i18n.t(key, **params), params)
        finally:
            # the next file starts from the models alone, not this file's largest arena
            with contextlib.suppress(Exception):
                self.detector.release_memory()
                if self.text_search is not None:
                    self.text_search.release()

    def _photo(self, job: Job) -> ItemResult:
        timings = {}
        t = time.perf_counter()
        photo = read_photo(job.source)
        input_sha = sha256_file(job.source)
        timings["read"] = time.perf_counter() - t

        t = time.perf_counter()
        weak = []
        if self.looker is not None and self.looker.params.weak_max > 0:   # weaker places too
            detections, candidates, weak = self.detector.detect_for_review(
                photo.pixels, self.looker.params.weak_floor, self.looker.params.weak_max)
        else:
            detections, candidates = self.detector.detect_with_candidates(photo.pixels)
        timings["detect"] = time.perf_counter() - t
        # the face network's memory goes back before the text network takes its own (the
        # largest photo stays within its budget: media/budget.py)
        self.detector.release_memory()

        t = time.perf_counter()
        text_regions = self.find_text(photo.pixels)   # while only the original is held
        if self.text_search is not None:
            timings["text"] = time.perf_counter() - t

        t = time.perf_counter()
        decisions = self.decide(photo.pixels, detections)
        timings["identify"] = time.perf_counter() - t

        t = time.perf_counter()
        original = photo.pixels
        hidden = [d.detection.box for d in decisions if not d.show]
        shown = [d.detection.box for d in decisions if d.show]
        pixels, notes = self.redact_checked(original, hidden, job.source, shown=shown)
        timings["redact"] = time.perf_counter() - t

        t = time.perf_counter()
        from blurkit.engine.secondlook.photo import look_at_photo
        cands = [c.to_dict() for c in candidates]
        pixels, faces, looked = look_at_photo(self.looker, original, pixels,
                                              [d.to_dict() for d in decisions], cands,
                                              self.options.style, job.source,
                                              [c.to_dict() for c in weak])
        timings["secondlook"] = time.perf_counter() - t

        t = time.perf_counter()
        pixels, text, text_notes, text_extra = self.hide_text(original, pixels, text_regions,
                                                              shown, job.source)
        if self.text_search is not None:
            timings["text"] += time.perf_counter() - t
        # the original pixels are no longer needed: freed before the encoder makes its copy
        # (memory budget: media/budget.py)
        photo.pixels = pixels
        del original

        t = time.perf_counter()
        dest = job.dest(output_suffix(photo))
        if dest.exists():
            raise FileExistsError(dest)
        write_photo(photo, pixels, dest, jpeg_quality=self.options.jpeg_quality)
        output_sha = sha256_file(dest)
        timings["write"] = time.perf_counter() - t

        return ItemResult(
            source=str(job.source), kind="photo", output=str(dest),
            input_sha256=input_sha, output_sha256=output_sha,
            width=photo.width, height=photo.height, faces=faces, text=text,
            shown=[{"person_id": d.person_id, "consent_id": d.consent_id}
                   for d in decisions if d.show and d.reason == "consent_valid"],
            notes=list(photo.notes) + notes + text_notes,
            removed_metadata=list(photo.source_metadata),
            timings={k: round(v, 4) for k, v in timings.items()},
            extra={"candidates": cands, **looked,
                   **({"hidden_again": len(notes)} if notes else {}), **text_extra})

    def _video(self, job: Job) -> ItemResult:
        from blurkit.engine.videoflow import VideoJob
        from blurkit.media.video import OUTPUT_SUFFIX

        dest = job.dest(OUTPUT_SUFFIX)
        if dest.exists():
            raise FileExistsError(dest)
        input_sha = sha256_file(job.source)
        def progress(phase: str, done: int, total: int) -> None:
            self._clock.touch()          # frames go on: only a stall counts
            self.progress(job, phase, done, total)

        flow = VideoJob(self, job.source, dest, progress=progress)
        stats = flow.run()
        tracks = stats.pop("tracks")
        shown = {(t["person_id"], t["consent_id"]) for t in tracks if t["action"] == "shown"}
        removed = _video_metadata(job.source)
        return ItemResult(
            source=str(job.source), kind="video", output=str(dest),
            input_sha256=input_sha, output_sha256=sha256_file(dest),
            width=stats.pop("width"), height=stats.pop("height"),
            faces=tracks, text=stats.pop("text", []),
            shown=[{"person_id": p, "consent_id": c} for p, c in sorted(shown)],
            removed_metadata=removed,
            timings={k: round(v, 3) for k, v in flow.timings.items()},
            extra=stats)


def _video_metadata(source: Path) -> list[str]:
    """The report's `removed_metadata` of a video: what its source carried that the output
    leaves out (tags, chapters, dropped tracks; `media.videometa.source_metadata`)."""
    from blurkit.media.videometa import source_metadata

    try:
        return source_metadata(source)
    except Exception as exc:        # the output is fine; only the listing failed: say so
        return [f"(the source's metadata could not be listed: {type(exc).__name__})"]


_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS}


def _failure(job: Job, exc: Exception) -> tuple[str, dict]:
    """The message key and parameters that explain why `job` failed."""
    cause: BaseException | None = exc
    while cause is not None:  # a full or read-only disk, however deeply wrapped
        if isinstance(cause, OSError) and cause.errno in _DISK_FULL:
            key = "pipeline.read_only" if cause.errno == errno.EROFS else "pipeline.disk_full"
            return key, {"path": job.source, "reason": cause.strerror or cause}
        cause = cause.__cause__ or cause.__context__
    from blurkit.timelimit import TimeLimitExceeded

    if isinstance(exc, TimeLimitExceeded):
        return "pipeline.time_limit", {"path": job.source, "seconds": f"{exc.seconds:.0f}"}
    if isinstance(exc, BlurkitError):
        return exc.key, dict(exc.params)
    if isinstance(exc, FileExistsError):
        return "pipeline.exists", {"path": job.source, "dest": exc}
    if isinstance(exc, MemoryError):
        return "pipeline.unexpected", {"path": job.source, "reason": "out of memory"}
    traceback.print_exc()
    return "pipeline.unexpected", {"path": job.source, "reason": f"{type(exc).__name__}: {exc}"}


def _test_hang(job: Job) -> None:
    """Test hook (as BLURKIT_TEST_CRASH_ON): a file named so makes the worker hang, in Python
    (`sleep`: the time limit stops it) or, with BLURKIT_TEST_HANG_HARD, with SIGALRM blocked
    as a hang inside C code would be (only the watch folder's parent deadline stops it)."""
    if os.environ.get("BLURKIT_TEST_HANG_ON") != job.source.name:
        return
    import signal

    if os.environ.get("BLURKIT_TEST_HANG_HARD"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(3600)


def _model_version(name: str) -> str:
    """What the audit log records of a model (or of every network a detector runs)."""
    from blurkit import choices

    if name in choices.DETECTORS and choices.DETECTORS[name].nets != (name,):
        return " + ".join(_model_version(n) for n in choices.DETECTORS[name].nets)
    spec = modelstore.spec(name)
    return f"{spec.name} ({spec.requirement}, sha256 {spec.sha256[:12]})"


# --------------------------------------------------------------------------- batches

_worker: Worker | None = None


def _init_worker(options: Options, progress_queue=None) -> None:
    global _worker
    import cv2

    cv2.setNumThreads(1)
    try:
        import pillow_heif
        pillow_heif.options.DECODE_THREADS = 1
    except Exception:  # optional speed setting only
        pass
    _worker = Worker(options)
    if progress_queue is not None:
        last = 0.0

        def report(job: Job, phase: str, done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= 0.25 or done == total:   # a few updates a second at most
                last = now
                progress_queue.put((str(job.source), phase, done, total))
        _worker.progress = report


def _run_job(job: Job) -> ItemResult:
    assert _worker is not None
    # Test hook: the test suite makes a worker die on a named file to prove a crashed
    # worker costs that file, not the batch (tests/test_process.py).
    if os.environ.get("BLURKIT_TEST_CRASH_ON") == job.source.name:
        os._exit(70)
    return _worker.process(job)


def audit_entry(result: ItemResult, options: Options, models: dict[str, str]) -> dict:
    entry = {
        "kind": result.kind,
        "status": "ok" if result.ok else "failed",
        "purpose": options.purpose,
        "input_path": result.source,
        "input_sha256": result.input_sha256,
        "faces": len(result.faces),
        "shown": result.shown,
        "models": {**models, "blurkit": __version__},
    }
    if result.ok:
        entry["output_path"] = result.output
        entry["output_sha256"] = result.output_sha256
    else:
        entry["reason"] = result.error_key
    return {k: v for k, v in entry.items() if v is not None}


def run(jobs: list[Job], options: Options, workers: int = 0,
        on_result: Callable[[ItemResult], None] = lambda r: None,
        audit=None,
        on_progress: Callable[[str, str, int, int], None] | None = None) -> list[ItemResult]:
    """Process `jobs`; results arrive through `on_result` as they finish (any order).

    workers=0 means one per CPU core. With one worker (or one job) everything runs in this
    process and inference uses all cores instead. `on_progress(source, phase, done, total)`
    reports the frames of long videos.
    """
    from blurkit.media import budget

    cores = default_workers()
    # each worker may take its memory budget: no more of them than the memory holds
    workers = min(workers or cores, budget.max_workers(), max(1, len(jobs)))
    results: list[ItemResult] = []
    models: dict[str, str] = {}

    def finish(result: ItemResult) -> None:
        if audit is not None:
            audit.append(audit_entry(result, options, models))
        results.append(result)
        on_result(result)

    if workers <= 1:
        import dataclasses
        worker = Worker(dataclasses.replace(options, threads=cores))
        if on_progress is not None:
            worker.progress = lambda job, phase, done, total: on_progress(
                str(job.source), phase, done, total)
        models.update(worker.models)
        try:
            for job in jobs:
                finish(worker.process(job))
        except KeyboardInterrupt:
            _cleanup(jobs)
            raise
        return results

    models.update({"detector": _model_version(options.detector)})
    if options.second_look:
        models["second_look"] = _model_version("retinaface")
    if options.text != "off":
        models["text"] = _model_version("ppocr_det")
    if _anyone_may_be_shown(options.snapshot, options.purpose):
        models["recognizer"] = _model_version("dlib_resnet")
    _run_pool(jobs, options, workers, finish, on_progress)
    return results


def _run_pool(jobs: list[Job], options: Options, workers: int,
              finish: Callable[[ItemResult], None],
              on_progress: Callable[[str, str, int, int], None] | None = None) -> None:
    """Run jobs on worker processes. If a worker dies (a decoder killed by the OS, say), the
    jobs it took down with it are retried one at a time in a fresh process, so the culprit
    is found and reported and the rest still get done."""
    crashed = _pool_round(jobs, options, workers, finish, on_progress)
    for job in crashed:
        for again in _pool_round([job], options, 1, finish, on_progress):
            finish(ItemResult.failed(again.source, again.kind, "pipeline.crashed",
                                     i18n.t("pipeline.crashed", path=again.source,
                                            reason="BrokenProcessPool")))


def _pool_round(jobs: list[Job], options: Options, workers: int,
                finish: Callable[[ItemResult], None],
                on_progress: Callable[[str, str, int, int], None] | None) -> list[Job]:
    """One pool over `jobs`; returns the jobs lost to a crashed worker."""
    lost: list[Job] = []
    ctx = multiprocessing.get_context("spawn")
    progress_queue = ctx.Queue() if on_progress is not None else None
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                  initargs=(options, progress_queue))
    futures = {pool.submit(_run_job, job): job for job in _largest_first(jobs)}
    pending = set(futures)

    def drain() -> None:
        while progress_queue is not None:
            try:
                on_progress(*progress_queue.get_nowait())
            except queue.Empty:
                return

    try:
        while pending:
            done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            drain()
            for fut in done:
                try:
                    result = fut.result()
                except cf.process.BrokenProcessPool:
                    lost.append(futures[fut])
                    continue
                finish(result)
    except KeyboardInterrupt:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            proc.terminate()
        for proc in procs:      # gone before their temporary files are swept
            proc.join(10)
        pool.shutdown(wait=False, cancel_futures=True)
        _cleanup(jobs)
        raise
    pool.shutdown(wait=True)
    if lost:
        _cleanup(lost)
    return lost


def _largest_first(jobs: list[Job]) -> list[Job]:
    """Videos, then photos from the largest file down: the workers take jobs in this order,
    so the batch does not end with one worker busy on a large file while the others idle."""
    def size(job: Job) -> int:
        try:
            return job.source.stat().st_size
        except OSError:
            return 0   # reported as an error by the worker
    return sorted(jobs, key=lambda job: (job.kind != "video", -size(job)))


def _cleanup(jobs: Iterable[Job]) -> None:
    """Remove temporary files a killed writer may have left in the output folders."""
    for folder in {job.out_dir / job.rel_parent for job in jobs}:
        if folder.is_dir():
            cleanup_partials(folder)
