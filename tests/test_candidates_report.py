"""Candidates for review reach the photo report: a face faded until the detector is unsure
of it (score between the review floor and the hiding threshold) is listed, not hidden."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
from conftest import ROOT, SAMPLES

from blurkit.detect import NET_PARAMS, load_detector
from blurkit.media.image import read_photo


def test_a_faded_face_is_a_candidate_in_the_report(tmp_path, models_dir):
    params = NET_PARAMS["centerface"]
    detector = load_detector("centerface", models_dir, threads=1)
    face = read_photo(SAMPLES / "portrait_exif_gps_thumbnail.jpg").pixels.astype(np.float32)
    grey = face.mean()
    picked = None
    for contrast in np.geomspace(0.05, 0.003, 30):   # fade until the score falls into the band
        img = np.clip(grey + (face - grey) * contrast, 0, 255).astype(np.uint8)
        kept, candidates = detector.detect_with_candidates(img)
        if not kept and candidates:
            picked = img
            break
    assert picked is not None, "no contrast gave a face between the review floor and the threshold"
    best = max(candidates, key=lambda c: c.score)
    assert params.review_floor <= best.score < params.threshold

    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "faded.png"), cv2.cvtColor(picked, cv2.COLOR_RGB2BGR))
    env = {**os.environ, "BLURKIT_LANG": "en"}
    proc = subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(tmp_path / "data"),
                           "process", str(src), "-o", str(tmp_path / "out"),
                           "--report", str(tmp_path / "r.json")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    [item] = json.loads((tmp_path / "r.json").read_text())["files"]
    assert item["hidden"] == 0
    listed = item["extra"]["candidates"]
    assert [c["box"] for c in listed] == [[round(v, 1) for v in c.box] for c in candidates]
    assert all(params.review_floor <= c["score"] < params.threshold for c in listed)
