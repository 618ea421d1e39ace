"""pyproject.toml and constraints.txt agree: every dependency is pinned, each pin lies in its
range, and the run-time files live inside the package."""

import tomllib

from conftest import ROOT
from packaging.requirements import Requirement  # pytest depends on packaging
from packaging.utils import canonicalize_name

from blurkit import modelstore

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            out[canonicalize_name(name)] = version
    return out


def test_every_dependency_is_pinned_within_its_range():
    pinned = pins()
    project = PYPROJECT["project"]
    wanted = project["dependencies"] + [r for reqs in project["optional-dependencies"].values()
                                        for r in reqs]
    wanted += PYPROJECT["build-system"]["requires"]
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), (text, pinned[name])


def test_onnx_is_not_needed_at_run_time():
    names = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    assert "onnx" not in names and "onnxruntime" in names


def test_run_time_files_are_inside_the_package():
    package = ROOT / "blurkit"
    assert modelstore.MANIFEST.is_relative_to(package) and modelstore.MANIFEST.is_file()
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["blurkit"]
    assert "models/*.toml" in globs
    for folder in ("web/templates/**/*", "web/static/**/*", "stickers/*.png"):
        assert folder in globs
    assert PYPROJECT["project"]["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "blurkit.__version__"}
