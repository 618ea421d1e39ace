"""Every reason code the engine can write into a report has words on the page, in Swedish and
English: the codes are read from the engine's code (every `reason=` given a literal, every
`"reason": ...` literal, the first codes of FaceDecision), so a new code without words fails
here rather than showing up raw on a review page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from blurkit import i18n
from blurkit.web import words

PACKAGE = Path(__file__).resolve().parent.parent / "blurkit"
WRITERS = [PACKAGE / "engine", PACKAGE / "identify", PACKAGE / "consent"]


def _in_raise(tree: ast.AST) -> set[int]:
    """ids of the nodes under a `raise` (an error's own parameters are not report codes)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            inside.update(id(n) for n in ast.walk(node))
    return inside


CODE = re.compile(r"^[a-z][a-z0-9_]*$")     # a reason code (an error's reason is a phrase)


def reason_codes() -> set[str]:
    codes: set[str] = set()
    for root in WRITERS:
        for path in root.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _in_raise(tree)
            for node in ast.walk(tree):
                if id(node) in skip:
                    continue
                if isinstance(node, ast.keyword) and node.arg == "reason" \
                        and isinstance(node.value, ast.Constant) \
                        and isinstance(node.value.value, str):
                    codes.add(node.value.value)
                elif isinstance(node, ast.Dict):
                    for k, v in zip(node.keys, node.values, strict=True):
                        if isinstance(k, ast.Constant) and k.value == "reason" \
                                and isinstance(v, ast.Constant) and isinstance(v.value, str):
                            codes.add(v.value)
                elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == \
                        "FaceDecision" and len(node.args) >= 3 \
                        and isinstance(node.args[2], ast.Constant):
                    codes.add(node.args[2].value)
                elif isinstance(node, ast.FunctionDef):
                    for arg, default in zip(node.args.args[::-1], node.args.defaults[::-1],
                                            strict=False):
                        if arg.arg == "reason" and isinstance(default, ast.Constant) \
                                and isinstance(default.value, str):
                            codes.add(default.value)
    return {c for c in codes if CODE.match(c)}


def consent_rule_codes() -> set[str]:
    return {key.rsplit(".", 1)[-1] for key in i18n.catalog()
            if key.startswith("consent.reason.")}


def test_the_scan_finds_the_codes_it_must():
    codes = reason_codes()
    assert {"no_consented_person", "second_look", "reviewer_hidden",
            "consent_not_valid_now"} <= codes
    assert "box" not in codes          # a BadDecision's parameter, under `raise`
    assert "out of memory" not in codes  # an error message's parameter


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_reason_the_engine_writes_has_words(lang):
    families = words.reason_families()
    codes = reason_codes() | consent_rule_codes()
    for family in families:
        codes |= set(family)
    raw = sorted(c for c in codes if words.reason(c, lang) == c)
    assert raw == []
