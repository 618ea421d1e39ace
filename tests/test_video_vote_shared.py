"""The video vote on a real clip (issue 23): one frame that is "the performer, though another
enrolled person is close" does not hide the performer's track; a track whose best match is not
the consenting person stays hidden.

Obama is registered from one clear portrait (identity_face_recognition_examples, obama2.jpg)
and processed in a weekly address (video_cross_recording_obama). No second person of the
shared sets comes close to him (the nearest labelled face is at 0.889), so the close one is
made: a second enrolled "person" whose template is as near to ONE sampled frame of the track
as the test asks (0.02 under Obama's similarity there: ambiguous between the two, Obama
still the best) and at least 0.05 under Obama in every other sampled frame and in the
track's mean (there he stays a clear match, margin 0.04). The frames and their
templates come from the real video flow (pass 1), the look-alike is stored in the real
registry, and `blurkit process` runs as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from blurkit.config import load_settings
from blurkit.consent import Registry
from blurkit.consent.registry import load_snapshot
from blurkit.engine.redact import detail_correlation
from blurkit.identify import MODEL_NAME, enrol_photos
from blurkit.media.video import probe_video, read_frames

pytestmark = pytest.mark.shared_data

CLIP = "video_cross_recording_obama/obama_address_01.mp4"
PORTRAIT = "identity_face_recognition_examples/images/obama/obama2.jpg"
SLACK = 0.05      # the look-alike stays this far under Obama in every other frame and the mean


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def look_alike(a: np.ndarray, frames: np.ndarray, k: int, delta: float,
               slack: float = SLACK) -> tuple[np.ndarray, float]:
    """A unit template B with B.f_k = a.f_k + delta exactly, and B.f_j <= a.f_j - slack for
    every other frame j and for the frames' mean (so those stay clear matches of `a`:
    matching's margin is 0.04). Returns (B, worst), worst <= 0 when every bound holds.
    Projected (sub)gradient descent on the largest bound violation, over the unit ball cut by
    the plane B.f_k = target (projecting onto it is exact: a smaller ball in the plane)."""
    a = unit(a.astype(np.float64))
    f = frames.astype(np.float64)
    mean = unit(f.mean(0))
    rows = np.stack([f[j] for j in range(len(f)) if j != k] + [mean])
    caps = rows @ a - slack
    fk, target = f[k], float(f[k] @ a) + delta
    centre = target * fk / (fk @ fk)
    room = np.sqrt(max(0.0, 1 - centre @ centre))

    def project(b):
        b = b + (target - fk @ b) * fk / (fk @ fk)
        r = b - centre
        n = np.linalg.norm(r)
        return centre + (r * (room / n) if n > room else r)

    b = project(a.copy())
    for _ in range(3000):
        z = (rows @ b - caps) / 0.003
        w = np.exp(z - z.max())
        b = project(b - 0.002 * ((w / w.sum()) @ rows))
    b = b / max(1.0, float(np.linalg.norm(b)))
    # fill up to unit length with a direction orthogonal to every frame (changes nothing)
    basis, _ = np.linalg.qr(np.column_stack([a, *f]))
    z = np.random.default_rng(0).normal(size=a.shape)
    b = b + np.sqrt(max(0.0, 1 - float(b @ b))) * unit(z - basis @ (basis.T @ z))
    assert abs(float(fk @ b) - target) < 1e-4
    return b.astype(np.float32), float((rows @ b - caps).max())


def ambiguous_frame(a, frames, delta=-0.02) -> tuple[int, np.ndarray]:
    """The sampled frame a look-alike can come near with every other bound held best."""
    fits = [(look_alike(a, frames, k, delta)[1], k) for k in range(len(frames))]
    worst, k = min(fits)
    assert worst <= 0, f"no look-alike fits this clip's frames: {fits}"
    return k, look_alike(a, frames, k, delta)[0]


def blurkit(*args, data_dir):
    return subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=900,
                          env={**os.environ, "BLURKIT_LANG": "en"})


def registry(data: Path, models_dir: Path, people: list[tuple[str, list, bool]]) -> list[int]:
    """Enrol (name, templates, consent for "public") each; returns their person ids."""
    settings = load_settings(data).replace(models_dir_override=models_dir)
    ids = []
    with Registry.open(settings) as reg:
        for name, templates, consent in people:
            person = reg.add_person(name)
            reg.add_templates(person.id, templates, MODEL_NAME)
            if consent:
                reg.add_consent(person.id, purpose="public", signed=date(2026, 1, 1),
                                form_ref=f"F-{name}")
            ids.append(person.id)
    return ids


@pytest.fixture(scope="module")
def track(shared_data, models_dir, tmp_path_factory):
    """The sampled frames of the clip's main track, as the video flow samples them."""
    from blurkit.engine.pipeline import Options, Worker
    from blurkit.engine.videoflow import VideoJob

    base = tmp_path_factory.mktemp("vote")
    data = base / "probe-data"
    data.mkdir()
    settings = load_settings(data).replace(models_dir_override=models_dir)
    obama = enrol_photos([shared_data / PORTRAIT], settings).templates[0]
    registry(data, models_dir, [("Obama", [obama], True)])
    worker = Worker(Options(models_dir=models_dir, snapshot=load_snapshot(settings),
                            purpose="public", threads=2))
    src = shared_data / CLIP
    job = VideoJob(worker, src, base / "unused.mp4")
    info = probe_video(src)
    state = job.new_analysis(info)
    job.analyse(info, state)
    ti = max(state.infos.values(), key=lambda t: len(t.templates))
    frames = np.stack(ti.templates)
    sims = frames @ obama
    assert len(frames) >= 6 and sims.min() >= 0.94      # every sample a clear match alone
    return base, obama, frames, sims


def run(base: Path, name: str, models_dir: Path, src: Path, people) -> tuple[dict, list, Path]:
    data = base / f"{name}-data"
    data.mkdir()
    ids = registry(data, models_dir, people)
    out, report = base / f"{name}-out", base / f"{name}.json"
    proc = blurkit("process", str(src), "-o", str(out), "--purpose", "public", "--report",
                   str(report), data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    item = json.loads(report.read_text())["files"][0]
    assert item["status"] == "ok", item
    return item, ids, Path(item["output"])


def visible_share(src: Path, out: Path, models_dir: Path) -> float:
    """Share of frames (every third) whose largest face (>= 48 px) keeps its detail in the
    output."""
    from blurkit.detect import load_detector
    det = load_detector("centerface", models_dir, threads=2)
    n = shown = 0
    for a, b in zip(read_frames(src), read_frames(out)):
        if a.index % 3:
            continue
        faces = [d for d in det.detect(a.rgb) if d.height >= 48]
        if not faces:
            continue
        n += 1
        shown += detail_correlation(a.rgb, b.rgb, max(faces, key=lambda d: d.height).box) > 0.8
    assert n > 30
    return shown / n


def main_track(item: dict) -> dict:
    return max(item["faces"], key=lambda t: t["detections"])


def test_one_ambiguous_frame_does_not_hide_the_consenting_performer(track, shared_data,
                                                                    models_dir):
    base, obama, frames, sims = track
    k, b = ambiguous_frame(obama, frames)
    assert float(frames[k] @ b) == pytest.approx(float(sims[k]) - 0.02, abs=1e-4)
    src = shared_data / CLIP
    item, (obama_id, other_id), out = run(base, "ambiguous", models_dir, src,
                                          [("Obama", [obama], True), ("Other", [b], False)])
    t = main_track(item)
    assert t["action"] == "shown" and t["person_id"] == obama_id, t
    # the doubt was seen, and counted as doubt: unsure, with the other person named (the
    # vote that hid the whole track before issue 23)
    amb = [v for v in t["votes"] if v.get("why") == "ambiguous"]
    assert len(amb) == 1 and amb[0]["kind"] == "unsure" and amb[0]["second_id"] == other_id
    assert amb[0]["person_id"] == obama_id
    assert sum(v["kind"] == "clear" for v in t["votes"]) >= len(frames) - 1
    assert visible_share(src, out, models_dir) >= 0.9


def test_the_track_stays_hidden_when_its_best_match_is_not_the_consenting_person(
        track, shared_data, models_dir):
    base, obama, frames, sims = track
    _, b = ambiguous_frame(obama, frames)
    src = shared_data / CLIP
    # the same two people, but the consent is the look-alike's
    item, (obama_id, other_id), out = run(base, "other-consents", models_dir, src,
                                          [("Obama", [obama], False), ("Other", [b], True)])
    assert all(t["action"] == "hidden" for t in item["faces"])
    assert item.get("shown", []) == []
    assert main_track(item)["reason"] not in ("consent_valid",)
    assert visible_share(src, out, models_dir) == 0.0
