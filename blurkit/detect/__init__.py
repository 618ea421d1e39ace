"""Face detection: one module per backend, one small common `Detection` type.

`load_detector(name, models_dir, threads)` gives a ready `FaceSearch` (see search.py for
how an image is searched). Names: "centerface" (default), "scrfd", "ensemble" (union of both).
"""

from __future__ import annotations

from pathlib import Path

from blurkit import i18n, modelstore
from blurkit.detect.common import Detection, FaceDetector
from blurkit.detect.search import FaceSearch, NetParams, SearchParams
from blurkit.errors import ConfigError

__all__ = ["Detection", "FaceDetector", "DETECTORS", "NET_PARAMS", "VIDEO_NET_PARAMS",
           "load_detector", "video_search"]

i18n.register({
    "detect.unknown": {
        "en": "Unknown detector '{name}'. Choose one of: {known}",
        "sv": "Okänd detektor '{name}'. Välj en av: {known}",
    },
})

# Score thresholds per network, chosen with benchmarks/photos.py (see search.py). On the
# WIDER subset (faces 16-31 / >= 32 px covered, face-free photos touched, photos/s here):
# centerface 95.7% / 99.2%, 1 of 22, 4.8; scrfd 90.4% / 97.2%, 1 of 22, 5.1 (crowd 0.25:
# 86.3% / 95.9%; 0.35: 81.3% / 94.8%); ensemble 96.0% / 99.2%, 2 of 22, 3.0.
NET_PARAMS = {
    "centerface": NetParams(floor=0.05, threshold=0.4, confident=0.5, crowd_threshold=0.05,
                            review_floor=0.2),
    "scrfd": NetParams(floor=0.15, threshold=0.5, confident=0.6, crowd_threshold=0.15,
                       review_floor=0.3),
}
# In video a face is seen in many frames, so a track fills the frames where its score dips:
# the crowd threshold can be higher (fewer false tracks to hide), measured with
# benchmarks/video.py and its independent leak check.
VIDEO_NET_PARAMS = {
    "centerface": NetParams(floor=0.15, threshold=0.4, confident=0.5, crowd_threshold=0.15),
    "scrfd": NetParams(floor=0.2, threshold=0.4, confident=0.6, crowd_threshold=0.2),
}
DETECTORS = ("centerface", "scrfd", "ensemble")


def _net(name: str, models_dir: Path, threads: int):
    path = modelstore.model_path(models_dir, name)
    if name == "centerface":
        from blurkit.detect.centerface import CenterFaceNet
        return CenterFaceNet(path, threads)
    from blurkit.detect.scrfd import ScrfdNet
    return ScrfdNet(path, threads)


def detector_models(name: str) -> list[str]:
    """The networks (model names) the detector setting `name` runs."""
    if name not in DETECTORS:
        raise ConfigError("detect.unknown", name=name, known=", ".join(DETECTORS))
    return ["centerface", "scrfd"] if name == "ensemble" else [name]


def load_detector(name: str, models_dir: Path, threads: int = 1,
                  params: SearchParams | None = None,
                  net_params: dict[str, NetParams] | None = None) -> FaceSearch:
    names = detector_models(name)
    chosen = {**NET_PARAMS, **(net_params or {})}
    nets = [(_net(n, models_dir, threads), chosen[n]) for n in names]
    return FaceSearch(nets, params or SearchParams())


def video_search(photo_search: FaceSearch, levels: int = 1) -> FaceSearch:
    """The same networks, tuned for video frames: frames are scaled down before detection
    and come upright, so one level at the given size and no rotated passes (a face filling
    a whole 1080p frame is ~430 px at the 0.4 scale video uses, within CenterFace's range),
    with the video thresholds."""
    nets = [(net, VIDEO_NET_PARAMS[net.name]) for net, _ in photo_search.nets]
    return FaceSearch(nets, SearchParams(fine_scale=1.0, rotations=False,
                                         coarse_min_side=10 ** 6 if levels == 1 else 320))
