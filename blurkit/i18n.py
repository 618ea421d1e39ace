"""Messages a person reads, in Swedish and English.

Every module that prints or raises something a user reads keeps its own catalogue
(a dict of key -> {"en": ..., "sv": ...}) and registers it here at import time.
Code, logs meant for developers, and report field names stay in English.

The language is chosen, in order, by: an explicit `set_language()` (the CLI's `--lang`
or the settings file), the `BLURKIT_LANG` environment variable, the locale
(`LC_ALL`, `LC_MESSAGES`, `LANG`: anything starting with "sv" is Swedish), else English.
"""

from __future__ import annotations

import os

LANGUAGES = ("en", "sv")

_catalog: dict[str, dict[str, str]] = {}
_language: str | None = None


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add a module's messages. Every entry must have both languages."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise ValueError(f"message {key!r} lacks {missing}")
        existing = _catalog.get(key)
        if existing is not None and existing != texts:
            raise ValueError(f"message {key!r} registered twice with different texts")
        _catalog[key] = dict(texts)


def _from_locale() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "sv" if value.lower().startswith("sv") else "en"
    return "en"


def language() -> str:
    if _language:
        return _language
    env = os.environ.get("BLURKIT_LANG", "").strip().lower()
    if env in LANGUAGES:
        return env
    return _from_locale()


def set_language(lang: str | None) -> None:
    """Force a language ("en"/"sv"); None goes back to environment and locale."""
    global _language
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {LANGUAGES}")
    _language = lang


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The message `key` in the current language, formatted with `params`."""
    texts = _catalog.get(key)
    if texts is None:
        raise KeyError(f"no message {key!r}")
    return texts[lang or language()].format(**params)


def known(key: str) -> bool:
    """Is there a message `key`? (Cheap: no copy of the catalogue.)"""
    return key in _catalog


def catalog() -> dict[str, dict[str, str]]:
    """A copy of every registered message (for tests that check both languages)."""
    return {k: dict(v) for k, v in _catalog.items()}
