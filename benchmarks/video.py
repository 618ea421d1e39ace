"""Video benchmark: speed against the decode+encode floor and deface, leaks, sound, tags.

    .venv/bin/python benchmarks/video.py [--data ../shared/data] [--clips pedestrians,talking]
                                         [--rounds 1] [--no-deface] [--no-leakcheck]
                                         [--profile] [--compare DIR]

For each clip, in the same run and on the same machine:

* floor: decoding and re-encoding the clip with blurkit's own encoder settings and no
  processing (`media.video.transcode_plain`) — what no anonymizer can beat;
* blurkit: `blurkit process CLIP -o OUT` end to end (start-up included: Python, imports,
  models), with Python's bytecode cache on as in an installed package (pip compiles it at
  install; a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise make every run compile
  blurkit's sources again, ~0.1 s): the cache goes to a temporary folder, filled once by
  `bytecode_env` before the timed runs;
* deface: `deface CLIP --keep-audio` (deface==1.5.0 in its own virtual environment).

With --compare DIR: the blurkit found in DIR (an export of an older commit:
`git archive COMMIT | tar -x -C /tmp/before`) also runs in every round, right after this one,
so before and after meet the same machine load; its ratio to the floor is printed beside.

With --profile: after the timed runs, where the time goes in each clip: CPU per stage with
every codec and inference on one thread, and the flow as shipped (benchmarks/videoprofile.py).

With --consent: each talking-head speaker in turn is enrolled from stills and must stay
visible in at least 90% of the other frames, while the other speakers' clips stay hidden.
(Registered from photos and filmed elsewhere, and stage-like copies: benchmarks/video_consent.py.)

Then the output is checked: an independent detector (SCRFD at full resolution on every
frame; blurkit uses CenterFace) must find no face >= 32 px where the input frame has one
(benchmarks/leakcheck.py `judge`; a face-like pattern the hiding made is listed apart); audio
must be present with the duration within 0.1 s; ffprobe must show no location, creation
time, make, model or encoder tag and no data, subtitle or attachment stream.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_DATA, ROOT, deface_bin, machine
from leakcheck import faces_per_frame, judge_video

from blurkit import modelstore
from blurkit.config import load_settings
from blurkit.detect.scrfd import ScrfdNet
from blurkit.media.video import probe_video, transcode_plain

CLIPS = {
    "pedestrians": ["video_facenet_pytorch_pedestrians/video.mp4"],
    "talking": [f"video_talking_heads_sadtalker_hdtf/{n}.mp4" for n in
                ("RD_Radio2_000", "RD_Radio34_000", "WDA_AlexandriaOcasioCortez_000",
                 "WDA_BobMenendez_000")],
}
BAD_TAGS = ("location", "creation_time", "make", "model", "encoder", "software", "com.apple")


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                          "-show_chapters", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def container_problems(path: Path, src: Path) -> list[str]:
    probe, before = ffprobe(path), ffprobe(src)
    problems = []
    tags = [k for k in probe["format"].get("tags", {}) if k.lower().startswith(BAD_TAGS)]
    for s in probe["streams"]:
        tags += [f"stream {s['index']}:{k}" for k in s.get("tags", {})
                 if k.lower().startswith(BAD_TAGS)]
        if s["codec_type"] not in ("video", "audio"):
            problems.append(f"stream {s['index']} is {s['codec_type']}")
    problems += [f"tag {t}" for t in tags]
    if probe.get("chapters"):
        problems.append("chapters")
    audio_in = sum(s["codec_type"] == "audio" for s in before["streams"])
    audio_out = sum(s["codec_type"] == "audio" for s in probe["streams"])
    if audio_out != audio_in or audio_out == 0:
        problems.append(f"audio streams {audio_in} -> {audio_out}")
    d_in, d_out = float(before["format"]["duration"]), float(probe["format"]["duration"])
    if abs(d_in - d_out) > 0.1:
        problems.append(f"duration {d_in:.3f} -> {d_out:.3f}")
    return problems


def bytecode_env(cache: Path, root: Path, pythonpath: str | None) -> dict:
    """The environment for a timed blurkit run from `root`: bytecode cached in `cache`
    (never in the repository), filled now by importing what `blurkit process` imports."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    subprocess.run([sys.executable, "-c",
                    "import av, cv2, onnxruntime, blurkit.cli, blurkit.engine.pipeline, "
                    "blurkit.engine.videoflow, blurkit.media.video, blurkit.detect.centerface"],
                   check=True, cwd=root, env=env, capture_output=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "blurkit")],
                   check=True, cwd=root, env=env, capture_output=True)
    return env


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--clips", default="pedestrians,talking")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-deface", action="store_true")
    ap.add_argument("--no-leakcheck", action="store_true")
    ap.add_argument("--consent", action="store_true",
                    help="also: an enrolled talking-head speaker stays visible, others hidden")
    ap.add_argument("--compare", type=Path, default=None,
                    help="also time the blurkit in DIR (an older build) in every round")
    ap.add_argument("--profile", action="store_true",
                    help="also: CPU per stage of each clip (benchmarks/videoprofile.py)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    net = None if args.no_leakcheck else ScrfdNet(
        modelstore.model_path(load_settings().models_dir, "scrfd"), threads=2)
    rows = []
    with tempfile.TemporaryDirectory(prefix="blurkit-video-bench-") as tmp:
        tmp = Path(tmp)
        envs = {"blurkit": bytecode_env(tmp / "pyc", ROOT, os.environ.get("PYTHONPATH"))}
        if args.compare is not None:
            envs["before"] = bytecode_env(tmp / "pyc", args.compare, str(args.compare))
        if args.consent:
            consent_check(args.data, tmp, net or ScrfdNet(
                modelstore.model_path(load_settings().models_dir, "scrfd"), threads=2))
        for group in args.clips.split(","):
            for rel in CLIPS[group]:
                src = args.data / rel
                info = probe_video(src)
                frames = info.frame_count or round(info.duration * info.fps)
                t = {"floor": 0.0, "blurkit": 0.0, "before": 0.0, "deface": 0.0}
                for rnd in range(args.rounds):
                    work = tmp / f"{src.stem}-{rnd}"
                    work.mkdir()
                    t["floor"] += timed(lambda: transcode_plain(src, work / "floor.mp4"))
                    out = work / "blurkit"
                    runs = {"blurkit": (ROOT, out, envs["blurkit"])}
                    if args.compare is not None:
                        runs["before"] = (args.compare, work / "before", envs["before"])
                    # alternate the order, so neither build always meets the same load
                    for tool in (list(runs) if rnd % 2 == 0 else list(runs)[::-1]):
                        cwd, dest, env = runs[tool]
                        t[tool] += timed(lambda: subprocess.run(
                            [sys.executable, "-m", "blurkit", "--data-dir",
                             str(work / f"data-{tool}"), "process", str(src), "-o", str(dest)],
                            check=True, cwd=cwd, capture_output=True, env=env))
                    if not args.no_deface:
                        t["deface"] += timed(lambda: subprocess.run(
                            [str(deface_bin()), str(src), "--keep-audio", "-o",
                             str(work / "deface.mp4")], check=True, capture_output=True))
                fps = {k: frames * args.rounds / v for k, v in t.items() if v}
                result = out / (src.stem + ".mp4")
                leaks = None
                if net is not None:
                    judged = judge_video(result, src, net, 32)
                    leaks = (sum(len(f) for f, _ in judged), sum(1 for f, _ in judged if f),
                             len(judged))
                    artefacts = [(i, a) for i, (_, a) in enumerate(judged) if a]
                    if artefacts:
                        print(f"{src.name}: artefacts (no face in the input there): {artefacts}")
                problems = container_problems(result, src)
                rows.append((src.name, f"{info.width}x{info.height}", frames, fps, leaks, problems))
                print(f"{src.name}: " + ", ".join(f"{k} {v:.1f} fps" for k, v in fps.items())
                      + (f"; leaks {leaks[0]} faces in {leaks[1]}/{leaks[2]} frames"
                         if leaks else "")
                      + (f"; problems: {problems}" if problems else "; container clean"),
                      flush=True)
    before = args.compare is not None
    print("\n| clip | size | frames | floor fps | blurkit fps | deface fps | blurkit/floor | "
          + ("before/floor | " if before else "")
          + "blurkit/deface | faces >= 32 px found in output | container |")
    print("|---|---|---|---|---|---|---|---|---|---|" + ("---|" if before else ""))
    for name, size, frames, fps, leaks, problems in rows:
        d = fps.get("deface")
        cells = [name, size, str(frames), f"{fps['floor']:.1f}", f"{fps['blurkit']:.1f}",
                 f"{d:.1f}" if d else "-", f"{fps['blurkit'] / fps['floor']:.2f}"]
        if before:
            cells.append(f"{fps['before'] / fps['floor']:.2f}")
        cells.append(f"{fps['blurkit'] / d:.2f}" if d else "-")
        cells.append("-" if leaks is None else f"{leaks[0]} in {leaks[1]}/{leaks[2]} frames")
        cells.append("clean" if not problems else "; ".join(problems))
        print("| " + " | ".join(cells) + " |")
    if args.profile:
        from videoprofile import profile_clip
        print(f"\n### Where the time goes (machine: {machine()})")
        with tempfile.TemporaryDirectory(prefix="blurkit-video-profile-") as tmp:
            for group in args.clips.split(","):
                for rel in CLIPS[group]:
                    print(profile_clip(args.data / rel, Path(tmp)), flush=True)



def consent_check(data: Path, tmp: Path, net: ScrfdNet) -> None:
    """Each talking-head speaker in turn is enrolled from three stills of the first second of
    their clip (each speaker appears in only one clip here, so 'another recording' is not
    available) and every clip is processed: the rest of the speaker's clip is the probe.
    Reports the share of frames in which the speaker's face (as found by the independent
    detector on the input) is left visible, and checks that the other speakers' clips stay
    fully hidden."""
    clips = [data / rel for rel in CLIPS["talking"]]
    for n, speaker in enumerate(clips):
        visible, judged, leaks = _consent_run(speaker, [c for c in clips if c != speaker],
                                              tmp / f"consent-{n}", net)
        print(f"enrolled speaker {speaker.name}: visible in {visible}/{judged} frames "
              f"({visible / max(judged, 1):.1%}) after the first 30; other speakers' clips: "
              + ", ".join(f"{name} {found} frames with a face >= 32 px" for name, found in leaks),
              flush=True)


def _consent_run(speaker: Path, strangers: list[Path], work: Path, net: ScrfdNet):
    import av
    import numpy as np
    from PIL import Image

    from blurkit.engine.redact import detail_correlation
    from blurkit.media.video import read_frames

    work.mkdir(parents=True)
    stills = []
    with av.open(str(speaker)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in (5, 15, 25):
                path = work / f"still_{i}.png"
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(path)
                stills.append(path)
            if i > 25:
                break
    env_data = ["--data-dir", str(work / "data")]
    subprocess.run([sys.executable, "-m", "blurkit", *env_data, "consent", "add", "Speaker",
                    *[a for p in stills for a in ("--photo", str(p))], "--purpose", "public",
                    "--signed", "2026-01-01", "--form-ref", "BENCH-1"],
                   check=True, cwd=ROOT, capture_output=True)
    out = work / "out"
    subprocess.run([sys.executable, "-m", "blurkit", *env_data, "process", str(speaker),
                    *map(str, strangers), "-o", str(out)], check=True, cwd=ROOT,
                   capture_output=True)
    originals = list(read_frames(speaker))
    outputs = list(read_frames(out / speaker.name))
    visible = judged = 0
    for a, b in zip(originals[30:], outputs[30:]):      # frames after the enrolment stills
        boxes, scores, _ = net.infer(a.rgb, 0.5)
        if len(boxes) == 0:
            continue
        box = boxes[int(np.argmax(scores))]
        judged += 1
        visible += detail_correlation(a.rgb, b.rgb, tuple(box)) > 0.8
    leaks = [(clip.name, sum(1 for f in faces_per_frame(out / clip.name, net, 32) if f))
             for clip in strangers]
    return visible, judged, leaks


if __name__ == "__main__":
    main()
