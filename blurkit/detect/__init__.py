"""Face detection: one module per network, one small common `Detection` type.

`load_detector(name, models_dir, threads)` gives a ready `FaceSearch` (see search.py for
how an image is searched). The names a person can choose, and the networks each runs, are
`blurkit.choices.DETECTORS` and `blurkit.choices.NETS`; each network class carries its own
score thresholds for photos (`PHOTO_PARAMS`) and video (`VIDEO_PARAMS`).
"""

from __future__ import annotations

from pathlib import Path

from blurkit import choices, modelstore
from blurkit.detect.common import Detection, FaceDetector
from blurkit.detect.search import FaceSearch, NetParams, SearchParams
from blurkit.errors import ConfigError

__all__ = ["Detection", "FaceDetector", "NET_PARAMS", "VIDEO_NET_PARAMS", "load_detector",
           "net_params", "video_search"]


def net_class(net: str):
    """The class of network `net` (its module is imported on first use)."""
    return choices.NETS[net].load()


def net_params(net: str, video: bool = False) -> NetParams:
    """The score thresholds of network `net`, for photos or video frames."""
    cls = net_class(net)
    return cls.VIDEO_PARAMS if video else cls.PHOTO_PARAMS


def __getattr__(name: str):
    # NET_PARAMS / VIDEO_NET_PARAMS: {net: params} of every network (loads their modules)
    if name in ("NET_PARAMS", "VIDEO_NET_PARAMS"):
        return {net: net_params(net, video=name == "VIDEO_NET_PARAMS") for net in choices.NETS}
    raise AttributeError(f"module 'blurkit.detect' has no attribute {name!r}")


def _net(name: str, models_dir: Path, threads: int):
    return net_class(name)(modelstore.model_path(models_dir, name), threads)


def detector_models(name: str) -> list[str]:
    """The networks (model names) the detector setting `name` runs."""
    if name not in choices.DETECTORS:
        raise ConfigError("detect.unknown", name=name, known=", ".join(choices.DETECTORS))
    return list(choices.DETECTORS[name].nets)


def load_detector(name: str, models_dir: Path, threads: int = 1,
                  params: SearchParams | None = None,
                  net_params: dict[str, NetParams] | None = None) -> FaceSearch:
    chosen = net_params or {}
    nets = [(_net(n, models_dir, threads), chosen.get(n) or globals()["net_params"](n))
            for n in detector_models(name)]
    return FaceSearch(nets, params or SearchParams())


def video_search(photo_search: FaceSearch, levels: int = 1) -> FaceSearch:
    """The same networks, tuned for video frames: frames are scaled down before detection
    and come upright, so one level at the given size and no rotated passes (a face filling
    a whole 1080p frame is ~430 px at the 0.4 scale video uses, within CenterFace's range),
    with the video thresholds."""
    nets = [(net, type(net).VIDEO_PARAMS) for net, _ in photo_search.nets]
    return FaceSearch(nets, SearchParams(fine_scale=1.0, rotations=False,
                                         coarse_min_side=10 ** 6 if levels == 1 else 320))
