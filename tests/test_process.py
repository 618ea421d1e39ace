"""`blurkit process` end to end: the real CLI in a subprocess, worker processes included."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLES
from mediafactory import exiftool_records, forbidden_tags, png_declaring

from blurkit.engine.pipeline import plan
from blurkit.engine.redact import detail_correlation
from blurkit.media.image import read_photo
from blurkit.media.metadata import find_metadata

MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())["files"]
OUT_SUFFIX = {".heic": ".jpg"}


def blurkit(*args, data_dir, env=None, lang="en"):
    full_env = {**os.environ, "BLURKIT_LANG": lang, **(env or {})}
    return subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=600)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """The samples processed once, with two workers; shared by the tests below."""
    base = tmp_path_factory.mktemp("process")
    data_dir, out = base / "data", base / "out"
    proc = blurkit("process", str(SAMPLES), "-o", str(out), "--report", str(base / "r.json"),
                   "--workers", "2", data_dir=data_dir)
    return proc, out, json.loads((base / "r.json").read_text()), data_dir


def test_samples_exit_zero_and_every_output_exists(processed):
    proc, out, report, _ = processed
    assert proc.returncode == 0, proc.stderr
    for name in MANIFEST:
        suffix = OUT_SUFFIX.get(Path(name).suffix, Path(name).suffix)
        assert (out / (Path(name).stem + suffix)).is_file(), name
    assert (out / "clip_two_faces.mp4").is_file()
    assert report["summary"]["ok"] == len(MANIFEST) + 1 and report["summary"]["errors"] == 0
    assert sorted(Path(p).name for p in report["skipped"]) == [
        "README.md", "make_samples.py", "make_video_sample.py", "manifest.json"]
    assert not list(out.rglob("*.part"))


def test_every_sample_face_is_hidden_in_the_output(processed):
    _, out, _, _ = processed
    for name, info in MANIFEST.items():
        suffix = OUT_SUFFIX.get(Path(name).suffix, Path(name).suffix)
        original = read_photo(SAMPLES / name).pixels
        result = read_photo(out / (Path(name).stem + suffix)).pixels
        assert result.shape == original.shape
        for box in info["faces"]:
            assert detail_correlation(original, result, box) < 0.3, (name, box)
        if not info["faces"]:  # the face-free photo is left as it was (re-encoded only)
            assert np.abs(result.astype(int) - original).mean() < 3


def test_outputs_carry_no_metadata_by_two_independent_readers(processed):
    _, out, _, _ = processed
    outputs = sorted(p for p in out.iterdir() if p.suffix not in (".json", ".mp4"))
    assert len(outputs) == len(MANIFEST)
    for path in outputs:
        assert find_metadata(path) == [], path
    records = exiftool_records(outputs)
    assert len(records) == len(outputs)
    for path, record in records.items():
        assert forbidden_tags(record) == [], path


def test_report_lists_faces_with_boxes_scores_and_timings(processed):
    _, out, report, _ = processed
    by_name = {Path(f["source"]).name: f for f in report["files"]}
    group = by_name["group_photo.jpg"]
    assert (group["status"] == "ok"
            and len(group["faces"]) >= len(MANIFEST["group_photo.jpg"]["faces"]))
    face = group["faces"][0]
    assert len(face["box"]) == 4 and 0 < face["score"] <= 1 and face["action"] == "hidden"
    assert set(group["timings"]) == {"read", "detect", "identify", "redact", "secondlook", "text",
                                     "write"}
    assert group["output_sha256"] == sha(Path(group["output"]))
    assert group["input_sha256"] == sha(SAMPLES / "group_photo.jpg")
    assert by_name["no_face.jpg"].get("faces", []) == [] and by_name["no_face.jpg"]["hidden"] == 0
    assert any("EXIF" in m or "GPS" in m
               for m in by_name["portrait_exif_gps_thumbnail.jpg"]["removed_metadata"])
    assert report["machine"]["cores"] >= 1


def test_audit_log_has_an_entry_per_file_and_verifies(processed):
    proc, out, report, data_dir = processed
    verify = blurkit("audit", "verify", data_dir=data_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    from blurkit.audit import AuditLog
    from blurkit.config import load_settings
    entries = AuditLog.open(load_settings(data_dir)).entries()
    photos = [e.body for e in entries if e.body["kind"] == "photo"]
    assert len(photos) == len(MANIFEST)
    assert len([e for e in entries if e.body["kind"] == "video"]) == 1
    for e in photos:
        assert e["status"] == "ok" and e["output_sha256"] == sha(Path(e["output_path"]))
        assert e["input_sha256"] == sha(Path(e["input_path"]))
        assert "detector" in e["models"]


def test_second_run_never_overwrites(processed, tmp_path):
    _, out, _, data_dir = processed
    before = {p: sha(p) for p in out.iterdir()}
    proc = blurkit("process", str(SAMPLES / "no_face.jpg"), "-o", str(out), data_dir=data_dir)
    assert proc.returncode == 1
    assert "already exists" in proc.stderr
    assert {p: sha(p) for p in out.iterdir()} == before


def test_bad_inputs_fail_one_by_one_and_leave_nothing(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "portrait_tags.tif", src / "good.tif")
    (src / "empty.jpg").write_bytes(b"")
    jpeg = (SAMPLES / "no_face.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (src / "text.png").write_text("not an image at all")
    (src / "bomb.png").write_bytes(png_declaring(100_000, 100_000))
    out = tmp_path / "out"
    proc = blurkit("process", str(src), str(tmp_path / "missing.jpg"), "-o", str(out),
                   "--report", str(tmp_path / "r.json"), data_dir=tmp_path / "data")
    assert proc.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["good.tif"]
    failed = [l for l in proc.stderr.splitlines() if l.startswith("FAILED")]
    assert len(failed) == 5
    for name in ("empty.jpg", "truncated.jpg", "text.png", "bomb.png", "missing.jpg"):
        assert sum(name in line for line in failed) == 1, name
    report = json.loads((tmp_path / "r.json").read_text())
    keys = {Path(f["source"]).name: f.get("error_key") for f in report["files"]}
    assert keys["good.tif"] is None and keys["missing.jpg"] == "pipeline.not_found"
    assert len(set(keys.values())) == 6  # each bad input gets its own reason


def test_folders_keep_their_layout_and_hidden_or_output_folders_are_left_out(tmp_path):
    src = tmp_path / "shoot"
    (src / "day1" / "cam").mkdir(parents=True)
    (src / ".thumbnails").mkdir()
    shutil.copy(SAMPLES / "portrait_text_chunks.png", src / "day1" / "cam" / "a.png")
    shutil.copy(SAMPLES / "portrait_gps.heic", src / "day1" / "b.heic")
    shutil.copy(SAMPLES / "no_face.jpg", src / ".thumbnails" / "c.jpg")
    shutil.copy(SAMPLES / "no_face.jpg", src / ".hidden.jpg")
    inside = src / "anonymized"  # the engine never re-reads an output folder inside an input
    (inside / "day1").mkdir(parents=True)
    shutil.copy(SAMPLES / "no_face.jpg", inside / "day1" / "old.jpg")
    the_plan = plan([src], inside)
    assert sorted(str(j.source.relative_to(src)) for j in the_plan.jobs) == ["day1/b.heic",
                                                                            "day1/cam/a.png"]
    # ... and the command refuses such a folder before any work (copies among originals)
    proc = blurkit("process", str(src), "-o", str(inside), "--workers", "1",
                   data_dir=tmp_path / "d")
    assert proc.returncode != 0 and "is, or is inside, the input folder" in proc.stderr
    assert sorted(p.name for p in (inside / "day1").iterdir()) == ["old.jpg"]
    out = tmp_path / "anonymized"
    proc = blurkit("process", str(src), "-o", str(out), "--workers", "1", data_dir=tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    assert (out / "day1" / "cam" / "a.png").is_file() and (out / "day1" / "b.jpg").is_file()


def test_two_inputs_with_the_same_output_name_are_refused(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "portrait_gps.heic", src / "x.heic")
    shutil.copy(SAMPLES / "no_face.jpg", src / "x.jpg")
    the_plan = plan([src], tmp_path / "out")
    assert len(the_plan.jobs) == 1 and the_plan.errors[0].error_key == "pipeline.same_output"


def test_output_folder_equal_to_input_never_replaces_an_input(tmp_path):
    shutil.copy(SAMPLES / "no_face.jpg", tmp_path / "a.jpg")
    the_plan = plan([tmp_path], tmp_path)
    assert the_plan.jobs == [] and the_plan.errors[0].error_key == "pipeline.is_input"


def test_the_output_folder_may_not_be_an_input_folder_nor_hold_one(tmp_path):
    """Refused as a whole before any work, both ways round (the HEIC's .jpg copy used to land
    among the originals while the JPEGs failed one by one)."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "portrait_gps.heic", src / "a.heic")
    shutil.copy(SAMPLES / "no_face.jpg", src / "b.jpg")
    for out in (src, tmp_path):
        proc = blurkit("process", str(src), "-o", str(out), data_dir=tmp_path / "d", lang="sv")
        assert proc.returncode != 0 and "indatamappen" in proc.stderr, proc.stderr
        assert sorted(p.name for p in src.iterdir()) == ["a.heic", "b.jpg"]


def test_existing_outputs_are_found_before_any_work(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "group_photo.jpg", src / "a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"earlier")
    the_plan = plan([src], out)
    assert the_plan.jobs == [] and the_plan.errors[0].error_key == "pipeline.exists"
    assert (out / "a.jpg").read_bytes() == b"earlier"


def test_an_unwritable_report_or_output_is_found_before_any_work(tmp_path):
    """A read-only report folder: said at once, in the reader's language, and no file was
    processed (it used to fail after all the work, with a traceback)."""
    import errno

    from blurkit.engine.pipeline import _probe_writable
    from blurkit.errors import OutputError

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "no_face.jpg", src / "a.jpg")
    report_dir = tmp_path / "ro"
    report_dir.mkdir()
    report_dir.chmod(0o500)
    try:
        proc = blurkit("process", str(src), "-o", str(tmp_path / "out"), "--report",
                       str(report_dir / "r.json"), data_dir=tmp_path / "d", lang="sv")
        if os.geteuid() != 0:              # root writes anywhere: the check cannot fail there
            assert proc.returncode != 0 and "kan inte skrivas" in proc.stderr, proc.stderr
            assert not (tmp_path / "out" / "a.jpg").exists()
            assert "Traceback" not in proc.stderr
    finally:
        report_dir.chmod(0o700)

    # the OS's reasons, each said in words (EROFS cannot be made here without root)
    def fail_with(code):
        def mkstemp(*a, **k):
            raise OSError(code, os.strerror(code))
        return mkstemp

    import blurkit.engine.pipeline as pipeline
    for code, key in ((errno.EROFS, "pipeline.unwritable.read_only"),
                      (errno.EACCES, "pipeline.unwritable.permission"),
                      (errno.ENOSPC, "pipeline.unwritable.full")):
        original = pipeline.tempfile.mkstemp
        pipeline.tempfile.mkstemp = fail_with(code)
        try:
            with pytest.raises(OutputError) as caught:
                _probe_writable(tmp_path, tmp_path / "r.json")
        finally:
            pipeline.tempfile.mkstemp = original
        assert caught.value.key == key
        assert os.strerror(code) not in caught.value.message("sv")


def test_a_crashed_worker_costs_only_its_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        shutil.copy(SAMPLES / "portrait_tags.tif", src / f"p{i}.tif")
    out = tmp_path / "out"
    proc = blurkit("process", str(src), "-o", str(out), "--workers", "2",
                   data_dir=tmp_path / "d", env={"BLURKIT_TEST_CRASH_ON": "p2.tif"})
    assert proc.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["p0.tif", "p1.tif", "p3.tif"]
    assert "p2.tif" in proc.stderr and "stopped abruptly" in proc.stderr


def test_messages_in_swedish(tmp_path):
    proc = blurkit("process", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o"),
                   data_dir=tmp_path / "d", lang="sv")
    assert proc.returncode == 1
    assert "finns inte" in proc.stderr and "misslyckades" in proc.stdout


def test_missing_models_name_the_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BLURKIT_MODELS_DIR"}
    proc = subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(tmp_path / "d"),
                           "process", str(SAMPLES / "no_face.jpg"), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 2
    assert f"blurkit --data-dir {tmp_path / 'd'} models fetch" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_failures_keep_their_parameters_and_a_full_disk_has_its_own_key(tmp_path):
    import errno

    from blurkit.engine.pipeline import ItemResult, Job, _failure
    from blurkit.errors import OutputError

    job = Job(tmp_path / "a.jpg", tmp_path / "out", Path("."), "photo")
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise OutputError("image.write_failed", path="x", reason="disk") from exc
    except OutputError as wrapped:
        key, params = _failure(job, wrapped)
    assert key == "pipeline.disk_full"
    result = ItemResult.failed(job.source, "photo", key, "msg", params)
    assert "disken är full" in result.error_message("sv")
    assert "disk is full" in result.error_message("en")
    assert _failure(job, FileExistsError("b.jpg"))[0] == "pipeline.exists"


def test_the_report_is_the_same_json_with_one_line_per_file():
    from blurkit.cli.process import report_json

    data = {"blurkit": "0", "summary": {"files": 2, "ok": 1}, "skipped": [],
            "files": [{"source": "å/ä ö.jpg", "faces": [{"box": [1.5, 2, 3, 4]}]},
                      {"source": "b.png", "error": "line\nbreak \"quoted\""}]}
    text = report_json(data)
    assert json.loads(text) == data
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert sum(line.startswith('  {"source"') for line in lines) == 2   # one line per file
    assert "å/ä ö.jpg" in text                                           # readable, not \u-escaped


def test_batches_hand_out_videos_first_then_the_largest_photos(tmp_path):
    from blurkit.engine.pipeline import _largest_first

    for name, size in (("small.jpg", 10), ("large.jpg", 1000), ("clip.mp4", 5), ("mid.png", 100)):
        (tmp_path / name).write_bytes(b"x" * size)
    jobs = plan([tmp_path], tmp_path / "out").jobs
    order = [job.source.name for job in _largest_first(jobs)]
    assert order == ["clip.mp4", "large.jpg", "mid.png", "small.jpg"]
    (tmp_path / "mid.png").unlink()     # gone before its turn: last, its worker reports it
    assert [job.source.name for job in _largest_first(jobs)][-1] == "mid.png"
