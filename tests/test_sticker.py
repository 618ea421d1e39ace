"""Sticker mode: the head is destroyed first, then covered with a picture; nothing of the
face shows through the picture's transparent parts, and bad sticker files fail clearly."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, SAMPLES

from blurkit.engine.redact import Style, _head_ellipse, detail_correlation, redact, still_visible
from blurkit.engine.styles.sticker import DEFAULT_STICKERS, STICKER_DIR, load_sticker
from blurkit.errors import ConfigError


def _textured(h=240, w=320, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(h // 4, w // 4, 3), dtype=np.uint8)
    return np.kron(base, np.ones((4, 4, 1), np.uint8))


def _write_rgba(path, rgba):
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    return str(path)


def _ring(path, size=128):
    """An opaque red ring with a fully transparent middle (the face would show there)."""
    rgba = np.zeros((size, size, 4), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    ring = (r < size / 2) & (r > size / 4)
    rgba[ring] = (220, 30, 30, 255)
    return _write_rgba(path, rgba)


def test_default_stickers_are_round_pictures_with_transparent_corners():
    assert sorted(p.stem for p in STICKER_DIR.glob("*.png")) == sorted(DEFAULT_STICKERS)
    assert (STICKER_DIR / "README.md").read_text().count("CC0") >= 1
    for name in DEFAULT_STICKERS:
        rgba = load_sticker(str(STICKER_DIR / f"{name}.png"))
        assert rgba.shape == (256, 256, 4)
        assert rgba[2, 2, 3] == 0 and rgba[128, 128, 3] == 255


@pytest.mark.parametrize("sticker", [None, "ring"])
def test_sticker_covers_the_head_and_the_face_is_destroyed_under_it(tmp_path, sticker):
    img = _textured(seed=2)
    box = (120.0, 70.0, 190.0, 160.0)
    path = _ring(tmp_path / "ring.png") if sticker else None
    out = redact(img, [box], Style(mode="sticker", sticker=path))
    destroyed = redact(img, [box], Style(mode="destroy"))
    assert still_visible(img, out, [box]) == []
    assert detail_correlation(img, out, box) < 0.3
    # the sticker is there: the output is not just the destroyed face
    assert np.abs(out.astype(int) - destroyed.astype(int)).max() > 60
    if sticker:
        # under the ring's transparent middle: exactly the destroyed face, no original detail
        cx, cy = 155, 115 - int(0.2 * 90 / 4)
        hole = (slice(cy - 6, cy + 6), slice(cx - 6, cx + 6))
        assert np.array_equal(out[hole], destroyed[hole])
        assert detail_correlation(img, out, (cx - 10, cy - 10, cx + 10, cy + 10)) < 0.3
    # outside the sticker's square (it spans the head's outer ellipse, aspect kept) nothing
    # changed
    hx, hy, _, _, ox, oy = _head_ellipse(box, Style().margin)
    half = max(ox, oy) + 2
    outside = np.ones(img.shape[:2], bool)
    outside[max(0, int(hy - half)):int(hy + half), max(0, int(hx - half)):int(hx + half)] = False
    assert np.array_equal(out[outside], img[outside])


def test_a_face_under_an_earlier_sticker_gets_none_but_is_destroyed():
    img = _textured(seed=7)
    big, under = (100.0, 60.0, 200.0, 180.0), (190.0, 160.0, 230.0, 200.0)
    out = redact(img, [under, big], Style(mode="sticker"))
    alone = redact(img, [big], Style(mode="sticker"))
    destroyed = redact(img, [under, big], Style(mode="destroy"))
    assert still_visible(img, out, [big, under]) == []
    # one sticker only: outside the big face's sticker square, exactly the destroyed pixels
    hx, hy, _, _, ox, oy = _head_ellipse(big, Style().margin)
    half = max(ox, oy) + 1
    outside = np.ones(img.shape[:2], bool)
    outside[int(hy - half):int(hy + half), int(hx - half):int(hx + half)] = False
    assert np.array_equal(out[outside], destroyed[outside])
    assert not np.array_equal(out, alone)   # the smaller face was destroyed too


def test_one_sticker_for_a_face_found_twice_and_each_face_gets_the_next_picture():
    img = _textured(seed=4)
    a, a_again, b = ((20.0, 40.0, 100.0, 140.0), (24.0, 44.0, 98.0, 136.0),
                     (200.0, 40.0, 280.0, 140.0))
    out = redact(img, [a, a_again, b], Style(mode="sticker"))
    assert still_visible(img, out, [a, a_again, b]) == []
    # the first two default stickers differ in colour (yellow, blue): a and b got different ones
    ca, cb = out[90, 60].astype(int), out[90, 240].astype(int)
    assert np.abs(ca - cb).max() > 60


def test_sticker_cut_by_the_image_border():
    img = _textured(seed=5)
    box = (-30.0, -20.0, 40.0, 60.0)
    out = redact(img, [box], Style(mode="sticker"))
    assert still_visible(img, out, [(0.0, 0.0, 40.0, 60.0)]) == []


def test_bad_sticker_files_fail_clearly(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    with pytest.raises(ConfigError) as err:
        load_sticker(str(junk))
    assert err.value.key == "redact.sticker_unreadable"
    tiny = _write_rgba(tmp_path / "tiny.png", np.full((8, 8, 4), 255, np.uint8))
    with pytest.raises(ConfigError) as err:
        load_sticker(tiny)
    assert err.value.key == "redact.sticker_small"
    # a picture without transparency is accepted as opaque
    rgb = tmp_path / "rgb.png"
    cv2.imwrite(str(rgb), np.full((40, 40, 3), 90, np.uint8))
    assert load_sticker(str(rgb))[..., 3].min() == 255


def _cli(*args, data_dir):
    env = {**os.environ, "BLURKIT_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def test_cli_sticker_option(tmp_path, models_dir):
    ring = _ring(tmp_path / "ring.png")
    src = SAMPLES / "portrait_text_chunks.png"
    proc = _cli("process", str(src), "-o", str(tmp_path / "out"), "--sticker", ring,
                "--report", str(tmp_path / "r.json"), data_dir=tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["style"]["mode"] == "sticker" and report["style"]["sticker"].endswith("ring.png")
    [item] = report["files"]
    assert item["hidden"] >= 1 and not item.get("notes")
    out = cv2.cvtColor(cv2.imread(item["output"]), cv2.COLOR_BGR2RGB)
    assert ((out[..., 0] > 180) & (out[..., 1] < 80)).sum() > 200   # the red ring is there
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    proc = _cli("process", str(src), "-o", str(tmp_path / "out2"), "--sticker", str(bad),
                data_dir=tmp_path / "data")
    assert proc.returncode == 2 and "cannot be read" in proc.stderr
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())
    proc = _cli("process", str(src), "-o", str(tmp_path / "out3"), "--sticker", ring,
                "--mode", "blur", data_dir=tmp_path / "data")
    assert proc.returncode == 2 and "--mode sticker" in proc.stderr
