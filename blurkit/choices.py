"""Every name a person can choose, in one place each: purposes, hiding styles, masks and
face detectors. The settings file, the command line, the web page and the engine all read
these tables; nothing else lists the names (tests/test_architecture.py checks it).

Adding one:
- a purpose: an entry in PURPOSES and its words in the catalogues (`purpose.<name>`,
  `purpose.<name>.long`); the consent register stores any purpose named here;
- a hiding style: a module `blurkit/engine/styles/<name>.py` with `effect(roi) -> roi` (a
  region style) or `paint(rgb, boxes, style) -> rgb` (a style that draws over the whole
  picture, as `sticker`) and an entry in STYLES;
- a face detector: a network module in `blurkit/detect/` (a class with `name`,
  `PHOTO_PARAMS`, `VIDEO_PARAMS`, built from a model file), its model in
  `blurkit/models/manifest.toml`, an entry in NETS and one in DETECTORS.

This module imports nothing heavy: the implementations are named as "module:attribute" and
loaded on first use (`load()`), so the command line starts without loading a network.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    name: str
    impl: str | None = None           # "module:attribute" of its implementation
    label: str | None = None          # message id: what a person reads for it
    help: str | None = None           # message id: a longer explanation

    def load(self):
        """The implementation (imported on first use)."""
        if self.impl is None:
            raise LookupError(f"{self.name} has no implementation")
        module, _, attr = self.impl.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class DetectorChoice(Choice):
    nets: tuple[str, ...] = ()        # the networks (keys of NETS) it runs, in order


def _table(*choices: Choice) -> dict[str, Choice]:
    return {c.name: c for c in choices}


# The purpose of an output: a consent is given for one purpose and a face may be shown only
# in outputs of a purpose its consent covers.
PURPOSES = _table(
    Choice("public", label="purpose.public", help="purpose.public.long"),
    Choice("internal", label="purpose.internal", help="purpose.internal.long"),
)
DEFAULT_PURPOSE = "public"

# How a hidden face (or text) is made unrecognisable. `destroy` is the default and the only
# one allowed where the output must be irreversible (DESIGN.md, "Detection and masks").
STYLES = _table(
    Choice("destroy", "blurkit.engine.styles.destroy:effect"),
    Choice("blur", "blurkit.engine.styles.blur:effect"),
    Choice("pixelate", "blurkit.engine.styles.pixelate:effect"),
    Choice("solid", "blurkit.engine.styles.solid:effect"),
    Choice("sticker", "blurkit.engine.styles.sticker:paint"),
)
DEFAULT_STYLE = "destroy"

# The shape hidden around a face box.
MASKS = _table(
    Choice("head"),
    Choice("box"),
    Choice("ellipse"),
)
DEFAULT_MASK = "head"

# Face detection networks, each a class in blurkit/detect/ with its model file.
NETS = _table(
    Choice("centerface", "blurkit.detect.centerface:CenterFaceNet"),
    Choice("scrfd", "blurkit.detect.scrfd:ScrfdNet"),
)
# What a person chooses: one network or several together.
DETECTORS = _table(
    DetectorChoice("centerface", nets=("centerface",)),
    DetectorChoice("scrfd", nets=("scrfd",)),
    DetectorChoice("ensemble", nets=("centerface", "scrfd")),
)
DEFAULT_DETECTOR = "centerface"

# Readable text (name badges, signs, screens; blurkit.engine.textmask): hidden, hidden and held
# for a person in the watch folder even with review off, or not looked for at all.
TEXT = _table(Choice("hide"), Choice("review"), Choice("off"))
DEFAULT_TEXT = "hide"


def names(table: dict[str, Choice]) -> tuple[str, ...]:
    return tuple(table)
