"""The pipeline's entry point: faces of one picture in, one Identity per face out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from blurkit.identify import bars as two_bars
from blurkit.identify import matching
from blurkit.identify import quality as q
from blurkit.identify.embedder import DIM, MODEL_NAME, check_image, load_embedder
from blurkit.identify.matching import Gallery, Identity


class Recognizer:
    """Matches faces against the enrolled templates of MODEL_NAME.

    gallery: (person_id, template) of EVERY enrolled person (consented or not), e.g.
        `snapshot.for_model(MODEL_NAME)`. A template of another model raises ValueError.
    threshold, margin: see matching.py; the defaults are the benchmarked ones. Lower values
        than the defaults show more faces and are refused unless `allow_looser=True` (for
        benchmarks and experiments only).
    support: matching's step 4 (two of a person's templates agree), matching.SUPPORT by
        default; None switches it off. A looser rule is refused like a lower threshold.
    bars: the strict bar a matched face must pass to be shown automatically, and the lower
        bar of suggestions (bars.py), bars.BARS by default; None: matching's verdict alone
        (refused like a lower threshold).

    Picklable (the dlib models are reloaded, once per process, on the other side).
    """

    def __init__(self, models_dir: Path, gallery: Sequence[tuple[int, np.ndarray]], *,
                 threshold: float = matching.THRESHOLD, margin: float = matching.MARGIN,
                 unknown_similarity: float = matching.UNKNOWN_SIMILARITY,
                 limits: q.QualityLimits = q.RECOGNITION,
                 support: matching.SupportRule | None = matching.SUPPORT,
                 bars: two_bars.Bars | None = two_bars.BARS,
                 allow_looser: bool = False) -> None:
        if not (0.0 < threshold <= 1.0 and 0.0 <= margin < 1.0):
            raise ValueError("threshold must be in (0, 1] and margin in [0, 1)")
        if not allow_looser and (threshold < matching.THRESHOLD or margin < matching.MARGIN):
            raise ValueError(f"threshold {threshold} / margin {margin} are looser than the "
                             f"benchmarked {matching.THRESHOLD} / {matching.MARGIN}")
        if not allow_looser and support is not None and \
                support.looser_than(matching.SUPPORT):
            raise ValueError(f"support rule {support} is looser than the benchmarked "
                             f"{matching.SUPPORT}")
        if not allow_looser and (bars is None or bars.looser_than(two_bars.BARS)):
            raise ValueError(f"bars {bars} are looser than the benchmarked {two_bars.BARS}")
        self.support = support
        self.bars = bars
        self.models_dir = Path(models_dir)
        self.threshold = float(threshold)
        self.margin = float(margin)
        self.unknown_similarity = float(unknown_similarity)
        self.limits = limits
        self._templates = [(int(pid), np.asarray(v, np.float32)) for pid, v in gallery]
        self.gallery = Gallery(self._templates, DIM)
        self.profiles = two_bars.profiles(self.gallery)
        self._embedder = load_embedder(self.models_dir)

    model = MODEL_NAME

    def __getstate__(self) -> dict:
        return {"models_dir": self.models_dir, "gallery": self._templates,
                "threshold": self.threshold, "margin": self.margin,
                "unknown_similarity": self.unknown_similarity, "limits": self.limits,
                "support": self.support, "bars": self.bars}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["models_dir"], state["gallery"], threshold=state["threshold"],
                      margin=state["margin"], unknown_similarity=state["unknown_similarity"],
                      limits=state["limits"], support=state.get("support"),
                      bars=state.get("bars"), allow_looser=True)

    def embed(self, rgb: np.ndarray, detection) -> tuple[np.ndarray | None, q.FaceQuality]:
        """(template, quality) of one detected face; the template is None when the face fails
        the quality gate (and is then never matched). ~140 ms for a usable face, ~1 ms else."""
        return self._embedder.embed(rgb, detection, self.limits)

    def identify(self, rgb: np.ndarray, detections: Sequence) -> list[Identity]:
        """One Identity per detection, in the same order, for the faces of ONE picture (the
        one-face-per-person rule is applied across them)."""
        rgb = check_image(rgb)
        results = [self.embed(rgb, d) for d in detections]
        return self.match([v for v, _ in results], [qu for _, qu in results])

    def match(self, templates: Sequence[np.ndarray | None],
              qualities: Sequence[q.FaceQuality]) -> list[Identity]:
        """Identities for faces seen together (one photo, or the tracks of one video frame),
        from their templates, e.g. a track's templates averaged with `mean_template`; with
        the two bars applied (`person_id` only above the strict bar, `suggestion` in the
        doubtful band, `match_id` matching's own verdict)."""
        found = matching.identities(qualities, templates, self.gallery, self.threshold,
                                    self.margin, self.unknown_similarity, self.support)
        return two_bars.apply(found, templates, self.gallery, self.bars, self.profiles,
                              self.unknown_similarity)


def mean_template(templates: Sequence[np.ndarray]) -> np.ndarray | None:
    """The normalised mean of several templates of one face (e.g. a video track's frames)."""
    vs = [np.asarray(v, np.float64) for v in templates if v is not None]
    if not vs:
        return None
    m = np.mean(vs, axis=0)
    n = float(np.linalg.norm(m))
    return (m / n).astype(np.float32) if n > 1e-9 else None
