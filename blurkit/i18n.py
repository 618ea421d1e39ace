"""Messages a person reads, in Swedish and English, from gettext catalogues.

The words live in `blurkit/locale/<lang>/LC_MESSAGES/blurkit.po`, one file per language, which
a translator edits. A message is named by a stable id ("web.queue.title"); the Swedish file
carries the English text of each id as a comment. Code, the use-case layer and the reports
keep ids and parameters, never sentences: a sentence is made only where a person reads it, in
that person's language (`t(id, lang, **params)`, placeholders in `str.format` style).

The wheel carries the compiled `.mo` files (built from the `.po` files by setup.py). A `.po`
file newer than its `.mo` (a checkout where a translator just edited it) is read directly,
so the change shows at once on the page and in the command line; `scripts/setup` compiles it.

Click's own words ("Usage:", "Options:", "Show this message and exit." ...) are looked up by
Click through the standard `gettext` module; `use_for_click(lang)` points that module at a
second domain, `click.po` beside blurkit's own, whose Swedish catalogue translates them
(English needs none: Click's ids are its English words).

The language is chosen, in order, by: an explicit `set_language()` (the CLI's `--lang` or the
settings file), the `BLURKIT_LANG` environment variable, the locale (`LC_ALL`, `LC_MESSAGES`,
`LANG`: anything starting with "sv" is Swedish), else English.
"""

from __future__ import annotations

import ast
import functools
import gettext
import os
from pathlib import Path

LANGUAGES = ("en", "sv")
DOMAIN = "blurkit"
CLICK_DOMAIN = "click"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_language: str | None = None


# ------------------------------------------------------------------------- the catalogues

def po_path(lang: str, domain: str = DOMAIN) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def mo_path(lang: str, domain: str = DOMAIN) -> Path:
    return po_path(lang, domain).with_suffix(".mo")


def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a `.po` file, as a `.mo` file stores them: the header under the
    empty id, a plural entry under "singular\0plural" with its forms joined by "\0". Entries
    without a translation are left out, as gettext does. (No contexts: blurkit uses none.)"""
    messages: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    field = None

    def flush() -> None:
        forms = sorted(k for k in entry if k.startswith("msgstr"))
        if "msgid" in entry and forms:
            msgid = "".join(entry["msgid"])
            if "msgid_plural" in entry:
                msgid += "\0" + "".join(entry["msgid_plural"])
            msgstr = "\0".join("".join(entry[k]) for k in forms)
            if msgstr.strip("\0"):
                messages[msgid] = msgstr
        entry.clear()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msg"):
            field, _, line = line.partition(" ")
            if field in ("msgid", "msgctxt"):
                flush()
            entry[field] = []
            line = line.strip()
        if field is None or not (line.startswith('"') and line.endswith('"')):
            raise ValueError(f"{path}:{number}: not understood: {raw!r}")
        entry[field].append(ast.literal_eval(line))
    flush()
    return messages


def write_mo(messages: dict[str, str], path: Path) -> None:
    """Compile `messages` (as `read_po` returns them) into a GNU `.mo` file (what `msgfmt`
    writes, without the optional hash table)."""
    import struct

    entries = sorted(messages.items())
    ids = [k.encode("utf-8") for k, _ in entries]
    strs = [v.encode("utf-8") for _, v in entries]
    count = len(entries)
    ids_start = 7 * 4
    strs_table = ids_start + count * 8
    data_start = strs_table + count * 8
    id_offsets, str_offsets, blob = [], [], b""
    for raw in ids:
        id_offsets.append((len(raw), data_start + len(blob)))
        blob += raw + b"\0"
    for raw in strs:
        str_offsets.append((len(raw), data_start + len(blob)))
        blob += raw + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, count, ids_start, strs_table, 0, 0)
    for length, offset in id_offsets + str_offsets:
        out += struct.pack("<2I", length, offset)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(out + blob)
    os.replace(tmp, path)


def compile_catalogues() -> list[Path]:
    """Write every `.mo` from its `.po` (setup.py and scripts/setup call this)."""
    written = []
    for lang in LANGUAGES:
        for domain in (DOMAIN, CLICK_DOMAIN):
            po = po_path(lang, domain)
            if po.is_file():
                write_mo(read_po(po), mo_path(lang, domain))
                written.append(mo_path(lang, domain))
    return written


@functools.cache
def _messages(lang: str) -> dict[str, str]:
    po, mo = po_path(lang), mo_path(lang)
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return {k: v for k, v in gettext.GNUTranslations(f)._catalog.items()
                    if isinstance(k, str) and k}
    if po.is_file():
        return {k: v for k, v in read_po(po).items() if k}
    raise FileNotFoundError(f"no catalogue for {lang!r} in {LOCALE_DIR}")


def reload() -> None:
    """Forget the catalogues read so far (tests that edit a `.po` file)."""
    _messages.cache_clear()


# ------------------------------------------------------------------------- the language

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


def use_for_click(lang: str) -> None:
    """Make the standard `gettext` functions (which Click calls for its own words) answer
    from blurkit's catalogue in `lang`."""
    gettext.bindtextdomain(CLICK_DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(CLICK_DOMAIN)
    os.environ["LANGUAGE"] = lang


# ------------------------------------------------------------------------- the words

def t(key: str, lang: str | None = None, **params: object) -> str:
    """The message `key` in the current language (or `lang`), formatted with `params`."""
    text = _messages(lang or language()).get(key)
    if text is None:
        raise KeyError(f"no message {key!r} in the {lang or language()} catalogue")
    return text.format(**params)


def N_(key: str) -> str:
    """Marks a message id that code keeps as data and words later (the extraction of
    messages finds it); returns it unchanged."""
    return key


def known(key: str) -> bool:
    """Is there a message `key`? (Every language has the same ids: a test checks it.)"""
    return key in _messages("en")


def catalog() -> dict[str, dict[str, str]]:
    """id -> {language: text} of every message (tests that check both languages)."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        for key, text in _messages(lang).items():
            out.setdefault(key, {})[lang] = text
    return out
