"""Build hook: the translations' `.mo` files are compiled from the `.po` sources before
setuptools collects the package data, so the wheel (and an editable install) carries them.
Everything else about the build is in pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup

_spec = importlib.util.spec_from_file_location(
    "_blurkit_i18n", Path(__file__).resolve().parent / "blurkit" / "i18n.py")
_i18n = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_i18n)
_i18n.compile_catalogues()

setup()
