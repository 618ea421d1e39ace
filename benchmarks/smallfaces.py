"""Small faces in small video clips: are faces of 16-31 px hidden, and at what speed?

    .venv/bin/python benchmarks/smallfaces.py [--data ../shared/data] [--rounds 1]
                                              [--rules shipped,side192,side400,area90k]
                                              [--clips ped640,ped480,montage640,distance640,talking]

The leak check (benchmarks/leakcheck.py) counts faces >= 32 px only. Video detection runs on
frames reduced to `VideoSettings.scale`; at 0.4 (every clip of 480 px and more until the
rule changed with this benchmark) a 16-px face is ~6 px for the network. This benchmark
measures what a rule costs in small clips: faces missed and speed.

Clips (made with ffmpeg, libx264 crf 18, audio copied, into a temporary folder):

* ped640 / ped480: the 1080p pedestrian clip scaled to 640x360 / 480x270 (its passers-by
  become faces of ~12-40 px); ped1080: the clip itself (not in the default set: every rule
  here runs 1080p at 0.4);
* sq512: its middle 1536 px at the same scale as ped640 (512x360), letterboxed to
  512x512: the same faces in a square clip of the talking heads' size;
* montage640: the Trump montage scaled to 640x360 (faces >= 32 px, hard cuts);
* distance640: the first Obama address scaled to 640x360 with two talking heads pasted on it
  at 32x32 and 44x44 px (faces of ~20 and ~33 px that talk and move: people at distance);
* talking: the four 512x512 talking-head clips as they are (one large face; they have a
  speed target, so they show the cost of a rule in the 480-640 px band).

Rules (`RULES`): `shipped` is `VideoSettings.scale` as it is; `sideN` keeps the longer side of
the network's input at >= N px, `areaNk` its area at >= N thousand px (both: scale 0.4 at
least, 1 at most). Each clip runs through `blurkit process` once per rule and round, with
the rule put in place of `VideoSettings.scale` in the child process before the CLI starts
(`--child`), so start-up is included as in benchmarks/video.py. Speed is the ratio of the
decode+encode floor's time (`media.video.transcode_plain`, timed in the same round) to
blurkit's; the order of the rules turns every round.

Judge: SCRFD-2.5G (the leak check's independent detector) at full resolution on every INPUT
frame finds the faces (score > 0.5, after NMS); each face of 16-31 px or >= 32 px is then
judged in the same output frame:

* hidden when the correlation of fine detail between input and output over the inner 70 %
  of the box is below HIDDEN_LIMIT (0.3; the photo benchmark's coverage rule);
* beside it, how many of the faces SCRFD at 0.5 still finds in the output (an output face
  overlapping the box: the leak check's rule). Where the detail is gone, such a find is a
  pattern the hiding made (see benchmarks/leakcheck.py); --list shows each one.

The floor's output (re-encoded, nothing hidden) is judged too, as a control: the judge must
call nearly every face shown there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import DEFAULT_DATA, ROOT, machine
from leakcheck import _overlaps, frame_faces, models_dir
from video import bytecode_env

from blurkit import modelstore
from blurkit.detect.scrfd import ScrfdNet
from blurkit.engine.redact import HIDDEN_LIMIT, detail_correlation
from blurkit.engine.videoflow import VideoSettings
from blurkit.media.video import probe_video, read_frames, transcode_plain


def side(detect_side: int, min_scale: float = 0.4):
    """The longer side of the network's input at least `detect_side` (the rule up to
    0.1.0's small-face change was side(192))."""
    return lambda w, h: min(1.0, max(detect_side / max(w, h), min_scale))


def area(pixels: int, min_scale: float = 0.4):
    """The network's input at least `pixels` pixels."""
    return lambda w, h: min(1.0, max((pixels / (w * h)) ** 0.5, min_scale))


def filled(rule, stride: int = 32):
    """`rule`, then enlarged until the network's input, which it pads to a multiple of
    `stride` anyway, is filled on one side (the same network cost, larger faces)."""
    def scale(w, h):
        s = rule(w, h)
        padded_w = -(-round(w * s) // stride) * stride
        padded_h = -(-round(h * s) // stride) * stride
        return min(1.0, padded_w / w, padded_h / h)
    return scale


_SHIPPED = VideoSettings.scale     # kept: the child process replaces VideoSettings.scale
RULES = {
    "shipped": lambda w, h: _SHIPPED(VideoSettings(), w, h),   # as VideoSettings says now
    **{f"side{d}": side(d) for d in (192, 320, 352, 384, 400, 512, 640)},
    **{f"area{k}k": area(k * 1000) for k in (60, 90, 120)},
    "area90kfill": filled(area(90_000)),
}
BANDS = (("16-31", 16, 32), (">=32", 32, 10 ** 6))
ENCODE = ["-c:v", "libx264", "-crf", "18", "-preset", "fast", "-pix_fmt", "yuv420p",
          "-c:a", "copy"]
TALKING = ("RD_Radio2_000", "RD_Radio34_000", "WDA_AlexandriaOcasioCortez_000",
           "WDA_BobMenendez_000")


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _filtered(src: Path, vf: str, dest: Path) -> Path:
    _ffmpeg(["-i", str(src), "-vf", vf, *ENCODE, str(dest)])
    return dest


def _scaled(src: Path, size: str, dest: Path) -> Path:
    return _filtered(src, f"scale={size}", dest)


def _distance(data: Path, dest: Path) -> Path:
    """An Obama address at 640x360 with two talking heads pasted at 32 and 44 px."""
    heads = data / "video_talking_heads_sadtalker_hdtf"
    graph = ("[0:v]scale=640:360[bg];[1:v]scale=32:32[a];[2:v]scale=44:44[b];"
             "[bg][a]overlay=120:150:shortest=1[t];[t][b]overlay=470:60:shortest=1[v]")
    _ffmpeg(["-i", str(data / "video_cross_recording_obama/obama_address_01.mp4"),
             "-i", str(heads / f"{TALKING[0]}.mp4"), "-i", str(heads / f"{TALKING[3]}.mp4"),
             "-filter_complex", graph, "-map", "[v]", "-map", "0:a", *ENCODE, str(dest)])
    return dest


def make_clips(data: Path, names: list[str], tmp: Path) -> dict[str, Path]:
    ped = data / "video_facenet_pytorch_pedestrians/video.mp4"
    makers = {
        "ped1080": lambda: ped,
        "ped640": lambda: _scaled(ped, "640:360", tmp / "ped640.mp4"),
        "ped480": lambda: _scaled(ped, "480:270", tmp / "ped480.mp4"),
        "sq512": lambda: _filtered(ped, "crop=1536:1080,scale=512:360,pad=512:512:0:76",
                                   tmp / "sq512.mp4"),
        "montage640": lambda: _scaled(data / "video_cross_recording_obama/trump_01.mp4",
                                      "640:360", tmp / "montage640.mp4"),
        "distance640": lambda: _distance(data, tmp / "distance640.mp4"),
    }
    clips = {}
    for name in names:
        if name == "talking":
            clips.update({n: data / "video_talking_heads_sadtalker_hdtf" / f"{n}.mp4"
                          for n in TALKING})
        else:
            clips[name] = makers[name]()
    return clips


@dataclass(frozen=True)
class Face:
    """One input face judged in the output frame."""
    frame: int
    band: str
    box: tuple
    detail: float       # detail correlation input/output over the box
    scrfd: bool         # SCRFD finds a face overlapping the box in the output

    @property
    def shown(self) -> bool:
        return self.detail >= HIDDEN_LIMIT


def band_of(box) -> str | None:
    return next((n for n, lo, hi in BANDS if lo <= box[3] - box[1] < hi), None)


def input_faces(net: ScrfdNet, src: Path) -> list[list[tuple]]:
    """Per input frame, SCRFD's faces of every band (>= 16 px)."""
    return [[b for b, _ in frame_faces(net, f.rgb, min_height=BANDS[0][1])]
            for f in read_frames(src)]


def judge(net: ScrfdNet, src: Path, out: Path, faces: list[list[tuple]]) -> list[Face]:
    judged, frames = [], 0
    for i, ((a, b), boxes) in enumerate(zip(zip(read_frames(src), read_frames(out)), faces)):
        frames += 1
        found = [box for box, _ in frame_faces(net, b.rgb)] if boxes else []
        judged += [Face(i, band_of(box), tuple(round(v) for v in box),
                        round(detail_correlation(a.rgb, b.rgb, box), 2),
                        any(_overlaps(box, f) for f in found)) for box in boxes]
    if frames != len(faces):
        raise SystemExit(f"{out}: {frames} frames judged, {len(faces)} in {src}")
    return judged


def tally(judged: list[Face], band: str) -> tuple[int, int, int, int, int]:
    """(faces hidden, faces, frames with all such faces hidden, frames, faces SCRFD finds
    in the output) for one size band."""
    faces = [f for f in judged if f.band == band]
    frames = {f.frame for f in faces}
    shown_frames = {f.frame for f in faces if f.shown}
    return (sum(not f.shown for f in faces), len(faces), len(frames - shown_frames),
            len(frames), sum(f.scrfd for f in faces))


def describe(judged: list[Face]) -> str:
    parts = []
    for band, _, _ in BANDS:
        hidden, n, ok, frames, scrfd = tally(judged, band)
        parts.append(f"{band} px: {hidden}/{n} faces hidden, {ok}/{frames} frames with all "
                     f"hidden, {scrfd} found by SCRFD in the output")
    return "; ".join(parts)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_rule(rule: str, src: Path, dest: Path, data_dir: Path, env: dict) -> None:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", rule,
                           "--data-dir", str(data_dir), "process", str(src), "-o", str(dest)],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{rule} on {src.name} failed:\n{proc.stderr[-2000:]}")


def child(rule: str, argv: list[str]) -> None:
    """`blurkit ARGV` with VideoSettings.scale following RULES[rule]."""
    from blurkit.cli import main as cli_main
    from blurkit.engine import videoflow
    chosen = RULES[rule]
    videoflow.VideoSettings.scale = lambda self, width, height: chosen(width, height)
    sys.argv = ["blurkit", *argv]
    cli_main()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3:])
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rules", default="shipped,side192,side320,side400,side640",
                    help="any of: " + ", ".join(RULES))
    ap.add_argument("--clips", default="ped640,ped480,montage640,distance640,talking")
    ap.add_argument("--list", action="store_true",
                    help="list every face left shown: frame, band, box, detail, SCRFD")
    args = ap.parse_args()
    rules = args.rules.split(",")
    print(f"machine: {machine()}")
    print(f"shipped: {VideoSettings()}")
    net = ScrfdNet(modelstore.model_path(models_dir(), "scrfd"), threads=os.cpu_count() or 1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="blurkit-smallfaces-") as tmp:
        tmp = Path(tmp)
        env = bytecode_env(tmp / "pyc", ROOT, os.environ.get("PYTHONPATH"))
        env["BLURKIT_MODELS_DIR"] = str(models_dir())   # each run has a --data-dir of its own
        clips = make_clips(args.data, args.clips.split(","), tmp)
        for name, src in clips.items():
            info = probe_video(src)
            faces = input_faces(net, src)
            times = {k: 0.0 for k in ["floor", *rules]}
            outs = {}
            for rnd in range(args.rounds):
                work = tmp / f"{name}-{rnd}"
                work.mkdir()
                outs["floor"] = work / "floor.mp4"
                times["floor"] += timed(lambda: transcode_plain(src, outs["floor"]))
                order = rules[rnd % len(rules):] + rules[:rnd % len(rules)]
                for rule in order:
                    dest = work / rule
                    times[rule] += timed(lambda: run_rule(rule, src, dest, work / f"d-{rule}", env))
                    outs[rule] = dest / (src.stem + ".mp4")
            for rule in ["floor", *rules]:
                judged = judge(net, src, outs[rule], faces)
                speed = times["floor"] / times[rule]
                scale = 1.0 if rule == "floor" else RULES[rule](info.width, info.height)
                rows.append((name, f"{info.width}x{info.height}", rule, scale, speed, judged))
                print(f"{name} {rule} (scale {scale:.3g}, {speed:.2f} of the floor): "
                      + describe(judged), flush=True)
                shown = [f for f in judged if f.shown or f.scrfd]
                if args.list and rule != "floor" and shown:
                    print(f"  shown or found ({len(shown)}, first 12): "
                          + ", ".join(f"frame {f.frame} {f.box} detail {f.detail}"
                                      + (" SCRFD" if f.scrfd else "") for f in shown[:12]))
    print("\n| clip | size | rule | scale | speed / floor | 16-31 px faces hidden | "
          "frames all hidden | SCRFD finds | >= 32 px faces hidden | frames all hidden | "
          "SCRFD finds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, size, rule, scale, speed, judged in rows:
        cells = [name, size, rule, f"{scale:.3g}", f"{speed:.2f}"]
        for band, _, _ in BANDS:
            hidden, n, ok, frames, scrfd = tally(judged, band)
            cells += [f"{hidden}/{n}", f"{ok}/{frames}", str(scrfd)]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
