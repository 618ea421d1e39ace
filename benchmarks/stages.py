"""Per-stage cost of blurkit on this machine, the ground for the README's Pi estimate.

    .venv/bin/python benchmarks/stages.py [--rounds 3] [--frames 60]

Everything runs single-threaded (one inference thread, one codec thread), so each stage's
CPU time is the work of one core (the whole video flow runs its own threads: its CPU time
counts them all). CPU time (not wall time) is what is reported: on a shared machine it is
far less disturbed by the other processes than wall time. Each figure is the best of
--rounds.

* A 12-MP photo (4000 x 3000, samples/group_photo.jpg enlarged, on a plain
  border; no consents, so no recognition), the stages of the photo flow (`Worker._photo`): read +
  decode + hash, detection with the review candidates (`detect_with_candidates`: every
  network pass is counted: input pixels and multiply-adds, from the ONNX graph), hiding +
  the pixel check, encode + verify + write + hash.
  Then readable text (issue 25, setting text = hide, the default): the text search on the
  photo (`TextSearch.detect`, its network's passes and input pixels counted) and hiding the
  lines it found with their pixel check.
* A 1080p H.264 clip (tests/facevideo.py's generator, two faces moving): the whole
  `blurkit process` flow for video per frame, and its parts measured alone: decoding a
  frame to RGB, detection on the reduced frame the flow uses (`VideoSettings.scale`: 0.4
  for 1080p; every `step`-th frame), the text search on the full frame (every
  `step` x TEXT_EVERY-th frame), encoding a frame with x264 (blurkit's settings, RGB
  to YUV included). With nobody to show, the flow decodes the clip once (`stream`; the
  two-pass flow that decodes twice runs only when a consent may show someone).
* Recognition (dlib, only when someone with a valid consent may be shown) is left out: the
  estimate is for the default case, everyone hidden.

The baseline printed beside the detection stage is the same network's throughput on a plain
640 x 640 input measured in the same run (multiply-adds per second), so a reader can see
whether the search's passes run at the network's normal speed on this machine.
The machine (CPU model, cores, load) is printed first.

Last, the README's Pi estimate is computed from these figures by the README's method
(`pi_estimate`): each stage's CPU time times a per-core speed ratio (general code or the
FP32 network; `GENERAL`, `NETWORK`: general knowledge of published figures, not measured),
divided by the cores that work at once (`PHOTO_ONE_CORES` for the network of one photo,
`PHOTO_BATCH_CORES`, `VIDEO_CORES`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from common import ROOT, machine  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))

from blurkit import modelstore  # noqa: E402
from blurkit.detect import load_detector, video_search  # noqa: E402
from blurkit.detect.onnxgraph import make_dynamic  # noqa: E402
from blurkit.engine.videoflow import VideoSettings  # noqa: E402

cv2.setNumThreads(1)


# How many times slower than one core here a Pi core is (low, high), from published figures
# (README, "Pi figures on paper"): general code from Geekbench 6 single-core scores; the
# FP32 network between that ratio and the ratio of peak FP32 SIMD throughput per core.
GENERAL = {"Pi 4": (5.5, 7.0), "Pi 5": (2.0, 2.6)}
NETWORK = {"Pi 4": (6.0, 12.0), "Pi 5": (2.3, 4.3)}
PHOTO_ONE_CORES = 4 * 0.7    # one photo: inference on 4 threads at 70 %, the rest on one
PHOTO_BATCH_CORES = 4 * 0.8  # a batch: one worker per core, 80 % each
VIDEO_CORES = 3              # decoding, background detection, painting and x264 threads


def cpu() -> float:
    return time.process_time()


def conv_macs_per_pixel(model: Path, output_dims: dict[str, list], side: int = 640) -> float:
    """Multiply-adds of one pass per input pixel (Conv and ConvTranspose layers, which are
    nearly all of the work), from the graph's shapes at side x side. Needs the `onnx` package
    (the test extra)."""
    import onnx
    from onnx import numpy_helper, shape_inference

    m = onnx.load_from_string(make_dynamic(model.read_bytes(), output_dims))
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value, dims[2].dim_value, dims[3].dim_value = 1, side, side
    for out in m.graph.output:
        out.type.tensor_type.ClearField("shape")
    del m.graph.value_info[:]
    m = shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output)}
    weights = {w.name: numpy_helper.to_array(w).shape for w in m.graph.initializer}
    total = 0
    for node in m.graph.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            total += int(np.prod(out[2:])) * int(np.prod(weights[node.input[1]]))
        elif node.op_type == "ConvTranspose":
            inp = shapes[node.input[0]]
            total += int(np.prod(inp[2:])) * int(np.prod(weights[node.input[1]]))
    return total / (side * side)


class CountingText:
    """Wraps the text network: counts passes and input pixels (padded to 32)."""

    def __init__(self, net) -> None:
        self.net, self.name = net, net.name
        self.passes = self.pixels = 0

    def probability(self, rgb):
        h, w = rgb.shape[:2]
        self.passes += 1
        self.pixels += (-(-h // 32) * 32) * (-(-w // 32) * 32)
        return self.net.probability(rgb)


class Counting:
    """Wraps a network: counts passes and input pixels (after padding to the stride)."""

    def __init__(self, net) -> None:
        self.net, self.name, self.stride = net, net.name, net.stride
        self.passes = self.pixels = 0

    def infer(self, rgb, floor):
        h, w = rgb.shape[:2]
        s = self.stride
        self.passes += 1
        self.pixels += (-(-h // s) * s) * (-(-w // s) * s)
        return self.net.infer(rgb, floor)


def twelve_mp_photo(path: Path) -> None:
    from blurkit.media.image import read_photo

    rgb = read_photo(ROOT / "samples" / "group_photo.jpg").pixels      # 1600 x 1000
    big = cv2.resize(rgb, (4000, 2500), interpolation=cv2.INTER_CUBIC)
    canvas = np.zeros((3000, 4000, 3), np.uint8)
    canvas[:] = big[:1, :1].mean(axis=(0, 1))
    canvas[250:2750] = big
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def photo_stages(models: Path, photo: Path, out_dir: Path, rounds: int, macs: float) -> dict:
    from blurkit.engine.pipeline import Options, Worker
    from blurkit.engine.textmask import hide_text_checked
    from blurkit.fsutil import sha256_file
    from blurkit.media.image import read_photo, write_photo

    worker = Worker(Options(models_dir=models, threads=1))
    counting = Counting(worker.detector.nets[0][0])
    worker.detector.nets[0] = (counting, worker.detector.nets[0][1])
    text_net = CountingText(worker.text_search.net)
    worker.text_search.net = text_net
    best: dict[str, float] = {}
    faces = lines = 0
    for r in range(rounds):
        times = {}
        t = cpu()
        p = read_photo(photo)
        sha256_file(photo)
        times["read+decode+hash"] = cpu() - t
        counting.passes = counting.pixels = 0
        t = cpu()
        dets, cands = worker.detector.detect_with_candidates(p.pixels)
        times["detect"] = cpu() - t
        faces = len(dets)
        t = cpu()
        pixels, _ = worker.redact_checked(p.pixels, [d.box for d in dets], photo)
        times["hide+check"] = cpu() - t
        text_net.passes = text_net.pixels = 0
        t = cpu()
        regions = worker.text_search.detect(p.pixels)
        times["text"] = cpu() - t
        lines = len(regions)
        t = cpu()
        pixels, _ = hide_text_checked(p.pixels, pixels, regions, worker.options.style, photo)
        times["text hide+check"] = cpu() - t
        t = cpu()
        worker.looker.look(p.pixels, pixels, [(d.box, d.score) for d in dets],
                           [(c.box, c.score) for c in cands])
        times["second look"] = cpu() - t
        t = cpu()
        dest = out_dir / f"out{r}.jpg"
        write_photo(p, pixels, dest, jpeg_quality=worker.options.jpeg_quality)
        sha256_file(dest)
        times["encode+verify+write+hash"] = cpu() - t
        for k, v in times.items():
            best[k] = min(best.get(k, 1e9), v)
    return {"times": best, "faces": faces, "passes": counting.passes, "pixels": counting.pixels,
            "gmacs": counting.pixels * macs / 1e9, "text_lines": lines,
            "text_passes": text_net.passes, "text_pixels": text_net.pixels}


def plain_pass_rate(models: Path, rounds: int, macs: float) -> float:
    """G multiply-adds per CPU second of CenterFace on a 640 x 640 input (the baseline)."""
    det = load_detector("centerface", models, threads=1)
    net = det.nets[0][0]
    img = np.random.default_rng(1).integers(0, 255, (640, 640, 3), np.uint8)
    net.infer(img, 0.5)
    best = 1e9
    for _ in range(rounds):
        t = cpu()
        net.infer(img, 0.5)
        best = min(best, cpu() - t)
    return 640 * 640 * macs / 1e9 / best


def best_of(rounds: int, fn) -> float:
    """The least CPU time of `rounds` calls of fn()."""
    best = 1e9
    for _ in range(rounds):
        t = cpu()
        fn()
        best = min(best, cpu() - t)
    return best


def decode_rgb(src: Path) -> list[np.ndarray]:
    """Every frame of `src` as RGB, one decoder thread."""
    import av
    with av.open(str(src)) as c:
        c.streams.video[0].thread_type = "SLICE"
        c.streams.video[0].codec_context.thread_count = 1
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def encode_x264(frames: list[np.ndarray], dest: Path) -> None:
    """x264 with blurkit's settings, one thread, RGB -> YUV included."""
    import av

    from blurkit.media.video import DEFAULT_CRF, DEFAULT_PRESET
    height, width = frames[0].shape[:2]
    with av.open(str(dest), "w") as enc:
        vs = enc.add_stream("libx264", rate=25, options={"crf": str(DEFAULT_CRF),
                                                         "preset": DEFAULT_PRESET, "threads": "1"})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        for f in frames:
            frame = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
            for packet in vs.encode(frame):
                enc.mux(packet)
        for packet in vs.encode(None):
            enc.mux(packet)


def video_stages(models: Path, tmp: Path, frames: int, macs: float, rounds: int) -> dict:
    """CPU seconds per frame of each part, and of the whole flow, each the best of `rounds`."""
    from facevideo import make_face_clip

    from blurkit.engine.pipeline import Options, Worker, plan

    src = tmp / "in" / "hd.mp4"
    src.parent.mkdir()
    make_face_clip(src, n=frames, fps=25, width=1920, height=1080, tags=False)
    decoded = decode_rgb(src)
    n = len(decoded)
    out = {"decode (per frame)": best_of(rounds, lambda: decode_rgb(src)) / n}

    # detection alone on the flow's reduced frames, every `step`-th frame
    settings = VideoSettings()
    scale = settings.scale(1920, 1080)
    det = video_search(load_detector("centerface", models, threads=1))
    counting = Counting(det.nets[0][0])
    det.nets[0] = (counting, det.nets[0][1])
    size = (round(1920 * scale), round(1080 * scale))
    small = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in decoded[::settings.step]]
    det.detect(small[0])
    counting.passes = counting.pixels = 0
    out["detect (per detected frame)"] = best_of(
        rounds, lambda: [det.detect(f) for f in small]) / len(small)
    out["detect every n-th frame"] = settings.step
    out["detect scale"] = scale
    out["detect pixels per pass"] = counting.pixels / max(1, counting.passes)
    out["detect gmacs per pass"] = counting.pixels * macs / 1e9 / max(1, counting.passes)

    # the second look on one sampled output frame (the flow samples 2 a second)
    from blurkit.engine.secondlook import SecondLook
    from blurkit.engine.secondlook.video import VideoLook, VideoLookParams
    look = VideoLook(SecondLook(models, threads=1), 25.0, None)
    out["second look (per sampled frame)"] = best_of(
        rounds, lambda: look.add(0, 0.0, decoded[0], decoded[0]))
    out["second look every n-th frame"] = round(25.0 / VideoLookParams().per_second)

    # readable text alone, on the full frames the flow looks for text on
    from blurkit.detect.text import load_text_search, video_text_search
    from blurkit.engine.videoflow import TEXT_EVERY
    text = video_text_search(load_text_search(models, threads=1))
    every = settings.step * TEXT_EVERY
    text.detect(decoded[0])
    out["text (per text frame)"] = best_of(
        rounds, lambda: [text.detect(f) for f in decoded[::every]]) / len(decoded[::every])
    out["text every n-th frame"] = every

    out["encode x264 (per frame)"] = best_of(
        rounds, lambda: encode_x264(decoded, tmp / "enc.mp4")) / n

    # the whole flow, one worker, one inference thread (its codecs may use more threads:
    # CPU time counts them all); nobody may be shown, so it decodes once (`stream`)
    worker = Worker(Options(models_dir=models, threads=1))
    runs = iter(range(rounds))

    def whole() -> None:
        job = plan([src], tmp / f"out{next(runs)}").jobs[0]
        result = worker.process(job)
        assert result.ok, result.error
        assert set(result.timings) == {"analyse+write"}, result.timings   # one pass
    out["whole flow (per frame)"] = best_of(rounds, whole) / frames
    return out


def pi_estimate(photo: dict, video: dict) -> list[str]:
    """The README's Pi table rows from the measured stages (see the module text)."""
    # the networks (detection, the second look, text) are counted with the network's ratios
    detect = (photo["times"]["detect"] + photo["times"].get("second look", 0.0)
              + photo["times"].get("text", 0.0))
    rest = sum(photo["times"].values()) - detect
    net_frame = (video["detect (per detected frame)"] / video["detect every n-th frame"]
                 + video.get("second look (per sampled frame)", 0.0)
                 / video.get("second look every n-th frame", 1)
                 + video.get("text (per text frame)", 0.0) / video.get("text every n-th frame", 1))
    gen_frame = video["whole flow (per frame)"] - net_frame
    rows = {"12-MP photo, one at a time (s)": [], "12-MP photos in a batch (s per photo)": [],
            "core-seconds per photo": [], "core-ms per video frame": [],
            "1080p video (frames/s)": [], "1-min 30 fps clip (min)": []}
    for pi in GENERAL:
        (g_lo, g_hi), (n_lo, n_hi) = GENERAL[pi], NETWORK[pi]
        one = [detect * n / PHOTO_ONE_CORES + rest * g for n, g in ((n_lo, g_lo), (n_hi, g_hi))]
        core = [detect * n + rest * g for n, g in ((n_lo, g_lo), (n_hi, g_hi))]
        frame = [gen_frame * g + net_frame * n for n, g in ((n_lo, g_lo), (n_hi, g_hi))]
        fps = [VIDEO_CORES / f for f in reversed(frame)]
        rows["12-MP photo, one at a time (s)"].append(one)
        rows["12-MP photos in a batch (s per photo)"].append([c / PHOTO_BATCH_CORES for c in core])
        rows["core-seconds per photo"].append(core)
        rows["core-ms per video frame"].append([f * 1000 for f in frame])
        rows["1080p video (frames/s)"].append(fps)
        rows["1-min 30 fps clip (min)"].append([1800 / f / 60 for f in reversed(fps)])
    lines = [f"{'':40} " + "   ".join(f"{pi:>12}" for pi in GENERAL)]
    for name, cells in rows.items():
        lines.append(f"{name:40} " + "   ".join(f"{lo:5.1f} - {hi:5.1f}" for lo, hi in cells))
    lines.append(f"(photo: the networks (faces + text) {detect:.3f} s, the rest {rest:.3f} s; "
                 f"video per frame: networks {net_frame * 1000:.1f} ms, the rest "
                 f"{gen_frame * 1000:.1f} ms)")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args()
    from blurkit.config import load_settings
    models = load_settings().models_dir      # BLURKIT_MODELS_DIR or the default place
    print(f"machine: {machine()}")
    flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[-1].split("\n", 1)[0]
    print("SIMD: " + " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")
                              if f" {f}" in flags))
    macs = conv_macs_per_pixel(modelstore.model_path(models, "centerface"),
                               {n: ["N", c, "h", "w"] for n, c in
                                {"537": 1, "538": 2, "539": 2, "540": 10}.items()})
    print(f"CenterFace: {macs:,.0f} multiply-adds per input pixel (Conv + ConvTranspose)")
    with tempfile.TemporaryDirectory(prefix="blurkit-stages-") as tmp:
        tmp = Path(tmp)
        rate = plain_pass_rate(models, args.rounds, macs)
        print(f"baseline: CenterFace on 640x640, one thread: {rate:.1f} G multiply-adds per "
              "CPU second")
        photo = tmp / "12mp.jpg"
        twelve_mp_photo(photo)
        (tmp / "photo-out").mkdir()
        ph = photo_stages(models, photo, tmp / "photo-out", args.rounds, macs)
        total = sum(ph["times"].values())
        print(f"\n12-MP photo (4000x3000, {ph['faces']} faces), CPU seconds of one core "
              f"(best of {args.rounds}):")
        for k, v in ph["times"].items():
            print(f"  {k:26} {v:7.3f} s  {100 * v / total:5.1f} %")
        print(f"  {'total':26} {total:7.3f} s")
        print(f"  detection: {ph['passes']} network passes, {ph['pixels'] / 1e6:.1f} M input "
              f"pixels, {ph['gmacs']:.1f} G multiply-adds -> "
              f"{ph['gmacs'] / ph['times']['detect']:.1f} G/s (ratio to baseline "
              f"{ph['gmacs'] / ph['times']['detect'] / rate:.2f})")
        print(f"  text: {ph['text_passes']} network passes, {ph['text_pixels'] / 1e6:.1f} M input "
              f"pixels, {ph['text_lines']} lines found")
        vid = video_stages(models, tmp, args.frames, macs, args.rounds)
        print(f"\n1080p H.264 clip ({args.frames} frames), CPU seconds per frame "
              f"(best of {args.rounds}):")
        for k, v in vid.items():
            if "pixels" in k or "gmacs" in k or "every" in k or "scale" in k:
                print(f"  {k:30} {v:,.2f}")
            else:
                print(f"  {k:30} {v * 1000:8.1f} ms")
        step = vid["detect every n-th frame"]
        tstep = vid["text every n-th frame"]
        parts = (vid["decode (per frame)"] + vid["detect (per detected frame)"] / step
                 + vid["text (per text frame)"] / tstep + vid["encode x264 (per frame)"])
        print(f"  parts: decode + detection/{step} + text/{tstep} + encode = "
              f"{parts * 1000:.1f} ms; the whole "
              f"flow minus the parts (scaling, tracking, painting, checks; the parts are "
              f"measured alone, so a few ms either way is noise) = "
              f"{(vid['whole flow (per frame)'] - parts) * 1000:.1f} ms")
        print("\nPi estimate by the README's method (low - high):")
        print("\n".join("  " + line for line in pi_estimate(ph, vid)))


if __name__ == "__main__":
    main()
