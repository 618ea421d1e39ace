"""The memory budget: limits from the machine's memory, a clear reason for what is refused,
the largest accepted picture completing under an address-space limit, and the page's views
of a huge original decoded at display size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from mediafactory import png_declaring

from blurkit.errors import InputError
from blurkit.media import budget
from blurkit.media.image import read_photo

sys.path.insert(0, str(ROOT / "benchmarks"))
from memory import _bomb, _jpeg  # noqa: E402  (the benchmark's own input makers)


def test_limits_derive_from_the_machines_memory():
    pi2, pi4, laptop = budget._for(2048), budget._for(4096), budget._for(16384)
    assert pi2.budget_mb < pi4.budget_mb == laptop.budget_mb == budget.CAP_MB
    assert pi2.photo_pixels < laptop.photo_pixels <= budget.ABSOLUTE_MAX_PIXELS
    assert pi2.photo_pixels >= 50_000_000          # a 50-MP phone photo still passes on a Pi
    assert pi2.video_pixels < 3840 * 2160 <= laptop.video_pixels   # 4K: not on a 2-GB Pi
    assert pi2.video_pixels >= 1920 * 1080


def test_no_more_workers_than_the_memory_holds(monkeypatch):
    for memory, most in ((2048, 1), (4096, 2), (8192, 5)):
        monkeypatch.setenv("BLURKIT_MEMORY_MB", str(memory))
        assert budget.max_workers() == most
        assert budget.max_workers() * budget.current().budget_mb <= 0.8 * memory


def test_a_small_machine_refuses_a_large_photo_naming_its_size(monkeypatch, tmp_path):
    src = tmp_path / "stor.png"
    src.write_bytes(png_declaring(8000, 7500))                 # 60 MP declared
    monkeypatch.setenv("BLURKIT_MEMORY_MB", "2048")
    with pytest.raises(InputError) as err:
        read_photo(src)
    assert err.value.key == "image.too_large_for_memory"
    sv = err.value.message("sv")
    limit = f"{budget._for(2048).photo_pixels / 1e6:.0f} megapixel"
    assert "8000×7500" in sv and "2.0 GB minne" in sv and limit in sv
    assert "8000×7500" in err.value.message("en")
    monkeypatch.setenv("BLURKIT_MEMORY_MB", "16384")           # a laptop reads on (and finds
    with pytest.raises(InputError) as err:                     # the stub's data missing)
        read_photo(src)
    assert err.value.key != "image.too_large_for_memory"


def test_a_bilevel_bomb_beyond_the_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setenv("BLURKIT_MEMORY_MB", "16384")
    src = tmp_path / "bomb.png"
    _bomb(src, 14_000, "1")               # 196 MP in a few KB (the bomb)
    assert src.stat().st_size < 64 << 10
    with pytest.raises(InputError) as err:
        read_photo(src)
    assert err.value.key == "image.too_large_for_memory"
    assert "14000×14000" in err.value.message("sv")


RESERVED_MB = 400      # address space a worker reserves beyond what it touches (see below)


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


_CHILD = textwrap.dedent("""
    import json, os, resource, sys, tempfile
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_memory_budget import _vm
    what, src, out = sys.argv[1:4]
    from blurkit.media import budget
    b = budget.current()
    if what == "video":        # resident memory only (threads reserve address space freely)
        from blurkit.engine.pipeline import Job, Options, Worker
        worker = Worker(Options(models_dir=Path(os.environ["BLURKIT_MODELS_DIR"]), threads=2))
        work = lambda: worker.process(Job(Path(src), Path(out), Path("."), "video"))
        headroom = 1 << 40
    elif what == "worker":
        from blurkit.engine.pipeline import Job, Options, Worker
        worker = Worker(Options(models_dir=Path(os.environ["BLURKIT_MODELS_DIR"]), threads=2))
        # warmed up on an ordinary 12-MP photo (thread pools started; the network's arena
        # given back after it, as after every file)
        warm = worker.process(Job(Path(sys.argv[4]), Path(tempfile.mkdtemp()), Path("."),
                                  "photo"))
        assert warm.ok, warm.error
        work = lambda: worker.process(Job(Path(src), Path(out), Path("."), "photo"))
        # from here on the address space may grow by what the budget leaves above what is
        # resident now, plus RESERVED for address space taken but never touched (the
        # network's arena grows in chunks rounded up to powers of two; measured: a 52-MP
        # photo took 1,052 MB of address space for 690 MB of memory)
        headroom = b.budget_mb * 2**20 - _vm("VmRSS") + {reserved} * 2**20
    else:
        from blurkit.media import reduced, image
        import numpy, PIL.Image
        work = {{"view": lambda: reduced.display_jpeg(Path(src)),
                "full": lambda: image.read_photo(Path(src))}}[what]
        headroom = int(sys.argv[4])
    limit = _vm("VmSize") + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        r = work()
        ok = getattr(r, "ok", True)
        print(json.dumps({{"ok": ok, "error": getattr(r, "error", None),
                          "headroom_mb": headroom >> 20, "hwm_mb": _vm("VmHWM") >> 20}}))
    except (MemoryError, Exception) as exc:       # read_photo words it: image.out_of_memory
        print(json.dumps({{"ok": False, "error": repr(exc)[:300],
                          "key": getattr(exc, "key", None), "headroom_mb": headroom >> 20}}))
""")


def _run_child(tmp_path, *args, env=None) -> dict:
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=str(ROOT / "tests"), reserved=RESERVED_MB))
    proc = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "2", **(env or {})})
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_largest_accepted_photo_completes_under_an_address_space_limit(tmp_path):
    # a 2-GB Raspberry Pi's budget: the largest photo it accepts is processed with the
    # worker's address space capped at that budget
    env = {"BLURKIT_MEMORY_MB": "2048"}
    b = budget._for(2048)
    h = int((b.photo_pixels * 3 / 4) ** 0.5) // 16 * 16
    src = tmp_path / "largest.jpg"
    _jpeg(src, h * 4 // 3, h)
    assert (h * 4 // 3) * h > 0.97 * b.photo_pixels
    warm = tmp_path / "warm.jpg"
    _jpeg(warm, 4000, 3000)
    out = tmp_path / "out"
    out.mkdir()
    result = _run_child(tmp_path, "worker", src, out, warm, env=env)
    assert result["ok"], result
    assert result["headroom_mb"] < b.budget_mb + RESERVED_MB
    assert result["hwm_mb"] <= b.budget_mb         # resident memory within the budget, too
    assert (out / "largest.jpg").is_file()


@pytest.mark.slow
def test_the_largest_video_picture_a_small_machine_accepts_stays_within_its_budget(tmp_path):
    # a 2-GB Pi's largest video picture (6.3 MP a frame), readable text looked for as by
    # default: the worker's resident peak stays within the Pi's budget (freed frames go back
    # to the system: budget.video_heap; the video text search sheds its arena after each run)
    from videofactory import make_clip

    b = budget._for(2048)
    h = int((b.video_pixels * 9 / 16) ** 0.5) // 16 * 16
    w = h * 16 // 9 // 16 * 16
    assert w * h > 0.9 * b.video_pixels
    src, out = tmp_path / "largest.mp4", tmp_path / "out"
    out.mkdir()
    make_clip(src, width=w, height=h, n=50, audio=("aac",), flash_at=None)
    result = _run_child(tmp_path, "video", src, out, env={"BLURKIT_MEMORY_MB": "2048"})
    assert result["ok"], result
    assert result["hwm_mb"] <= b.budget_mb, (w, h, result)
    assert (out / "largest.mp4").is_file()


def test_the_original_view_of_a_huge_bilevel_picture_stays_small(tmp_path):
    src = tmp_path / "bilevel.png"
    _bomb(src, 8_500, "1")           # 72 MP in a few KB: a full RGB decode needs ~290 MB
    env = {"BLURKIT_MEMORY_MB": "16384", "MALLOC_ARENA_MAX": "2"}
    headroom = 200 << 20
    view = _run_child(tmp_path, "view", src, tmp_path, headroom, env=env)
    assert view["ok"], view
    full = _run_child(tmp_path, "full", src, tmp_path, headroom, env=env)
    assert not full["ok"] and full["key"] == "image.out_of_memory", full   # the limit is real


def test_a_written_png_is_checked_as_a_stream(tmp_path):
    import io as _io

    import numpy as np
    from PIL import Image

    from blurkit.errors import OutputError
    from blurkit.media.image import _verify_png_stream

    arr = np.random.default_rng(2).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", compress_level=4)
    good = buf.getvalue()
    _verify_png_stream(good, tmp_path / "x.png", 53, 37)
    bad_cases = [good[:-20], good + b"tail", bytearray(good)]
    bad_cases[2][60] ^= 0xFF                               # a flipped bit in the data
    for data in bad_cases:
        with pytest.raises(OutputError):
            _verify_png_stream(bytes(data), tmp_path / "x.png", 53, 37)
    with pytest.raises(OutputError):
        _verify_png_stream(good, tmp_path / "x.png", 53, 38)   # not the size written


def test_a_clip_with_too_many_audio_tracks_is_refused_before_processing(tmp_path):
    from videofactory import make_clip

    from blurkit.media.video import MAX_AUDIO_STREAMS, probe_video

    many, fine = tmp_path / "many.mkv", tmp_path / "fine.mkv"
    make_clip(many, width=64, height=48, n=3, audio=("aac",) * (MAX_AUDIO_STREAMS + 1),
              flash_at=None)
    make_clip(fine, width=64, height=48, n=3, audio=("aac",) * MAX_AUDIO_STREAMS, flash_at=None)
    with pytest.raises(InputError) as err:
        probe_video(many)
    assert err.value.key == "video.too_many_streams"
    assert "9 ljudspår" in err.value.message("sv")
    assert len(probe_video(fine).audio) == MAX_AUDIO_STREAMS
