"""Where the time of one video goes: CPU per stage of blurkit's one-pass flow.

Used by `benchmarks/video.py --profile` (and runnable alone:
`python benchmarks/videoprofile.py CLIP [CLIP ...]`).

Two runs of the real flow (`VideoJob` on a `Worker`, in this process, no consent: the common
one-pass case), instrumented from outside by wrapping the flow's own functions:

* **work** — every codec and inference on ONE thread (FFmpeg's decoder, x264, onnxruntime,
  OpenCV), so all CPU time of a stage is spent in the thread that calls it and per-thread
  CPU clocks (`time.thread_time`) around each call add up exactly. This is the cost of each
  stage, independent of how the stages overlap; the rest of the process's CPU time is the
  flow's own glue (queues, tracks, Python).
* **real** — the flow as `blurkit process` runs it (threads as shipped): wall time, process
  CPU time (all threads, FFmpeg's and x264's included), and what the main (encoding) thread
  did with its wall time: encoding, converting, or waiting for a painted frame.

The floor (decode + encode with blurkit's encoder settings, `transcode_plain`) is measured
the same two ways, so the table shows what blurkit adds on top of it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class Clock:
    """Per-stage totals: CPU of the calling thread (`cpu`) and wall time (`wall`)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def add(self, name: str, cpu: float, wall: float) -> None:
        with self.lock:
            self.cpu[name] += cpu
            self.wall[name] += wall
            self.calls[name] += 1

    @contextlib.contextmanager
    def stage(self, name: str):
        c, w = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.thread_time() - c, time.perf_counter() - w)


@contextlib.contextmanager
def patched(patches):
    """Set attributes for the duration of the block: [(obj, name, value), ...]."""
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


def timed_call(clock: Clock, name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with clock.stage(name):
            return fn(*args, **kwargs)
    return wrapper


def timed_gen(clock: Clock, name: str, fn):
    """A generator function whose every step (next) is timed."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        it = fn(*args, **kwargs)
        try:
            while True:
                c, w = time.thread_time(), time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    clock.add(name, time.thread_time() - c, time.perf_counter() - w)
                    return
                clock.add(name, time.thread_time() - c, time.perf_counter() - w)
                yield item
        finally:
            it.close()
    return wrapper


def _instrument(clock: Clock, one_thread: bool):
    """The patches that time the flow's stages (and, with one_thread, pin every codec to
    one thread)."""
    from blurkit.detect.search import FaceSearch
    from blurkit.engine import pipeline, videoflow
    from blurkit.engine.track import Tracker
    from blurkit.media import video

    patches = [
        (video, "_decode", timed_gen(clock, "decode", video._decode)),
        (video, "_frames", timed_gen(clock, "decode+rgb", video._frames)),
        (video.Frame, "small", timed_call(clock, "downscale", video.Frame.small)),
        (FaceSearch, "detect", timed_call(clock, "detect", FaceSearch.detect)),
        (Tracker, "update", timed_call(clock, "track", Tracker.update)),
        (videoflow._Painter, "paint", timed_call(clock, "paint", videoflow._Painter.paint)),
        (pipeline, "redact", timed_call(clock, "paint:redact", pipeline.redact)),
        (pipeline, "still_visible",
         timed_call(clock, "paint:check", pipeline.still_visible)),
        (video.VideoWriter, "to_yuv", timed_call(clock, "rgb->yuv", video.VideoWriter.to_yuv)),
        (video.VideoWriter, "write_yuv",
         timed_call(clock, "write", video.VideoWriter.write_yuv)),
        (video.VideoWriter, "_encode",
         timed_call(clock, "write:encode", video.VideoWriter._encode)),
        (video.VideoWriter, "close", timed_call(clock, "close", video.VideoWriter.close)),
    ]
    if one_thread:
        open_ = video._open
        add_stream = video._add_video_stream

        def open_one(path):
            container = open_(path)
            for s in container.streams:
                if s.codec_context is not None:
                    s.codec_context.thread_count = 1
            return container

        def add_stream_one(out, info, **kw):
            vs = add_stream(out, info, **kw)
            vs.codec_context.thread_count = 1
            return vs

        patches += [(video, "_open", open_one), (video, "_add_video_stream", add_stream_one)]
    return patches


def _run(src: Path, work: Path, one_thread: bool, floor: bool) -> dict:
    import cv2

    from blurkit.config import load_settings
    from blurkit.engine.pipeline import Options, Worker, plan
    from blurkit.media.video import transcode_plain

    clock = Clock()
    cv2.setNumThreads(1 if one_thread else 0)
    threads = 1 if one_thread else (len(os.sched_getaffinity(0)) or 1)
    with patched(_instrument(clock, one_thread)):
        c0, w0 = time.process_time(), time.perf_counter()
        if floor:
            transcode_plain(src, work / "floor.mp4")
        else:
            with clock.stage("start-up (models)"):
                worker = Worker(Options(models_dir=load_settings().models_dir, threads=threads))
            result = worker.process(plan([src], work / "out").jobs[0])
            assert result.ok, result.error
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    cv2.setNumThreads(0)
    return {"cpu": cpu, "wall": wall, "stages": clock}


def _stage_rows(r: dict) -> list[tuple[str, float]]:
    """Exclusive CPU per stage from the inclusive, nested timings."""
    c = r["stages"].cpu
    paint = c.get("paint", 0.0)
    rows = [
        ("start-up: load models", c.get("start-up (models)", 0.0)),
        ("decode H.264", c.get("decode", 0.0)),
        ("YUV -> RGB (+ rotation)", c.get("decode+rgb", 0.0) - c.get("decode", 0.0)),
        ("downscale for detection", c.get("downscale", 0.0)),
        ("detection (network + search)", c.get("detect", 0.0)),
        ("tracking", c.get("track", 0.0)),
        ("paint: hide boxes", c.get("paint:redact", 0.0)),
        ("paint: pixel check", c.get("paint:check", 0.0)),
        ("paint: boxes per frame (tracks)",
         paint - c.get("paint:redact", 0.0) - c.get("paint:check", 0.0)),
        ("RGB -> YUV", c.get("rgb->yuv", 0.0)),
        ("encode x264 + mux + audio", c.get("write:encode", 0.0)),
        ("flush + verify + publish", c.get("close", 0.0)),
    ]
    rows.append(("glue (queues, threads, report)", r["cpu"] - sum(v for _, v in rows)))
    # (write_yuv minus x264 is a frame check and a buffer wrap: counted as glue)
    return rows


def profile_clip(src: Path, tmp: Path) -> str:
    """The profile of one clip as a Markdown block."""
    from blurkit.media.video import probe_video

    info = probe_video(src)
    out = []
    runs = {}
    for key, one, floor in (("work", True, False), ("floor-work", True, True),
                            ("real", False, False), ("floor-real", False, True)):
        work = tmp / f"{src.stem}-{key}"
        work.mkdir(parents=True)
        runs[key] = _run(src, work, one, floor)
    frames = info.frame_count or 1
    w = runs["work"]
    total = w["cpu"]
    out.append(f"\n#### {src.name} ({info.width}x{info.height}, {frames} frames)\n")
    out.append("CPU per stage, every codec and inference on one thread (ms per frame, share):\n")
    out.append("| stage | ms/frame | share |")
    out.append("|---|---|---|")
    for name, v in _stage_rows(w):
        out.append(f"| {name} | {1000 * v / frames:.2f} | {100 * v / total:.1f} % |")
    out.append(f"| **total blurkit (in-process, imports excluded)** | {1000 * total / frames:.2f} "
               f"| 100 % |")
    fw = runs["floor-work"]
    fs = fw["stages"].cpu
    out.append(f"| floor: decode + encode (same settings) | {1000 * fw['cpu'] / frames:.2f} | "
               f"{100 * fw['cpu'] / total:.1f} % "
               f"(decode {1000 * fs.get('decode', 0) / frames:.2f}, "
               f"encode {1000 * fs.get('write:encode', 0) / frames:.2f}) |")
    r, fr = runs["real"], runs["floor-real"]
    rc = r["stages"]
    out.append("\nAs shipped (threads as `blurkit process` uses them):\n")
    out.append("| run | wall s | CPU s (all threads) | CPU/wall | fps |")
    out.append("|---|---|---|---|---|")
    for name, x in (("blurkit (models loaded in the run)", r), ("floor", fr)):
        out.append(f"| {name} | {x['wall']:.2f} | {x['cpu']:.2f} | {x['cpu'] / x['wall']:.2f} | "
                   f"{frames / x['wall']:.1f} |")
    main_wall = r["wall"] - rc.wall.get("start-up (models)", 0.0)
    enc = rc.wall.get("write", 0.0)
    out.append(f"\nMain thread (it encodes): {100 * enc / main_wall:.0f} % of the flow's wall time "
               f"in VideoWriter.write_yuv (of which x264 "
               f"{100 * rc.wall.get('write:encode', 0) / main_wall:.0f} %), "
               f"start-up {rc.wall.get('start-up (models)', 0.0):.2f} s; "
               f"detection busy {100 * rc.wall.get('detect', 0) / main_wall:.0f} % "
               f"(summed over its threads), "
               f"painting {100 * rc.wall.get('paint', 0) / main_wall:.0f} %, "
               f"decode+RGB {100 * rc.wall.get('decode+rgb', 0) / main_wall:.0f} % of it.")
    return "\n".join(out)


def main() -> None:
    import argparse

    from common import machine

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="blurkit-video-profile-") as tmp:
        for clip in args.clips:
            print(profile_clip(clip, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
