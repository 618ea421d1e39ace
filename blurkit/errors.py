"""Errors that reach a user carry a message key, so they can be shown in Swedish or English."""

from __future__ import annotations

from blurkit import i18n


class BlurkitError(Exception):
    """Base class: `key` names a message in the i18n catalogue; `params` fill it in."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def message(self, lang: str | None = None) -> str:
        return i18n.t(self.key, lang=lang, **self.params)

    def __str__(self) -> str:
        return self.message()


class InputError(BlurkitError):
    """The input file cannot be processed (empty, corrupt, unsupported, too large...)."""


class OutputError(BlurkitError):
    """The output could not be written or did not pass verification."""


class ModelError(BlurkitError):
    """Model files are missing or do not match the manifest."""


class ConfigError(BlurkitError):
    """The settings file or an option is invalid."""
