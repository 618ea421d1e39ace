"""A video's report entry says which metadata its source carried and the output left out
(`removed_metadata`, as a photo's entry does): names only, never their values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from videofactory import PHONE_TAGS, STREAM_TAGS, make_clip

from blurkit.media.videometa import source_metadata


def test_a_phone_clip_lists_its_tags_chapters_and_extra_tracks_without_values(tmp_path):
    clip = make_clip(tmp_path / "phone.mov", tags=PHONE_TAGS, stream_tags=STREAM_TAGS,
                     chapters=True, data=True, subtitle=True)
    found = source_metadata(clip.path)
    for tag in ("location", "make", "model", "creation_time", "artist", "title",
                "com.apple.quicktime.location.ISO6709"):
        assert f"container tag '{tag}'" in found, tag
    assert "track 0 (video) tag 'handler_name'" in found
    assert "chapters (2)" in found
    assert any(f.startswith("data track") and f.endswith("(dropped)") for f in found)
    assert any(f.startswith("subtitle track") for f in found)
    text = json.dumps(found, ensure_ascii=False)
    for value in ("Kim Svensson", "+59.3293", "iPhone 12 Pro", "Solgårdens", "Anna"):
        assert value not in text, value          # names of what was there, never its value


def test_structural_tags_are_not_listed_and_a_flood_is_cut_short(tmp_path):
    plain = make_clip(tmp_path / "plain.mp4", n=5)
    # brands, generic handler names, "und": structural, an output carries them too
    assert source_metadata(plain.path) == ["container tag 'encoder'"]   # (Lavf, PyAV's muxer)
    flood = make_clip(tmp_path / "flood.mkv", n=5,
                      tags={f"note{i:03d}": "x" for i in range(250)})
    found = source_metadata(flood.path)
    assert len(found) == 201 and found[-1].startswith("... and ")


def test_the_report_of_a_mov_says_what_was_removed_and_the_output_has_none(tmp_path,
                                                                            models_dir):
    (tmp_path / "in").mkdir()
    clip = make_clip(tmp_path / "in" / "phone.mov", tags=PHONE_TAGS, stream_tags=STREAM_TAGS,
                     n=20)
    out, report = tmp_path / "out", tmp_path / "r.json"
    env = {**os.environ, "BLURKIT_LANG": "en", "BLURKIT_MODELS_DIR": str(models_dir)}
    proc = subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(tmp_path / "d"),
                           "process", str(clip.path), "-o", str(out), "--report", str(report)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(report.read_text())["files"]
    assert entry["kind"] == "video" and Path(entry["output"]).name == "phone.mp4"
    removed = entry["removed_metadata"]
    for tag in ("location", "make", "model", "creation_time"):
        assert f"container tag '{tag}'" in removed, tag
    assert source_metadata(Path(entry["output"])) == []
