"""Hiding styles, one module each; `blurkit.choices.STYLES` names them and where they live.

A region style has `effect(roi) -> hidden roi` (an RGB uint8 array of the same shape): the
masks, the soft edge and the order of faces are `blurkit.engine.redact`'s. A style that draws
over the whole picture (`sticker`) has `paint(rgb, boxes, style) -> rgb` instead.
"""
