"""Make samples/clip_two_faces.mp4: 2.5 s, 480x272, two public-domain faces (from the photo
samples) moving across a gradient, a 440 Hz tone, and phone-style tags (a location, a
creation time, make and model) that blurkit must remove. The generator is shared with the
tests (tests/facevideo.py).

    .venv/bin/python samples/make_video_sample.py
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from facevideo import make_face_clip  # noqa: E402

if __name__ == "__main__":
    out = HERE / "clip_two_faces.mp4"
    out.unlink(missing_ok=True)
    make_face_clip(out, n=50, fps=20, tags=True)
    print(f"{out} ({out.stat().st_size // 1024} KiB)")
