"""One video through the flow, in two passes over the frames.

Pass 1 (analyse): decode, detect faces on a reduced copy of every `step`-th frame, link them
into tracks, and — only when someone may be shown for this purpose — compute face
templates on a few sharp frames of each track.

Decide: each track is shown only when the vote over its sampled frames is unanimous
(at least MIN_VOTES usable frames, every one matched to the same enrolled person, and the
track's mean template too) and that person's consent is valid today; any other track —
unknown, ambiguous, too small to judge — is hidden for its whole life, including the held
frames before and after its detections. Two tracks shown as the same person at the same
time cannot both be right: the weaker is hidden.

Pass 2 (render): decode again, hide every hidden track's box in every frame it covers,
check from the pixels that each hidden face is really hidden, encode (H.264/MP4 with the
source's audio, no metadata; written atomically and verified before it is published).

Decoding twice costs far less than buffering a whole clip, and it lets the decision see
the whole track before any frame is written.

When nobody can be shown (no valid consent for the purpose: the common case) every track is
hidden whatever it turns out to be, so there is nothing to decide and one pass suffices
(`stream`): frames are decoded once and held back for `lookahead` frames — the longest gap
a track may bridge — while a background thread detects faces on the sampled ones and another
paints the hidden boxes, so that detection and painting overlap with the encoder.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from blurkit import i18n
from blurkit.decide import NESTED, inside_share
from blurkit.detect.common import Detection
from blurkit.errors import OutputError
from blurkit.media.video import VideoInfo, VideoWriter, probe_video, read_frames, read_sampled
from blurkit.track import Track, Tracker, box_at

i18n.register({
    "video.frames_changed": {
        "en": "{path}: {before} frames were analysed but {after} were written; nothing was "
              "published.",
        "sv": "{path}: {before} bildrutor analyserades men {after} skrevs; inget publicerades.",
    },
})

MIN_VOTES = 3            # usable sampled frames a track needs before it can be shown
SAMPLE_SECONDS = 0.5     # a track's face is sampled for recognition at most this often
HOLD_SECONDS = 0.25      # masks held before the first and after the last detection
MAX_GAP_SECONDS = 1.0    # a track survives this long without a detection
STREAM_MEMORY = 512 << 20  # held-back frames in one-pass mode may use at most this much
PAINT_AHEAD = 3          # frames painted (or being painted) ahead of the encoder in one pass


@dataclass(frozen=True)
class VideoSettings:
    """Where detection runs. Frames are scaled to `min_scale` (a 32-px face stays ~13 px for
    the network, in any resolution), or to `detect_side` on the longer side when that is
    larger (small clips); detection runs on every `step`-th frame and tracks fill the frames
    between. Chosen with benchmarks/video.py: no face >= 32 px found by the independent leak
    check."""
    detect_side: int = 256
    min_scale: float = 0.4
    step: int = 3

    def scale(self, width: int, height: int) -> float:
        return min(1.0, max(self.detect_side / max(width, height), self.min_scale))


@dataclass
class TrackInfo:
    """What pass 1 learned about one track."""
    votes: list[int | None] = field(default_factory=list)   # matched person per usable sample
    templates: list[np.ndarray] = field(default_factory=list)
    qualities: list = field(default_factory=list)
    last_sample: int = -10 ** 9


@dataclass
class TrackDecision:
    track_id: int
    show: bool
    reason: str
    person_id: int | None = None
    consent_id: int | None = None
    similarity: float | None = None


def _area(b) -> float:
    return max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)


def _scale_detection(d: Detection, factor: float) -> Detection:
    box = tuple(v * factor for v in d.box)
    marks = None if d.landmarks is None else tuple((x * factor, y * factor) for x, y in d.landmarks)
    return Detection(box=box, score=d.score, landmarks=marks, detector=d.detector)


@dataclass
class Analysis:
    """What pass 1 found: the tracks, what recognition saw of them, the frame count."""
    tracker: Tracker
    infos: dict[int, TrackInfo] = field(default_factory=dict)
    frames: int = 0


class VideoJob:
    """Runs one clip for a pipeline Worker (which owns the detector, recognizer and options)."""

    def __init__(self, worker, src: Path, dest: Path,
                 progress: Callable[[str, int, int], None] | None = None,
                 settings: VideoSettings = VideoSettings()) -> None:
        self.worker = worker
        self.src = src
        self.dest = dest
        self.progress = progress or (lambda phase, done, total: None)
        self.settings = settings
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ pass 1

    def _fps(self, info: VideoInfo) -> float:
        return info.fps if info.fps and info.fps > 0 else 25.0

    def _detect_side(self, info: VideoInfo) -> int:
        """The longer side of the reduced frames detection runs on."""
        return round(max(info.width, info.height) * self.settings.scale(info.width, info.height))

    def new_analysis(self, info: VideoInfo) -> Analysis:
        max_gap = max(self.settings.step + 1, round(MAX_GAP_SECONDS * self._fps(info)))
        return Analysis(Tracker(max_gap=max_gap))

    def analyse(self, info: VideoInfo, state: Analysis) -> None:
        """Pass 1: detect on every `step`-th frame, link tracks, sample faces for recognition."""
        step = self.settings.step
        recognizer = self.worker.recognizer
        sample_every = max(1, round(SAMPLE_SECONDS * self._fps(info)))
        max_side = self._detect_side(info)
        total = info.frame_count or 0
        phase = "analyse"
        # recognition needs the full-resolution picture; detection alone a small copy
        frames = (read_frames(self.src, info, prefetch=3) if recognizer is not None else
                  read_sampled(self.src, info, every=step, max_side=max_side, prefetch=3))
        for frame in frames:
            if frame.index % step == 0:
                if recognizer is not None:
                    small, factor = frame.small(max_side)
                else:
                    small, factor = frame.rgb, frame.factor
                dets = [_scale_detection(d, factor)
                        for d in self.worker.video_detector.detect(small)]
                ids = state.tracker.update(frame.index, [d.box for d in dets],
                                           [d.score for d in dets])
                if recognizer is not None and dets:
                    self._sample(recognizer, frame, dets, ids, state.infos, sample_every)
            state.frames = frame.index + 1
            self.progress(phase, frame.index + 1, max(total, frame.index + 1))

    @staticmethod
    def _sample(recognizer, frame, dets, ids, infos, sample_every) -> None:
        for det, tid in zip(dets, ids):
            ti = infos.setdefault(tid, TrackInfo())
            if frame.index - ti.last_sample < sample_every:
                continue
            template, quality = recognizer.embed(frame.rgb, det)
            if template is None:      # not judgeable in this frame: no vote
                continue
            ti.last_sample = frame.index
            ident = recognizer.match([template], [quality])[0]
            ti.votes.append(ident.person_id)
            ti.templates.append(template)
            ti.qualities.append(quality)

    # ------------------------------------------------------------------ decide

    def decide(self, tracks, infos: dict[int, TrackInfo]) -> dict[int, TrackDecision]:
        options = self.worker.options
        recognizer = self.worker.recognizer
        decisions: dict[int, TrackDecision] = {}
        for track in tracks:
            ti = infos.get(track.id)
            if recognizer is None:
                decisions[track.id] = TrackDecision(track.id, False, "no_consented_person")
                continue
            if ti is None or len(ti.votes) < MIN_VOTES:
                decisions[track.id] = TrackDecision(track.id, False, "too_few_usable_frames")
                continue
            persons = set(ti.votes)
            if len(persons) != 1 or None in persons:
                decisions[track.id] = TrackDecision(track.id, False, "ambiguous")
                continue
            from blurkit.identify.recognizer import mean_template
            mean = recognizer.match([mean_template(ti.templates)], [ti.qualities[0]])[0]
            person = ti.votes[0]
            if mean.person_id != person:
                decisions[track.id] = TrackDecision(track.id, False, "ambiguous")
                continue
            verdict = options.snapshot.decide(person, options.purpose)
            if not (verdict.valid and verdict.consent_id is not None):
                decisions[track.id] = TrackDecision(track.id, False,
                                                    verdict.reason_key.rsplit(".", 1)[-1])
                continue
            decisions[track.id] = TrackDecision(track.id, True, "consent_valid", person,
                                                verdict.consent_id, mean.similarity)
        self._one_track_per_person(tracks, decisions)
        return decisions

    @staticmethod
    def _one_track_per_person(tracks, decisions) -> None:
        """Two tracks shown as the same person while both are on screen: hide the weaker."""
        shown = [t for t in tracks if decisions[t.id].show]
        for i, a in enumerate(shown):
            for b in shown[i + 1:]:
                da, db = decisions[a.id], decisions[b.id]
                if not (da.show and db.show) or da.person_id != db.person_id:
                    continue
                if a.first <= b.last and b.first <= a.last:
                    weaker = da if (da.similarity or 0) < (db.similarity or 0) else db
                    weaker.show, weaker.reason = False, "duplicate_in_frame"
                    weaker.person_id = weaker.consent_id = None

    # ------------------------------------------------------------------ pass 2

    def hold(self, info: VideoInfo) -> int:
        return max(1, round(HOLD_SECONDS * self._fps(info)))

    def render(self, info: VideoInfo, state: Analysis, hidden: Callable[[Track], bool]) -> dict:
        """Pass 2: every frame, with the boxes of the `hidden` tracks hidden."""
        painter = _Painter(self, info, state.tracker, hidden)
        with VideoWriter(self.src, self.dest, info) as out:
            for frame in read_frames(self.src, info, prefetch=3):
                out.write(frame, painter.paint(frame))
                self.progress("write", frame.index + 1, max(state.frames, frame.index + 1))
            if out.frames_written != state.frames:
                raise OutputError("video.frames_changed", path=str(self.src),
                                  before=state.frames, after=out.frames_written)
        return painter.stats(state.frames)

    def stream(self, info: VideoInfo, state: Analysis) -> dict:
        """One pass when every track is hidden: decode once, hold frames back `lookahead`
        frames, detect in a background thread, paint in another, write (encode) here."""
        step = self.settings.step
        max_side = self._detect_side(info)
        lookahead = max(state.tracker.max_gap, max(self.hold(info), step)) + 1
        detector = _BackgroundDetection(self.worker.video_detector, state.tracker, step)
        painter = _Painter(self, info, state.tracker, hidden=lambda track: True)
        held: deque = deque()        # decoded frames waiting for the detections after them
        painting: deque = deque()    # (frame, future painted pixels), in frame order
        total = info.frame_count or 0

        def paint(frame):
            detector.wait_for(frame.index + lookahead)
            return painter.paint(frame)

        def write(out, keep: int) -> None:
            while len(painting) > keep:
                frame, pixels = painting.popleft()
                out.write(frame, pixels.result())
                self.progress("stream", frame.index + 1, max(total, frame.index + 1))

        # one painting thread: frames are painted in order (the painter keeps the live
        # tracks), while this thread encodes the frames painted before
        painter_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blurkit-paint")
        detector.start()
        try:
            with VideoWriter(self.src, self.dest, info) as out:
                for frame in read_frames(self.src, info, prefetch=3):
                    state.frames = frame.index + 1
                    if frame.index % step == 0:
                        detector.submit(frame, max_side)
                    held.append(frame)
                    while held and held[0].index + lookahead <= frame.index:
                        ready = held.popleft()
                        painting.append((ready, painter_thread.submit(paint, ready)))
                    write(out, keep=PAINT_AHEAD)
                detector.finish()
                while held:
                    ready = held.popleft()
                    painting.append((ready, painter_thread.submit(paint, ready)))
                write(out, keep=0)
        finally:
            detector.stop()          # a painting still waiting for detections gives up
            painter_thread.shutdown(wait=True, cancel_futures=True)
        return painter.stats(state.frames)

    # ------------------------------------------------------------------ all

    def run(self) -> dict:
        info = probe_video(self.src)
        state = self.new_analysis(info)
        t = time.perf_counter()
        held_bytes = info.width * info.height * 3 * (state.tracker.max_gap + 2 * self.settings.step
                                                     + 2 * (PAINT_AHEAD + 1))
        if self.worker.recognizer is None and held_bytes <= STREAM_MEMORY:
            stats = self.stream(info, state)
            self.timings["analyse+write"] = time.perf_counter() - t
            decisions = {tr.id: TrackDecision(tr.id, False, "no_consented_person")
                         for tr in state.tracker.tracks}
        else:
            self.analyse(info, state)
            self.timings["analyse"] = time.perf_counter() - t
            t = time.perf_counter()
            decisions = self.decide(state.tracker.tracks, state.infos)
            self.timings["decide"] = time.perf_counter() - t
            t = time.perf_counter()
            stats = self.render(info, state, hidden=lambda track: not decisions[track.id].show)
            self.timings["write"] = time.perf_counter() - t
        seconds = sum(self.timings.values())
        stats["fps"] = round(stats["frames"] / seconds, 2) if seconds > 0 else None
        infos = state.infos
        stats["tracks"] = [
            {"id": t.id, "first_frame": t.first, "last_frame": t.last,
             "detections": len(t.frames), "max_score": round(max(t.scores), 4),
             "action": "shown" if decisions[t.id].show else "hidden",
             "reason": decisions[t.id].reason,
             "votes": len(infos[t.id].votes) if t.id in infos else 0,
             **({"person_id": decisions[t.id].person_id,
                 "consent_id": decisions[t.id].consent_id} if decisions[t.id].show else {})}
            for t in state.tracker.tracks]
        stats["width"], stats["height"], stats["duration"] = info.width, info.height, info.duration
        stats["audio_streams"] = len(info.audio)
        stats["dropped_streams"] = list(info.other_streams)
        return stats


class _Painter:
    """Hides, frame by frame, the boxes of the tracks `hidden` says to hide.

    As in photos, a hidden box lying mostly inside the box of a shown track in the same
    frame is that face found again (it joins the shown face), and hidden faces' margins
    never cover a shown face's own box. Tracks must be known up to the frame painted plus
    the lookahead (all of them in two-pass mode)."""

    def __init__(self, job: VideoJob, info: VideoInfo, tracker: Tracker,
                 hidden: Callable[[Track], bool]) -> None:
        self.job, self.tracker, self.hidden = job, tracker, hidden
        self.hold, self.step = job.hold(info), job.settings.step
        self.pad = max(self.hold, self.step)
        self.seen = 0
        self.live: list[Track] = []
        self.frames_hidden = self.strengthened = 0

    def paint(self, frame):
        tracks = self.tracker.tracks
        # tracks are numbered in the order they start; new ones join the live list
        self.live.extend(tracks[self.seen:])
        self.seen = len(tracks)
        self.live = [t for t in self.live
                     if t.last + self.pad + self.tracker.max_gap >= frame.index]
        boxes, shown = [], []
        for t in self.live:
            box = box_at(t, frame.index, self.hold, self.step)
            if box is not None:
                (boxes if self.hidden(t) else shown).append(box)
        if shown:
            boxes = [b for b in boxes
                     if not any(inside_share(b, s) >= NESTED and _area(s) >= _area(b)
                                for s in shown)]
        if not boxes:
            return frame.rgb
        self.frames_hidden += 1
        rgb, notes = self.job.worker.redact_checked(frame.rgb, boxes, self.job.src, shown=shown)
        self.strengthened += bool(notes)
        return rgb

    def stats(self, frames: int) -> dict:
        return {"frames": frames, "frames_with_hidden_faces": self.frames_hidden,
                "frames_hidden_again": self.strengthened}


class _BackgroundDetection:
    """Detection and tracking of sampled frames, in order, in a thread of its own (the
    inference releases the GIL, so it runs while the encoder works)."""

    def __init__(self, search, tracker: Tracker, step: int) -> None:
        self.search, self.tracker, self.step = search, tracker, step
        self.queue: deque = deque()
        self.cond = threading.Condition()
        self.done = -1          # highest sampled frame index detected and tracked
        self.busy = False       # a frame taken from the queue is being detected
        self.closed = False     # no more frames will be submitted
        self.quit = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="blurkit-detect", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def submit(self, frame, max_side: int) -> None:
        """Queue a decoded frame (not copied: frames are never changed in place); it is
        reduced to `max_side` in the detection thread."""
        with self.cond:
            self.queue.append((frame, max_side))
            self.cond.notify_all()

    def finish(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.quit = True
            self.cond.notify_all()
        self.thread.join()

    def wait_for(self, index: int) -> None:
        """Block until every sampled frame up to `index` is tracked (or all are). Raises the
        detection's error, or RuntimeError when detection was stopped before that."""
        last_needed = index - index % self.step
        with self.cond:
            self.cond.wait_for(lambda: self.error is not None or self.done >= last_needed
                               or self._drained() or self.quit)
            if self.error is not None:
                raise self.error
            if self.done < last_needed and not self._drained():
                raise RuntimeError("detection stopped before the frames a painting needs")

    def _drained(self) -> bool:
        """Every frame that will ever be submitted is detected (hold `cond`)."""
        return self.closed and not self.queue and not self.busy

    def _run(self) -> None:
        try:
            while True:
                with self.cond:
                    self.cond.wait_for(lambda: self.queue or self.closed or self.quit)
                    if self.quit or (self.closed and not self.queue):
                        return
                    frame, max_side = self.queue.popleft()
                    index, self.busy = frame.index, True
                small, factor = frame.small(max_side)
                dets = [_scale_detection(d, factor) for d in self.search.detect(small)]
                self.tracker.update(index, [d.box for d in dets], [d.score for d in dets])
                with self.cond:
                    self.done, self.busy = index, False
                    self.cond.notify_all()
        except BaseException as exc:  # handed to the writer, which aborts the output
            with self.cond:
                self.error = exc
                self.cond.notify_all()

