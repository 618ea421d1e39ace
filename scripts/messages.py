#!/usr/bin/env python3
"""The translations' maintenance tool (Babel). The catalogues are
`blurkit/locale/{sv,en}/LC_MESSAGES/blurkit.po` (blurkit's words, by message id) and
`blurkit/locale/sv/LC_MESSAGES/click.po` (Click's own words, in Swedish).

    scripts/messages.py check            every message used is in both catalogues, none is
                                         unused, placeholders agree, Click's words are all
                                         translated (the test suite runs the same check)
    scripts/messages.py add ID --en TEXT --sv TEXT
                                         a new message in both catalogues
    scripts/messages.py remove ID...     / rename OLD NEW
    scripts/messages.py update           rewrite the catalogues' comments: where each id is
                                         used, and the English text beside the Swedish
    scripts/messages.py compile          the .mo files (setup.py does this when installing)

What counts as a use (extracted with Babel from Python and from the Jinja2 templates):
- in Python, every string literal shaped like a message id: a namespace of the catalogue
  (the part before the first dot: "web", "cli", "pipeline" ...) followed by dotted lower-case
  words. Ids are passed as data (errors carry them, results keep them, the use-case layer
  returns them), so every literal counts, not only the arguments of `t()`. A family of
  messages chosen at run time is spelled out in a dict of literal ids next to its use;
- in templates, the literal first argument of `t()`/`_()` (Babel's Jinja2 extractor).
"""

from __future__ import annotations

import argparse
import ast
import re
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "blurkit"
sys.path.insert(0, str(ROOT))

from blurkit import i18n  # noqa: E402

LANGS = i18n.LANGUAGES
TEMPLATE_KEYWORDS = {"t": None, "_": None, "gettext": None}
# Click's words that its code passes to gettext through a variable (not extractable)
CLICK_EXTRA = {"required"}
# id-shaped literals that are not messages: file names, and the names of the crash points
# the tests stop the watcher at
FILE_SUFFIXES = {"html", "sqlite3", "lock", "jpg", "png", "mp4", "toml"}
NOT_MESSAGES = {"crashpoint", "_crashpoint"}


# --------------------------------------------------------------------------- extraction

def namespaces(ids) -> set[str]:
    return {k.split(".", 1)[0] for k in ids if "." in k}


def id_shape(spaces: set[str]) -> re.Pattern:
    alternatives = "|".join(sorted(map(re.escape, spaces)))
    return re.compile(rf"^(?:{alternatives})(?:\.[a-z0-9_-]+)+$")


def python_ids(path: Path, shape: re.Pattern) -> list[tuple[str, int]]:
    """(id, line) of every id-shaped string literal in a Python file (not file names, not
    crash point names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in NOT_MESSAGES:
                skip.update(id(a) for a in node.args)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip and shape.match(node.value) \
                and node.value.rsplit(".", 1)[1] not in FILE_SUFFIXES:
            out.append((node.value, node.lineno))
    return out


def template_ids(path: Path) -> list[tuple[str, int]]:
    """(id, line) of the literal ids of t()/_() calls in a Jinja2 template (Babel)."""
    from jinja2.ext import babel_extract

    with path.open("rb") as f:
        found = babel_extract(f, TEMPLATE_KEYWORDS, [], {"extensions": "jinja2.ext.i18n"})
        out = []
        for line, _, msg, _ in found:
            first = msg[0] if isinstance(msg, tuple) else msg     # t('id', n=...): ('id', None)
            if isinstance(first, str):
                out.append((first, line))
        return out


def uses(package: Path = PACKAGE, ids=None) -> dict[str, list[str]]:
    """id -> ["path:line", ...] of every use in the package's code and templates."""
    ids = set(ids if ids is not None else i18n.catalog())
    shape = id_shape(namespaces(ids))
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for key, line in python_ids(path, shape):
            found.setdefault(key, []).append(f"{path.relative_to(package.parent)}:{line}")
    for path in sorted(package.rglob("templates/**/*.html")):
        for key, line in template_ids(path):
            found.setdefault(key, []).append(f"{path.relative_to(package.parent)}:{line}")
    return found


def click_ids() -> set[str]:
    """Click's own msgids (singular forms), extracted from the installed Click with Babel."""
    import click
    from babel.messages.extract import extract_from_dir

    out = set(CLICK_EXTRA)
    for _, _, msg, _, _ in extract_from_dir(
            Path(click.__file__).parent, [("**.py", "python")],
            keywords={"_": None, "ngettext": (1, 2)}):
        key = msg[0] if isinstance(msg, tuple) else msg
        if key:
            out.add(key)
    return out


# --------------------------------------------------------------------------- checks

def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems() -> list[str]:
    """Everything wrong with the catalogues, as lines (empty: all is well)."""
    out = []
    catalogues = {lang: i18n.read_po(i18n.po_path(lang)) for lang in LANGS}
    for cat in catalogues.values():
        cat.pop("", None)
    every = set().union(*catalogues.values())
    for lang, cat in catalogues.items():
        for key in sorted(every - set(cat)):
            out.append(f"{key}: no {lang} text")
    for key in sorted(every):
        texts = {lang: cat.get(key, "") for lang, cat in catalogues.items()}
        try:
            names = {lang: placeholders(text) for lang, text in texts.items()}
        except ValueError as exc:
            out.append(f"{key}: broken placeholder ({exc})")
            continue
        if len({frozenset(n) for n in names.values()}) > 1:
            out.append(f"{key}: placeholders differ between languages {names}")
    used = uses(ids=every)
    for key in sorted(set(used) - every):
        out.append(f"{key}: used at {', '.join(used[key])} but in no catalogue")
    for key in sorted(every - set(used)):
        out.append(f"{key}: in the catalogues but used nowhere")
    click_sv = i18n.read_po(i18n.po_path("sv", i18n.CLICK_DOMAIN))
    click_sv_ids = {k.split("\0")[0] for k in click_sv if k}
    for key in sorted(click_ids() - click_sv_ids):
        out.append(f"Click's {key!r}: no Swedish text in click.po")
    for key in sorted(click_sv_ids - click_ids()):
        out.append(f"Click's {key!r}: in click.po but not in Click (a new Click version?)")
    return out


# --------------------------------------------------------------------------- editing

def _catalogue(lang: str):
    from babel.messages.pofile import read_po

    with i18n.po_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def _write(lang: str, catalogue) -> None:
    from babel.messages.pofile import write_po

    path = i18n.po_path(lang)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        write_po(f, catalogue, width=100, include_previous=False)
    tmp.replace(path)


def add(key: str, en: str, sv: str) -> None:
    for lang, text in (("en", en), ("sv", sv)):
        cat = _catalogue(lang)
        if key in cat:
            raise SystemExit(f"{key} is already in the {lang} catalogue")
        cat.add(key, text, auto_comments=[f"en: {en}"] if lang == "sv" else [])
        _write(lang, cat)


def put(entries: dict[str, tuple[str, str]]) -> None:
    """Add or replace messages: id -> (English, Swedish)."""
    for lang in LANGS:
        cat = _catalogue(lang)
        for key, (en, sv) in entries.items():
            text = en if lang == "en" else sv
            if key in cat:
                cat[key].string = text
                cat[key].auto_comments = [f"en: {en}"] if lang == "sv" else []
            else:
                cat.add(key, text, auto_comments=[f"en: {en}"] if lang == "sv" else [])
        _write(lang, cat)


def remove(keys: list[str]) -> None:
    for lang in LANGS:
        cat = _catalogue(lang)
        for key in keys:
            if key not in cat:
                raise SystemExit(f"{key} is not in the {lang} catalogue")
            cat.delete(key)
        _write(lang, cat)


def rename(old: str, new: str) -> None:
    for lang in LANGS:
        cat = _catalogue(lang)
        message = cat[old]
        cat.delete(old)
        cat.add(new, message.string, auto_comments=message.auto_comments,
                locations=message.locations)
        _write(lang, cat)


def update() -> None:
    """Each entry's comments: where it is used (file paths), and the English text (sv)."""
    used = uses()
    english = i18n.read_po(i18n.po_path("en"))
    for lang in LANGS:
        cat = _catalogue(lang)
        for message in cat:
            if not message.id:
                continue
            message.locations = sorted({(u.rsplit(":", 1)[0], None)
                                        for u in used.get(message.id, [])})
            message.auto_comments = ([f"en: {english.get(message.id, '')}"]
                                     if lang == "sv" else [])
        _write(lang, cat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check")
    sub.add_parser("update")
    sub.add_parser("compile")
    r = sub.add_parser("remove")
    r.add_argument("keys", nargs="+")
    n = sub.add_parser("rename")
    n.add_argument("old")
    n.add_argument("new")
    a = sub.add_parser("add")
    a.add_argument("key")
    a.add_argument("--en", required=True)
    a.add_argument("--sv", required=True)
    args = ap.parse_args()
    if args.cmd == "check":
        found = problems()
        print("\n".join(found) or "catalogues OK")
        sys.exit(1 if found else 0)
    elif args.cmd == "remove":
        remove(args.keys)
    elif args.cmd == "rename":
        rename(args.old, args.new)
    elif args.cmd == "add":
        add(args.key, args.en, args.sv)
    elif args.cmd == "update":
        update()
    else:
        for path in i18n.compile_catalogues():
            print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
