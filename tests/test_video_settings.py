"""Where video detection runs: the reduced frame's scale
(blurkit.engine.videoflow.VideoSettings)."""

import pytest

from blurkit.engine.videoflow import VideoSettings


@pytest.mark.parametrize("width,height", [(640, 360), (480, 270), (360, 640), (512, 512)])
def test_small_clips_keep_a_16_px_face_findable(width, height):
    # benchmarks/smallfaces.py: at 0.4 a 640x360 clip left 16-31 px faces visible (and a
    # 480x270 clip faces >= 32 px); at >= 0.58 nearly all were hidden
    assert 16 * VideoSettings().scale(width, height) >= 9.3


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920), (1280, 720),
                                          (1080, 1080), (3840, 2160)])
def test_large_clips_stay_at_the_minimum_scale(width, height):
    assert VideoSettings().scale(width, height) == VideoSettings().min_scale


def test_the_network_input_never_falls_below_the_pixel_budget_unless_at_min_scale():
    s = VideoSettings()
    for width, height in [(640, 360), (854, 480), (960, 540), (512, 512), (600, 800)]:
        scale = s.scale(width, height)
        assert scale == s.min_scale or width * height * scale ** 2 >= s.detect_pixels * 0.999


def test_tiny_clips_are_detected_at_full_size_never_enlarged():
    assert VideoSettings().scale(320, 180) == 1.0
    assert VideoSettings().scale(160, 120) == 1.0
