"""Shared fixtures.

- `shared_data`: the public test media in ../shared/data (or BLURKIT_SHARED_DATA). Tests that
  use it are marked `shared_data` and skip cleanly where the folder is absent (a user's clone).
- `models_dir`: the installed, hash-checked models (BLURKIT_MODELS_DIR, set by scripts/test).
  Tests that need models fail loudly when they are missing: a skipped detector test would
  hide exactly the breakage that matters.
- `data_dir`: a fresh, empty blurkit data directory per test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("BLURKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLES = ROOT / "samples"
# scripts/test fetches the models here; set it for the CLI subprocesses the tests start, too
os.environ.setdefault("BLURKIT_MODELS_DIR", str(ROOT / ".cache" / "models"))


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"shared test media not found at {SHARED_DATA}")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test media not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def models_dir() -> Path:
    from blurkit import modelstore
    path = Path(os.environ["BLURKIT_MODELS_DIR"])
    bad = [s.file for s, state in modelstore.status(path) if state != "ok"]
    if bad:
        pytest.fail(f"models not installed in {path}: {bad}; run scripts/test "
                    f"(or BLURKIT_MODELS_DIR={path} blurkit models fetch --all)")
    return path


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "blurkit-data"
    d.mkdir()
    return d


# --------------------------------------------------------------------------- browser tests
# The web page's browser tests drive Debian's Chromium through pytest-playwright (never
# `playwright install`, which downloads a browser). Where Chromium or playwright is missing
# they are skipped, and say why.

CHROMIUM = Path("/usr/lib/chromium/chromium")


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return (f"Chromium not found at {CHROMIUM} (Debian package chromium; "
                f"scripts/setup --test installs it)")
    try:
        import playwright  # noqa: F401
        import pytest_playwright  # noqa: F401
    except ImportError as exc:
        return f"playwright is not installed ({exc})"
    return None


def pytest_runtest_setup(item):
    if "browser" in item.keywords:
        reason = _browser_missing()
        if reason:
            pytest.skip(reason)


@pytest.fixture(scope="session")
def base_url():
    """No base URL (each browser test opens its own server's address). pytest-playwright's
    fallback fixture is a method of a class, which pytest deprecates; this one replaces it."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic",
                     # the register page's camera: Chromium's moving test pattern, no prompt
                     "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]}
