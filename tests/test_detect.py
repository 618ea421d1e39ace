"""Detection: real models on the project's samples (and on shared media where present)."""

import json

import cv2
import numpy as np
import pytest
from conftest import SAMPLES

from blurkit.detect import load_detector
from blurkit.detect import nms as nms_module
from blurkit.detect.centerface import blob_of
from blurkit.detect.common import Detection, distinct_faces
from blurkit.detect.nms import nms, nms_reference
from blurkit.detect.search import SearchParams, _tiles, _unrotate
from blurkit.media.image import read_photo

MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())["files"]


def _found(detections, box, need=0.5):
    """Is the ground-truth box mostly inside one detection (or the other way round)?"""
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    for d in detections:
        dx1, dy1, dx2, dy2 = d.box
        inter = max(0, min(x2, dx2) - max(x1, dx1)) * max(0, min(y2, dy2) - max(y1, dy1))
        if inter / min(area, d.width * d.height) >= need:
            return True
    return False


@pytest.fixture(scope="module")
def detector(models_dir):
    return load_detector("centerface", models_dir, threads=2)


@pytest.mark.parametrize("name", [n for n, v in MANIFEST.items() if v["faces"]])
def test_every_sample_face_is_found(detector, name):
    pixels = read_photo(SAMPLES / name).pixels
    detections = detector.detect(pixels)
    for box in MANIFEST[name]["faces"]:
        assert _found(detections, box), f"{name}: face {box} missed"


def test_no_face_sample_has_no_detection(detector):
    assert detector.detect(read_photo(SAMPLES / "no_face.jpg").pixels) == []


def test_small_faces_in_a_12_megapixel_photo_are_found(detector):
    """Faces of 22-40 px pasted into a 4000 x 3000 canvas: the fine level is tiled."""
    group = read_photo(SAMPLES / "group_photo.jpg").pixels
    boxes = [b for b in MANIFEST["group_photo.jpg"]["faces"] if b[3] - b[1] <= 40]
    rng = np.random.default_rng(1)
    canvas = rng.integers(90, 140, size=(3000, 4000, 3), dtype=np.uint8)
    placed = []
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        pad = 30
        crop = group[y1 - pad:y2 + pad, x1 - pad:x2 + pad]
        oy, ox = 400 + 600 * (i % 4), 300 + 900 * i
        canvas[oy:oy + crop.shape[0], ox:ox + crop.shape[1]] = crop
        placed.append((ox + pad, oy + pad, ox + pad + x2 - x1, oy + pad + y2 - y1))
    detections = detector.detect(canvas)
    assert len(detector.pyramid(canvas)) >= 4
    for box in placed:
        assert _found(detections, box), f"face {box} ({box[3] - box[1]} px) missed in 12 MP"


def test_sideways_face_is_found_by_the_rotated_pass(models_dir):
    pixels = read_photo(SAMPLES / "portrait_text_chunks.png").pixels
    sideways = np.ascontiguousarray(np.rot90(pixels))
    with_rot = load_detector("centerface", models_dir, params=SearchParams(rotations=True))
    found = with_rot.detect(sideways)
    assert found and any("r" in d.detector.split("@")[1] for d in found)


def test_landmarks_lie_inside_the_face(detector):
    pixels = read_photo(SAMPLES / "portrait_exif_gps_thumbnail.jpg").pixels
    best = max(detector.detect(pixels), key=lambda d: d.score)
    x1, y1, x2, y2 = best.box
    left_eye, right_eye, nose, mouth_l, mouth_r = best.landmarks
    for x, y in best.landmarks:
        assert x1 <= x <= x2 and y1 <= y <= y2
    assert left_eye[0] < right_eye[0] and mouth_l[0] < mouth_r[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])


@pytest.mark.parametrize("name", ["scrfd", "ensemble"])
def test_other_detectors_find_the_portrait(models_dir, name):
    det = load_detector(name, models_dir)
    pixels = read_photo(SAMPLES / "portrait_exif_gps_thumbnail.jpg").pixels
    assert _found(det.detect(pixels), MANIFEST["portrait_exif_gps_thumbnail.jpg"]["faces"][0])


def test_tiles_cover_with_overlap_and_no_more():
    for length in (1281, 1536, 2250, 3000, 4000, 5000):
        tiles = _tiles(length, 1280, 128)
        assert tiles[0][0] == 0 and tiles[-1][1] == length
        (size,) = {b - a for a, b in tiles}
        assert size <= 1280 and size % 32 == 0
        for (a0, a1), (b0, b1) in zip(tiles, tiles[1:]):
            assert b0 <= a1 - 128                     # neighbours overlap by the overlap
        # as few tiles as 1280-px ones need, each no longer than the overlap asks (+ stride)
        assert len(tiles) == -(-(length - 128) // (1280 - 128))
        assert size * len(tiles) <= length + (len(tiles) - 1) * 128 + 32 * len(tiles)
    # a 12-MP photo's first coarse level: two tiles of 832, not two of 1280
    assert _tiles(1536, 1280, 128) == [(0, 832), (704, 1536)]
    assert _tiles(500, 1280, 128) == [(0, 500)]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_unrotate_maps_back(k):
    h, w = 40, 60
    img = np.zeros((h, w), np.uint8)
    img[5:10, 20:30] = 1   # original box x 20..30, y 5..10
    rot = np.rot90(img, k)
    ys, xs = np.nonzero(rot)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    back, _ = _unrotate(box, np.zeros((1, 5, 2), np.float32), k, h, w)
    assert back[0].tolist() == [20, 5, 30, 10]


def test_nms_and_distinct_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 6, 6]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95], np.float32)
    kept = nms(boxes, scores, 0.3)
    assert set(kept.tolist()) == {0, 2, 3}
    # the nested box [2,2,6,6] is the same face as [0,0,10,10]
    assert distinct_faces(boxes, scores) == 2



def test_network_input_is_what_opencv_makes():
    """blob_of gives cv2.dnn.blobFromImage's array, for whole pictures and for tiles cut from
    a larger one (not contiguous)."""
    rng = np.random.default_rng(5)
    picture = rng.integers(0, 256, (200, 320, 3), np.uint8)
    for rgb in (picture, picture[32:160, 64:288], np.ascontiguousarray(np.rot90(picture))):
        ours, theirs = blob_of(rgb), cv2.dnn.blobFromImage(rgb)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs)


def _random_boxes(rng, n, extent, sizes):
    xy = rng.uniform(0, extent, (n, 2))
    wh = np.exp(rng.uniform(np.log(sizes[0]), np.log(sizes[1]), (n, 2)))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def _nms_cases():
    """(boxes, scores, threshold): scattered and crowded sets of many sizes, tied scores,
    duplicates, and integer boxes whose overlaps fall exactly on the threshold."""
    rng = np.random.default_rng(11)
    for trial in range(40):
        n = int(rng.integers(1, 3000))
        extent = float(rng.choice([60, 400, 4000]))   # crowded .. scattered
        boxes = _random_boxes(rng, n, extent, (4, float(rng.choice([30, 300, 1500]))))
        if trial % 3 == 0:   # ties: a few distinct scores, in random order
            scores = rng.choice([0.05, 0.2, 0.5, 0.9], n)
        else:
            scores = rng.uniform(0, 1, n)
        if trial % 5 == 0:   # exact duplicates of earlier boxes
            boxes[n // 2:] = boxes[:n - n // 2]
        yield boxes, scores.astype(np.float32), float(rng.choice([0.3, 0.5, 0.1]))
    for trial in range(20):  # integer boxes: overlaps of exactly 0.3 (3/10) and 0.5
        n = int(rng.integers(1, 2000))
        xy = rng.integers(0, 40, (n, 2))
        boxes = np.concatenate([xy, xy + rng.integers(1, 12, (n, 2))], 1).astype(np.float32)
        yield boxes, rng.integers(1, 4, n).astype(np.float32), float(rng.choice([0.3, 0.5]))


def test_nms_equals_opencv_greedy(monkeypatch):
    """The indexed NMS keeps exactly OpenCV's boxes in OpenCV's order (small chunks, so that
    boxes meet across chunks)."""
    monkeypatch.setattr(nms_module, "NMS_DIRECT", 0)
    for chunk in (64, 2048):
        monkeypatch.setattr(nms_module, "NMS_CHUNK", chunk)
        for boxes, scores, threshold in _nms_cases():
            assert nms(boxes, scores, threshold).tolist() == \
                nms_reference(boxes, scores, threshold).tolist()


def test_nms_special_boxes_and_scores(monkeypatch):
    """Empty or non-finite boxes and scores of 0 are treated exactly as OpenCV treats them."""
    monkeypatch.setattr(nms_module, "NMS_DIRECT", 0)
    rng = np.random.default_rng(3)
    boxes = _random_boxes(rng, 200, 100, (5, 40))
    scores = rng.uniform(0, 1, 200).astype(np.float32)
    scores[::7] = 0.0
    assert nms(boxes, scores).tolist() == nms_reference(boxes, scores).tolist()
    for bad in ([5, 5, 5, 20], [np.nan, 0, 10, 10], [10, 10, 0, 0]):
        odd = boxes.copy()
        odd[17] = bad
        assert nms(odd, scores).tolist() == nms_reference(odd, scores).tolist()
    assert nms(boxes, np.zeros(200, np.float32)).tolist() == []


@pytest.mark.shared_data
def test_wider_sample_recall(detector, shared_data):
    """A quick recall check on 20 WIDER photos (the full measure is benchmarks/photos.py)."""
    root = shared_data / "wider_face_val_subset"
    boxes = json.loads((root / "boxes_xywh.json").read_text())
    found = total = 0
    for name in sorted(boxes)[::12]:
        pixels = read_photo(root / name).pixels
        dets = detector.detect(pixels)
        for x, y, w, h in boxes[name]:
            if h >= 32:
                total += 1
                found += _found(dets, (x, y, x + w, y + h), need=0.4)
    assert total > 50
    assert found / total >= 0.93, (found, total)


@pytest.mark.shared_data
def test_negatives_are_mostly_untouched(detector, shared_data):
    files = sorted((shared_data / "negatives_no_faces").glob("*.jpg"))
    touched = [f.name for f in files if detector.detect(read_photo(f).pixels)]
    assert len(files) >= 20
    assert len(touched) <= 0.1 * len(files), touched


def test_the_edited_graph_is_kept_checked_and_remade_when_damaged(models_dir, tmp_path):
    """The detector's graph with symbolic sizes is made once and kept in derived/; a damaged
    copy is never used (it is made again); a read-only folder still works."""
    import os
    import shutil
    import stat

    from blurkit import modelstore
    from blurkit.detect.centerface import _OUTPUTS, CenterFaceNet
    from blurkit.detect.onnx_backend import DERIVED, dynamic_model_bytes

    src = modelstore.model_path(models_dir, "centerface")
    model = tmp_path / src.name
    shutil.copyfile(src, model)
    dims = {name: ["N", ch, "h", "w"] for name, ch in _OUTPUTS.items()}
    fresh = dynamic_model_bytes(model, dims)
    (kept,) = (tmp_path / DERIVED).glob("*.onnx")
    assert kept.read_bytes() == fresh
    assert dynamic_model_bytes(model, dims) == fresh                  # from the kept copy
    assert len(list((tmp_path / DERIVED).glob("*.onnx"))) == 1
    other = dynamic_model_bytes(model, {n: ["N", ch, "y", "x"] for n, ch in _OUTPUTS.items()})
    assert other != fresh and len(list((tmp_path / DERIVED).glob("*.onnx"))) == 2

    damaged = bytearray(fresh)
    damaged[len(damaged) // 2] ^= 0xFF
    kept.write_bytes(bytes(damaged))
    assert dynamic_model_bytes(model, dims) == fresh                  # not the damaged one
    assert kept.read_bytes() == fresh                                  # and repaired

    net = CenterFaceNet(model)                                         # and it runs
    boxes, scores, _ = net.infer(read_photo(SAMPLES / "portrait_exif_gps_thumbnail.jpg").pixels,
                                 0.5)
    assert len(boxes) >= 1

    shutil.rmtree(tmp_path / DERIVED)
    os.chmod(tmp_path, stat.S_IRUSR | stat.S_IXUSR)
    try:
        if not os.access(tmp_path, os.W_OK):     # (root can write anywhere)
            assert dynamic_model_bytes(model, dims) == fresh
            assert not (tmp_path / DERIVED).exists()
    finally:
        os.chmod(tmp_path, stat.S_IRWXU)


class _FixedNet:
    """A network whose every pass returns the same boxes and scores (image coordinates of a
    100 x 100 input, which stays one level and one tile)."""
    name = "fixed"

    def __init__(self, boxes, scores):
        self.boxes = np.array(boxes, np.float32).reshape(-1, 4)
        self.scores = np.array(scores, np.float32)

    def infer(self, rgb, floor):
        keep = self.scores > floor
        return (self.boxes[keep].copy(), self.scores[keep].copy(),
                np.zeros((int(keep.sum()), 5, 2), np.float32))


def test_candidates_lie_below_the_threshold_above_the_floor_and_off_the_faces():
    from blurkit.detect.search import FaceSearch, NetParams
    boxes = [(10, 10, 40, 40),   # 0.9: a face
             (12, 12, 40, 42),   # 0.3: the same face again, weaker: not a candidate
             (60, 10, 90, 40),   # 0.3: a candidate
             (60, 60, 90, 90),   # 0.1: under the review floor
             (10, 60, 40, 90)]   # 0.35: a candidate, ranked first
    net = _FixedNet(boxes, [0.9, 0.3, 0.3, 0.1, 0.35])
    params = NetParams(floor=0.05, threshold=0.4, confident=0.95, crowd_threshold=0.05,
                       review_floor=0.2)
    search = FaceSearch([(net, params)], SearchParams(rotations=False, coarse_min_side=1000))
    img = np.zeros((100, 100, 3), np.uint8)
    kept, candidates = search.detect_with_candidates(img)
    assert [d.box for d in kept] == [d.box for d in search.detect(img)]
    assert [d.box for d in kept] == [(10, 10, 40, 40)]
    assert [(d.box, round(d.score, 2)) for d in candidates] == [((10, 60, 40, 90), 0.35),
                                                               ((60, 10, 90, 40), 0.3)]
    assert [c.to_dict()["score"] for c in candidates] == [0.35, 0.3]


def test_a_group_photo_hides_down_to_the_crowd_threshold_and_offers_nothing_else():
    """Two clear faces make a group photo: everything down to the crowd threshold is hidden,
    and nothing between the crowd threshold and the review floor is offered for review."""
    from blurkit.detect.search import FaceSearch, NetParams
    net = _FixedNet([(10, 10, 40, 40), (60, 10, 90, 40), (60, 60, 90, 90)], [0.9, 0.8, 0.3])
    params = NetParams(floor=0.05, threshold=0.4, confident=0.5, crowd_threshold=0.25,
                       review_floor=0.2)
    search = FaceSearch([(net, params)], SearchParams(rotations=False, coarse_min_side=1000))
    kept, candidates = search.detect_with_candidates(np.zeros((100, 100, 3), np.uint8))
    assert len(kept) == 3 and candidates == []


def test_real_detector_candidates_agree_with_detect(detector):
    pixels = read_photo(SAMPLES / "group_photo.jpg").pixels
    kept, candidates = detector.detect_with_candidates(pixels)
    assert [d.box for d in kept] == [d.box for d in detector.detect(pixels)]
    for c in candidates:
        assert c.score < 0.4
        assert c.score >= 0.2


def test_rotated_pass_is_whole_up_to_2_mp_and_tiled_beyond(detector):
    """Memory budget: a 12-MP photo keeps its single rotated pass (same detections as
    before); a larger one is searched sideways in tiles plus one coarser level whole."""
    small = detector._rotated_levels(detector.pyramid(np.zeros((3000, 4000, 3), np.uint8)))
    assert [(lv.shape[:2], tiled) for lv, tiled in small] == [((1125, 1500), False)]
    big = detector._rotated_levels(detector.pyramid(np.zeros((6000, 8000, 3), np.uint8)))
    assert [tiled for _, tiled in big] == [True, False]
    assert big[0][0].shape[:2] == (2250, 3000)
    assert big[1][0].shape[0] * big[1][0].shape[1] <= SearchParams().rotated_whole_max


def test_sideways_face_in_a_24_mp_photo_is_found_by_the_tiled_rotated_pass(detector):
    pixels = read_photo(SAMPLES / "portrait_text_chunks.png").pixels
    sideways = np.ascontiguousarray(np.rot90(pixels))
    face = max(detector.detect(sideways), key=lambda d: d.score).box
    canvas = np.full((4000, 6000, 3), 128, np.uint8)
    assert detector._rotated_levels(detector.pyramid(canvas))[0][1]     # tiled
    oy, ox = 1950 - sideways.shape[0] // 2, 2800          # across the middle of the picture
    canvas[oy:oy + sideways.shape[0], ox:ox + sideways.shape[1]] = sideways
    want = (face[0] + ox, face[1] + oy, face[2] + ox, face[3] + oy)
    (params, c), = detector.candidates(canvas)
    turned = [Detection(box=tuple(b), score=float(s), landmarks=None, detector=t)
              for b, s, t in zip(c.boxes.tolist(), c.scores.tolist(), c.tags)
              if t.endswith(("r90", "r270")) and s >= params.threshold]
    assert _found(turned, want), "the sideways face was not found by a rotated pass"
