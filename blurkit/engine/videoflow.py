"""One video through the flow, in two passes over the frames.

Pass 1 (analyse): decode, detect faces on a reduced copy of every `step`-th frame, link them
into tracks, and — only when someone may be shown for this purpose — compute face
templates on sampled frames of each track. A scene cut (a sudden change of the whole
picture) ends every track; a face whose template no longer looks like the track's previous
one splits the track; after a doubtful link (a gap, a jump, a crossing face) the track is
sampled again at once and, until a template confirms the same face, the part after the link
is kept apart (blurkit/engine/track.py, DESIGN.md "Video: tracks and the consent vote").

Decide: each sampled frame votes (blurkit/engine/vote.py): clear for a person, another person, a
stranger, or unsure (not judgeable). A track is shown only when its votes name one person
clearly (enough clear votes, no vote for anyone else, the mean template agreeing) and that
person's consent is valid today; any other track — unknown, mixed, too few clear frames —
is hidden for its whole life, including the held frames before and after its detections.
Two tracks shown as the same person at the same time cannot both be right: the weaker is
hidden.

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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from blurkit.detect.common import Detection
from blurkit.engine.decide import NESTED, inside_share
from blurkit.engine.track import Track, Tracker, box_at, vouched
from blurkit.errors import OutputError
from blurkit.media.budget import video_heap
from blurkit.media.video import VideoInfo, VideoWriter, probe_video, read_frames, read_sampled

if TYPE_CHECKING:
    from blurkit.engine.videotext import TextTracks
    from blurkit.engine.vote import Vote

SAMPLE_SECONDS = 0.5     # a track's face is sampled for recognition at most this often
# (the vote's minimum of clear frames is blurkit.engine.vote.MIN_CLEAR)
# Two samples of one track whose templates are less alike than this are two faces: the
# track is split. The same face in consecutive samples of one shot: >= 0.964 in every clip
# of the shared video sets (talking heads, Obama addresses, their degraded copies); two
# different people: <= 0.934 over the shared identity sets (Damon vs DiCaprio), 99 % under
# 0.91.
SPLIT_SIMILARITY = 0.93
# A doubtful link: the face was missed for more than one detection interval, its box moved
# off itself (IoU with its previous box under this), or another face's box touches it.
DOUBTFUL_IOU = 0.3
DOUBTFUL_OVERLAP = 0.1
# ... or the face's look jumped: the mean absolute difference of 16x16 grey thumbnails of the
# box between consecutive detections, at least LOOK_RATIO times the track's median (floored
# at LOOK_FLOOR grey levels) and at least LOOK_MIN. Cheap (no template), so every detection
# is checked: it catches a face replaced in place by one that cannot be judged (blurred,
# turned), which the templates alone would never see.
LOOK_SIDE = 16
LOOK_RATIO = 4.0
LOOK_FLOOR = 2.0
LOOK_MIN = 10.0
# Scene cuts: the mean absolute difference of consecutive 64x36 grey thumbnails, against the
# median of the last CUT_HISTORY differences. A cut is a jump at least CUT_RATIO times that
# median (floored at CUT_FLOOR grey levels) and at least CUT_MIN grey levels. Chosen on the
# original clips (the montage's 7 cuts: 34-56 grey levels, >= 53x the median; no cut in the
# Obama clips: <= 5.7x; talking heads moving their heads: <= 9.7x) and checked on the
# degraded copies (the montage shrunk into a dark 640x360 stage: its cuts 2.8-7 levels,
# >= 11x; the Obama copies <= 5.7x).
CUT_THUMB = (64, 36)
CUT_HISTORY = 8
CUT_RATIO = 10.0
CUT_FLOOR = 0.25
CUT_MIN = 2.0
MAX_REPORT_VOTES = 30
# a hidden box joins a shown face only when it lies mostly inside it AND the shown box is at
# least this much larger (a part of the face found again), never a face of the same size
NESTED_AREA = 1.5
HOLD_SECONDS = 0.25      # masks held before the first and after the last detection
MAX_GAP_SECONDS = 1.0    # a track survives this long without a detection
STREAM_MEMORY = 512 << 20  # held-back frames in one-pass mode may use at most this much
PAINT_AHEAD = 3          # frames painted (or being painted) ahead of the encoder in one pass
DETECT_WORKERS = 2       # sampled frames inferred at once in one pass (at most one per core)
TEXT_EVERY = 2           # readable text is looked for on every TEXT_EVERY-th sampled frame
                         # (blurkit.engine.videotext: tracked and held like faces in between)


@dataclass(frozen=True)
class VideoSettings:
    """Where detection runs. Frames are scaled down so that the network's input keeps at
    least `detect_pixels` pixels (small clips; never enlarged), and never below `min_scale`
    (a 32-px face stays ~13 px for the network in any resolution); detection runs on every
    `step`-th frame and tracks fill the frames between. Chosen with benchmarks/video.py: no
    face >= 32 px found by the independent leak check (every 4th frame left 2 pedestrian
    frames with a face).

    `detect_pixels` (90,000: a 640x360 clip at 0.625, 480x270 at 0.83, 512x512 at 0.59;
    16:9 clips from 1,000 px wide on stay at `min_scale`) was chosen with
    benchmarks/smallfaces.py (DESIGN.md, "Small faces in small clips"): at 0.4 a 640x360
    copy of the pedestrian clip left 45 of 399 faces of 16-31 px visible, a 480x270 copy
    240 of 406 and 16 of 44 faces >= 32 px, and a 33-px head pasted into a 640x360 clip
    stayed visible in every frame; with 90,000 pixels all faces >= 32 px and 98.7-100 % of
    those of 16-31 px were hidden. It replaced a rule on the longer side (`detect_side`
    192): the network's cost follows its input's area, and a rule on the area lifts square
    clips such as the 512x512 talking heads less (0.59, not 0.78, for the same 640x360
    protection); they still pay 10-17 % of their speed."""
    detect_pixels: int = 90_000
    min_scale: float = 0.4
    step: int = 3

    def scale(self, width: int, height: int) -> float:
        return min(1.0, max((self.detect_pixels / (width * height)) ** 0.5, self.min_scale))


@dataclass
class TrackInfo:
    """What pass 1 learned about one track."""
    votes: list[Vote] = field(default_factory=list)
    templates: list[np.ndarray] = field(default_factory=list)
    qualities: list = field(default_factory=list)
    last_sample: int = -10 ** 9
    last_template: np.ndarray | None = None   # the newest template (appearance check)
    doubtful_from: int | None = None          # detection frame of an unconfirmed doubtful link
    look: np.ndarray | None = None            # thumbnail of the face at the last detection
    look_diffs: deque = field(default_factory=lambda: deque(maxlen=CUT_HISTORY))

    def look_jumped(self, rgb: np.ndarray, box) -> bool:
        """Record the face's thumbnail; True when it changed far more than it usually does."""
        import cv2
        h, w = rgb.shape[:2]
        x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
        x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
        if x2 - x1 < 2 or y2 - y1 < 2:
            return False
        look = cv2.resize(cv2.cvtColor(rgb[y1:y2, x1:x2], cv2.COLOR_RGB2GRAY),
                          (LOOK_SIDE, LOOK_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
        prev, self.look = self.look, look
        if prev is None:
            return False
        diff = float(np.abs(look - prev).mean())
        base = max(float(np.median(self.look_diffs)) if self.look_diffs else LOOK_FLOOR,
                   LOOK_FLOOR)
        if diff >= LOOK_MIN and diff >= LOOK_RATIO * base:
            return True
        self.look_diffs.append(diff)
        return False


class SceneCuts:
    """Online scene-cut detection on consecutive frames (see CUT_* above)."""

    def __init__(self) -> None:
        self.prev: np.ndarray | None = None
        self.diffs: deque = deque(maxlen=CUT_HISTORY)

    def is_cut(self, rgb: np.ndarray) -> bool:
        import cv2
        thumb = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), CUT_THUMB,
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        prev, self.prev = self.prev, thumb
        if prev is None:
            return False
        diff = float(np.abs(thumb - prev).mean())
        base = max(float(np.median(self.diffs)) if self.diffs else diff, CUT_FLOOR)
        if diff >= CUT_MIN and diff >= CUT_RATIO * base:
            self.diffs.clear()         # the next shot starts its own history
            return True
        self.diffs.append(diff)
        return False


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max(_area(a) + _area(b) - inter, 1e-9)


@dataclass
class TrackDecision:
    track_id: int
    show: bool
    reason: str
    person_id: int | None = None
    consent_id: int | None = None
    similarity: float | None = None
    lead: int | None = None       # whom the votes mostly named (the report's vote kinds)
    suggestion: dict | None = None  # hidden in the doubtful band (blurkit.identify.suggest)


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
    times: list[float] = field(default_factory=list)    # presentation time of each frame
    text: TextTracks | None = None                    # readable text (blurkit.engine.videotext)


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
        self.look = None          # the second look over sampled output frames (run() sets it)

    # ------------------------------------------------------------------ hooks
    # (a person's corrections from the review page: blurkit.engine.revise_video overrides these)

    two_pass = False     # analyse and decide even when nobody can be shown

    def adjust(self, tracks, decisions: dict[int, TrackDecision]) -> dict[int, TrackDecision]:
        """The decisions as they will be painted (default: as decided)."""
        return decisions

    def extra_boxes(self, frame) -> list:
        """Regions to hide in `frame` besides the tracks' (default: none)."""
        return []

    def painted(self, frame, out) -> None:
        """Every output frame, in order, once painted: the second look samples some."""
        if self.look is not None and self.look.wants(frame.index):
            self.look.add(frame.index, frame.time, frame.rgb, out)

    # ------------------------------------------------------------------ pass 1

    def _fps(self, info: VideoInfo) -> float:
        return info.fps if info.fps and info.fps > 0 else 25.0

    def _detect_side(self, info: VideoInfo) -> int:
        """The longer side of the reduced frames detection runs on."""
        return round(max(info.width, info.height) * self.settings.scale(info.width, info.height))

    def new_analysis(self, info: VideoInfo) -> Analysis:
        max_gap = max(self.settings.step + 1, round(MAX_GAP_SECONDS * self._fps(info)))
        text = None
        if getattr(self.worker, "text_search", None) is not None:
            from blurkit.detect.text import video_text_search
            from blurkit.engine.videotext import TextTracks
            text = TextTracks(video_text_search(self.worker.text_search),
                              self.settings.step * TEXT_EVERY, max_gap)
        return Analysis(Tracker(max_gap=max_gap), text=text)

    def analyse(self, info: VideoInfo, state: Analysis) -> None:
        """Pass 1: detect on every `step`-th frame, link tracks, sample faces for recognition.
        With recognition, every frame is checked for a scene cut too."""
        step = self.settings.step
        recognizer = self.worker.recognizer
        sample_every = max(1, round(SAMPLE_SECONDS * self._fps(info)))
        max_side = self._detect_side(info)
        total = info.frame_count or 0
        phase = "analyse"
        cuts = SceneCuts()
        # recognition needs the full-resolution picture; detection alone a small copy
        frames = (read_frames(self.src, info, prefetch=3, small_every=step, small_side=max_side)
                  if recognizer is not None else
                  read_sampled(self.src, info, every=step, max_side=max_side, prefetch=3))
        for frame in frames:
            if recognizer is not None and cuts.is_cut(frame.rgb):
                state.tracker.cut(frame.index)
            if frame.index % step == 0:
                if recognizer is not None:
                    small, factor = frame.small(max_side)
                else:
                    small, factor = frame.rgb, frame.factor
                dets = [_scale_detection(d, factor)
                        for d in self.worker.video_detector.detect(small)]
                ids = state.tracker.update(frame.index, [d.box for d in dets],
                                           [d.score for d in dets])
                if state.text is not None:      # (sampled decoding: the reduced frame)
                    state.text.update(frame.index, state.text.detect(
                        frame.index, frame.rgb, 1.0 if recognizer is not None else frame.factor))
                if recognizer is not None and dets:
                    self._sample(recognizer, frame, dets, ids, state, sample_every)
            state.frames = frame.index + 1
            if recognizer is not None:      # sampled-only decoding carries no times
                state.times.append(frame.time)
            self.progress(phase, frame.index + 1, max(total, frame.index + 1))
        if recognizer is not None:
            self._settle_doubts(state)

    def _sample(self, recognizer, frame, dets, ids, state: Analysis, sample_every) -> None:
        # (votes, and the recognition package they use, only matter when someone may be
        # shown: imported here, not at every start)
        from blurkit.engine.vote import vote_from

        infos, tracker, step = state.infos, state.tracker, self.settings.step
        for k, (det, tid) in enumerate(zip(dets, ids)):
            track = tracker.tracks[tid]
            ti = infos.setdefault(tid, TrackInfo())
            jumped = ti.look_jumped(frame.rgb, det.box)
            if ti.doubtful_from is None and len(track.frames) >= 2 and (
                    jumped or
                    track.frames[-1] - track.frames[-2] > step
                    or _iou(track.boxes[-1], track.boxes[-2]) < DOUBTFUL_IOU
                    or any(_iou(det.box, o.box) > DOUBTFUL_OVERLAP
                           for j, o in enumerate(dets) if j != k)):
                ti.doubtful_from = frame.index      # who is this now? look again at once
            if ti.doubtful_from is None and frame.index - ti.last_sample < sample_every:
                continue
            template, quality = recognizer.embed(frame.rgb, det)
            ident = recognizer.match([template], [quality])[0]
            vote = vote_from(frame.index, ident, judged=template is not None)
            if template is None:      # not judgeable in this frame: abstains, look again soon
                ti.votes.append(vote)
                continue
            if ti.last_template is not None and \
                    float(np.dot(template, ti.last_template)) < SPLIT_SIMILARITY:
                ti = self._split(state, track, ti, frame.index)
            ti.doubtful_from = None           # this template is the face from here on
            ti.last_sample = frame.index
            ti.last_template = template
            ti.votes.append(vote)
            ti.templates.append(template)
            ti.qualities.append(quality)

    @staticmethod
    def _split(state: Analysis, track: Track, ti: TrackInfo, at_frame: int) -> TrackInfo:
        """The face changed by `at_frame`: a new track from the first detection that is not
        surely the old face (the doubtful link, or the one after the last template)."""
        last_good = max((v.frame for v in ti.votes if v.judged), default=track.first)
        start = ti.doubtful_from if ti.doubtful_from is not None else min(
            (f for f in track.frames if f > last_good), default=at_frame)
        index = track.frames.index(start)
        if index == 0:              # nothing before it vouched for: the track stays whole
            return ti
        new = state.tracker.split(track, index)
        moved = TrackInfo(votes=[v for v in ti.votes if v.frame >= new.first], look=ti.look)
        ti.votes = [v for v in ti.votes if v.frame < new.first]
        state.infos[new.id] = moved
        ti.doubtful_from = None
        return moved

    def _settle_doubts(self, state: Analysis) -> None:
        """A doubtful link never confirmed by a template: the rest of the track is a track of
        its own (with no clear vote, so it is hidden)."""
        for tid, ti in list(state.infos.items()):
            if ti.doubtful_from is None:
                continue
            track = state.tracker.tracks[tid]
            if ti.doubtful_from in track.frames and track.frames.index(ti.doubtful_from) > 0:
                new = state.tracker.split(track, track.frames.index(ti.doubtful_from))
                state.infos[new.id] = TrackInfo(
                    votes=[v for v in ti.votes if v.frame >= new.first])
                ti.votes = [v for v in ti.votes if v.frame < new.first]
            ti.doubtful_from = None

    # ------------------------------------------------------------------ decide

    def decide(self, tracks, infos: dict[int, TrackInfo]) -> dict[int, TrackDecision]:
        from blurkit.engine.vote import decide_votes, two_bars
        from blurkit.identify.recognizer import mean_template
        from blurkit.identify.suggest import suggestion_report

        options = self.worker.options
        recognizer = self.worker.recognizer
        decisions: dict[int, TrackDecision] = {}
        for track in tracks:
            ti = infos.get(track.id) or TrackInfo()
            if recognizer is None:
                decisions[track.id] = TrackDecision(track.id, False, "no_consented_person")
                continue
            mean = mean_template(ti.templates)
            mean_ident = None if mean is None else recognizer.match(
                [mean], [max(ti.qualities, key=lambda q: q.sharpness or 0)])[0]
            result = two_bars(decide_votes(ti.votes, None if mean_ident is None else
                                           mean_ident.match_id), mean_ident)
            decisions[track.id] = decision = TrackDecision(track.id, False, result.reason or "",
                                                           lead=result.person_id)
            if not result.show:
                decision.suggestion = suggestion_report(result.suggestion, options.snapshot,
                                                        options.purpose)
                continue
            verdict = options.snapshot.decide(result.person_id, options.purpose)
            if not (verdict.valid and verdict.consent_id is not None):
                decision.reason = verdict.reason_key.rsplit(".", 1)[-1]
                continue
            decision.show, decision.reason = True, "consent_valid"
            decision.person_id, decision.consent_id = result.person_id, verdict.consent_id
            decision.similarity = mean_ident.similarity
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
        painter = _Painter(self, info, state.tracker, hidden, text=state.text)
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
        from blurkit.engine.cores import default_workers
        detector = _BackgroundDetection(self.worker.video_detector, state.tracker, step,
                                        workers=min(DETECT_WORKERS, default_workers()),
                                        text=state.text)
        painter = _Painter(self, info, state.tracker, hidden=lambda track: True, text=state.text)
        held: deque = deque()        # decoded frames waiting for the detections after them
        painting: deque = deque()    # (frame, future painted pixels), in frame order
        total = info.frame_count or 0

        def paint(frame, out):
            detector.wait_for(frame.index + lookahead)
            return out.to_yuv(painter.paint(frame))

        def write(out, keep: int) -> None:
            while len(painting) > keep:
                frame, pixels = painting.popleft()
                out.write_yuv(frame, pixels.result())
                self.progress("stream", frame.index + 1, max(total, frame.index + 1))

        # one painting thread: frames are painted in order (the painter keeps the live
        # tracks) and converted for the encoder, while this thread encodes the frames
        # painted before (x264 is the critical path: nothing else runs on this thread)
        painter_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blurkit-paint")
        detector.start()
        try:
            with VideoWriter(self.src, self.dest, info) as out:
                for frame in read_frames(self.src, info, prefetch=3, small_every=step,
                                         small_side=max_side):
                    state.frames = frame.index + 1
                    state.times.append(frame.time)
                    if frame.index % step == 0:
                        detector.submit(frame, max_side)
                    held.append(frame)
                    while held and held[0].index + lookahead <= frame.index:
                        ready = held.popleft()
                        painting.append((ready, painter_thread.submit(paint, ready, out)))
                    write(out, keep=PAINT_AHEAD)
                detector.finish()
                while held:
                    ready = held.popleft()
                    painting.append((ready, painter_thread.submit(paint, ready, out)))
                write(out, keep=0)
        finally:
            detector.stop()          # a painting still waiting for detections gives up
            painter_thread.shutdown(wait=True, cancel_futures=True)
        return painter.stats(state.frames)

    # ------------------------------------------------------------------ all

    def run(self) -> dict:
        with video_heap():          # freed frames go back to the system (memory budget)
            return self._run()

    def _run(self) -> dict:
        info = probe_video(self.src)
        state = self.new_analysis(info)
        if getattr(self.worker, "looker", None) is not None:
            from blurkit.engine.secondlook.video import VideoLook
            self.look = VideoLook(self.worker.looker, self._fps(info), info.frame_count)
        t = time.perf_counter()
        held_bytes = info.width * info.height * 3 * (state.tracker.max_gap + 2 * self.settings.step
                                                     + 2 * (PAINT_AHEAD + 1))
        if self.worker.recognizer is None and held_bytes <= STREAM_MEMORY \
                and not self.two_pass:
            stats = self.stream(info, state)
            self.timings["analyse+write"] = time.perf_counter() - t
            decisions = {tr.id: TrackDecision(tr.id, False, "no_consented_person")
                         for tr in state.tracker.tracks}
        else:
            self.analyse(info, state)
            self.timings["analyse"] = time.perf_counter() - t
            t = time.perf_counter()
            decisions = self.adjust(state.tracker.tracks,
                                    self.decide(state.tracker.tracks, state.infos))
            self.timings["decide"] = time.perf_counter() - t
            t = time.perf_counter()
            stats = self.render(info, state, hidden=lambda track: not decisions[track.id].show)
            self.timings["write"] = time.perf_counter() - t
        seconds = sum(self.timings.values())
        stats["fps"] = round(stats["frames"] / seconds, 2) if seconds > 0 else None
        fps = self._fps(info)

        def when(i: int) -> float:
            return state.times[i] if i < len(state.times) else i / fps

        stats["tracks"] = [track_report(t, decisions[t.id], state.infos.get(t.id), when)
                           for t in state.tracker.tracks]
        stats["cuts"] = list(state.tracker.cuts)
        stats["text"] = state.text.report(when) if state.text is not None else []
        stats["width"], stats["height"], stats["duration"] = info.width, info.height, info.duration
        stats["audio_streams"] = len(info.audio)
        stats["dropped_streams"] = list(info.other_streams)
        if self.look is not None:
            stats["pointers"] = self.look.pointers()
            stats["secondlook_seconds"] = round(self.look.seconds, 3)   # within the timings
        return stats


def track_report(track: Track, decision: TrackDecision, ti: TrackInfo | None,
                 when: Callable[[int], float]) -> dict:
    """One track for the report (JSON-able, small): when, where, what was decided and why,
    with the votes (at most MAX_REPORT_VOTES) that the decision rests on."""
    big = max(range(len(track.frames)), key=lambda i: _area(track.boxes[i]))
    votes = ti.votes if ti is not None else []
    out = {"id": track.id, "first_frame": track.first, "last_frame": track.last,
           "first_time": round(when(track.first), 3), "last_time": round(when(track.last), 3),
           "detections": len(track.frames), "max_score": round(max(track.scores), 4),
           "box": [round(v, 1) for v in track.boxes[big]], "box_frame": track.frames[big],
           "action": "shown" if decision.show else "hidden", "reason": decision.reason,
           "votes": _report_votes(votes, decision.lead),
           "votes_total": len(votes)}
    if decision.show:
        out["person_id"], out["consent_id"] = decision.person_id, decision.consent_id
    elif decision.suggestion is not None:
        out["suggestion"] = decision.suggestion
    return out


def _report_votes(votes: list[Vote], lead: int | None) -> list[dict]:
    if not votes:           # one pass: nobody voted (and the vote module is not loaded)
        return []
    from blurkit.engine.vote import report_votes
    return report_votes(votes, lead, MAX_REPORT_VOTES)


class _Painter:
    """Hides, frame by frame, the boxes of the tracks `hidden` says to hide.

    As in photos, a hidden box lying mostly inside the box of a shown track in the same
    frame is that face found again (it joins the shown face), and hidden faces' margins
    never cover a shown face's own box. Unlike photos, the shown box must be clearly larger
    (NESTED_AREA): in video a shown box may be interpolated or held while another face of the
    same size passes in front of it (a crossing), and that face must stay hidden. Tracks must
    be known up to the frame painted plus the lookahead (all of them in two-pass mode)."""

    def __init__(self, job: VideoJob, info: VideoInfo, tracker: Tracker,
                 hidden: Callable[[Track], bool], text=None) -> None:
        self.job, self.tracker, self.hidden = job, tracker, hidden
        self.text = text            # readable text's tracks (blurkit.engine.videotext), or None
        self.hold, self.step = job.hold(info), job.settings.step
        self.pad = max(self.hold, self.step)
        self.seen = 0
        self.live: list[Track] = []
        self.frames_hidden = self.strengthened = 0
        self._part_of: dict[tuple, bool] = {}
        # video hides with the box mask (Style.for_video: the head mask's oval reads as a
        # head to an independent detector when the box lags a moving face)
        self.style = job.worker.options.style.for_video()

    def paint(self, frame):
        out = self._paint(frame)
        self.job.painted(frame, out)
        return out

    def _paint(self, frame):
        tracks = self.tracker.tracks
        # tracks are numbered in the order they start; new ones join the live list
        self.live.extend(tracks[self.seen:])
        self.seen = len(tracks)
        self.live = [t for t in self.live
                     if t.last + self.pad + self.tracker.max_gap >= frame.index]
        hidden, shown = [], []
        for t in self.live:
            box = box_at(t, frame.index, self.hold, self.step)
            if box is not None:
                # beyond a cut or a split the box is not surely this face: it only hides
                show = not self.hidden(t) and vouched(t, frame.index)
                (shown if show else hidden).append((t, box))
        boxes = [b for t, b in hidden
                 if not any(inside_share(b, s) >= NESTED and _area(s) >= NESTED_AREA * _area(b)
                            and self.part_of(t, u) for u, s in shown)]
        shown = [s for _, s in shown]
        extra = list(self.job.extra_boxes(frame))
        texts = self.text.regions_at(frame.index, self.hold) if self.text is not None else []
        if not boxes and not extra and not texts:
            return frame.rgb
        self.frames_hidden += 1
        rgb = frame.rgb
        if boxes:
            rgb, notes = self.job.worker.redact_checked(rgb, boxes, self.job.src, shown=shown,
                                                        style=self.style)
            self.strengthened += bool(notes)
        if texts:        # readable text: hidden like faces, even over a shown face
            rgb = self.text.hide(frame.rgb, rgb, texts, self.style, self.job.src)
        if extra:        # drawn by a person: destroyed, even over a shown face
            rgb = self.job.worker.redact_regions(frame.rgb, rgb, extra, self.job.src)
        return rgb

    def part_of(self, t: Track, u: Track) -> bool:
        """Is hidden track `t` the shown face `u` found again (another scale of the search)?
        Only when `t` was never cut or split, lives within `u`'s life, and lay inside `u`'s
        box in every frame both were detected. A face that crosses in front of `u` was
        somewhere else before or after, so it stays hidden (fail-safe: a consenting face
        blotted once costs little; a stranger shown is a breach)."""
        key = (t.id, u.id, len(t.frames), len(u.frames))
        known = self._part_of.get(key)
        if known is None:
            boxes_u = dict(zip(u.frames, u.boxes))
            common = [(b, boxes_u[f]) for f, b in zip(t.frames, t.boxes) if f in boxes_u]
            known = (t.lo is None and t.hi is None and u.first <= t.first and t.last <= u.last
                     and bool(common) and all(inside_share(b, ub) >= NESTED for b, ub in common))
            self._part_of[key] = known
        return known

    def stats(self, frames: int) -> dict:
        return {"frames": frames, "frames_with_hidden_faces": self.frames_hidden,
                "frames_hidden_again": self.strengthened}


class _BackgroundDetection:
    """Detection and tracking of sampled frames in threads of their own (the inference
    releases the GIL, so it runs while the encoder works). Up to `workers` frames are
    inferred at once and their faces join the tracks strictly in frame order: nothing is
    painted before the detections `lookahead` frames after it are tracked, so at the start
    of a clip the encoder waits for the first `lookahead / step` detections, and one
    inference at a time leaves a core idle then (onnxruntime's own threads barely shorten
    one small inference)."""

    def __init__(self, search, tracker: Tracker, step: int,
                 workers: int = DETECT_WORKERS, text=None) -> None:
        self.search, self.tracker, self.step = search, tracker, step
        self.text = text        # readable text's tracks (blurkit.engine.videotext), or None
        self.workers = max(1, workers)
        self.queue: deque = deque()
        self.cond = threading.Condition()
        self.done = -1          # highest sampled frame index detected and tracked
        self.busy = False       # frames taken from the queue are being detected or tracked
        self.closed = False     # no more frames will be submitted
        self.quit = False
        self.error: BaseException | None = None
        self.pool = ThreadPoolExecutor(max_workers=self.workers,
                                       thread_name_prefix="blurkit-infer")
        self.thread = threading.Thread(target=self._run, name="blurkit-detect", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def submit(self, frame, max_side: int) -> None:
        """Queue a decoded frame (not copied: frames are never changed in place); it is
        reduced to `max_side` in a detection thread."""
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
        self.pool.shutdown(wait=True, cancel_futures=True)

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

    def _detect(self, frame, max_side: int):
        small, factor = frame.small(max_side)
        texts = (self.text.detect(frame.index, frame.rgb, 1.0) if self.text is not None
                 else None)
        return [_scale_detection(d, factor) for d in self.search.detect(small)], texts

    def _wake(self, _future) -> None:
        with self.cond:           # an RLock: safe when the future was done on submission
            self.cond.notify_all()

    def _ready(self, inflight: deque) -> bool:
        """Something to do (hold `cond`): quit, a free worker for a queued frame, the oldest
        inference finished, or nothing left at all."""
        return (self.quit or bool(self.queue and len(inflight) < self.workers)
                or bool(inflight and inflight[0][1].done())
                or (self.closed and not self.queue and not inflight))

    def _run(self) -> None:
        inflight: deque = deque()     # (frame index, future detections), in frame order
        try:
            while True:
                with self.cond:
                    # frames are handed to free workers while an older one is still being
                    # inferred: waiting on the oldest alone left a worker idle
                    self.cond.wait_for(lambda: self._ready(inflight))
                    if self.quit:
                        return
                    while self.queue and len(inflight) < self.workers:
                        frame, max_side = self.queue.popleft()
                        future = self.pool.submit(self._detect, frame, max_side)
                        inflight.append((frame.index, future))
                        future.add_done_callback(self._wake)
                    if not inflight:          # closed, and everything is tracked
                        return
                    self.busy = True
                    if not inflight[0][1].done():
                        continue
                index, future = inflight.popleft()
                dets, texts = future.result()
                self.tracker.update(index, [d.box for d in dets], [d.score for d in dets])
                if self.text is not None:
                    self.text.update(index, texts)
                with self.cond:
                    self.done, self.busy = index, bool(inflight)
                    self.cond.notify_all()
        except BaseException as exc:  # handed to the writer, which aborts the output
            with self.cond:
                self.error = exc
                self.cond.notify_all()
