"""Identical-output check of the photo detector: every box, score and review candidate.

    .venv/bin/python benchmarks/detections.py snapshot OUT.json [EXTRA_PHOTO ...]
    .venv/bin/python benchmarks/detections.py compare BEFORE.json AFTER.json

`snapshot` runs the default detector (CenterFace, with review candidates) over the samples,
the first 40 photos of ../shared/data/wider_face_val_subset and 10 of negatives_no_faces
(whichever exist) and the extra photos given, and writes boxes (3 decimals) and scores (5)
per file. Run it on two versions of the code (e.g. a `git worktree` of the older commit with
PYTHONPATH pointing at it) and `compare`: it names every file whose detections differ.
Used for issue 24's rotated-pass tiling (DESIGN.md, "Hostile and huge inputs").
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import machine  # noqa: E402


def snapshot(out: Path, extra: list[str]) -> None:
    import os

    from blurkit.detect import load_detector
    from blurkit.media.image import read_photo

    models = Path(os.environ.get("BLURKIT_MODELS_DIR", ROOT / ".cache" / "models"))
    detector = load_detector("centerface", models, threads=2)
    shared = ROOT.parent / "shared" / "data"
    files = sorted(str(p) for p in (ROOT / "samples").iterdir()
                   if p.suffix.lower() in (".jpg", ".png", ".webp", ".tif", ".heic"))
    files += sorted(glob.glob(str(shared / "wider_face_val_subset" / "**" / "*.jpg"),
                              recursive=True))[:40]
    files += sorted(glob.glob(str(shared / "negatives_no_faces" / "*.jpg")))[:10]
    files += extra
    result = {}
    for f in files:
        pixels = read_photo(Path(f)).pixels
        dets, cands = detector.detect_with_candidates(pixels)
        result[Path(f).name] = {
            "shape": list(pixels.shape),
            "dets": [[round(v, 3) for v in d.box] + [round(d.score, 5), d.detector] for d in dets],
            "cands": [[round(v, 3) for v in d.box] + [round(d.score, 5)] for d in cands]}
    out.write_text(json.dumps(result))
    print(f"# {machine()}\n{len(result)} photos, {sum(len(v['dets']) for v in result.values())} "
          f"faces, {sum(len(v['cands']) for v in result.values())} candidates -> {out}")


def compare(a: Path, b: Path) -> int:
    before, after = json.loads(a.read_text()), json.loads(b.read_text())
    differ = sorted(k for k in before if before[k] != after.get(k))
    missing = sorted(set(before) ^ set(after))
    print(f"{len(before)} photos; differ: {differ or 'none'}; only in one: {missing or 'none'}")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "snapshot":
        snapshot(Path(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
