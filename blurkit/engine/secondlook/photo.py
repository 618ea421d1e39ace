"""The photo flow's call site: look at one anonymized photo, hide what the second detector
confirmed (when `LookParams.hide_score` allows it), and say what goes into the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blurkit.engine.redact import Style, redact, still_visible
from blurkit.engine.secondlook.look import SecondLook
from blurkit.engine.secondlook.people import counts
from blurkit.errors import OutputError


def look_at_photo(looker: SecondLook | None, original: np.ndarray, output: np.ndarray,
                  faces: list[dict], candidates: list[dict], style: Style,
                  source: Path, weak: list[dict] = ()) -> tuple[np.ndarray, list[dict], dict]:
    """(output, faces, extra) after the second look. `faces` and `candidates` are the
    report's dicts (each with "box", "score", and for faces "action"); `weak` the weaker
    candidates the second look checks too (not reported). Faces the second
    detector confirmed are hidden in `style` (checked from the pixels like every face) and
    appended to the faces with reason "second_look", so a re-render from the original
    (blurkit/revise.py) hides them too. `extra` holds "pointers" (a list of
    Pointer.to_dict(), possibly empty), "people_faces" and "hidden_areas"."""
    extra: dict = {}
    faces = list(faces)
    if looker is not None:
        hidden = [(tuple(f["box"]), float(f.get("score", 1.0))) for f in faces
                  if f.get("action") == "hidden"]
        cands = [(tuple(c["box"]), float(c.get("score", 0.0))) for c in candidates]
        look = looker.look(original, output, hidden, cands,
                           [(tuple(c["box"]), float(c.get("score", 0.0))) for c in weak])
        if look.hide:
            boxes = [b for b, _ in look.hide]
            output = redact(output, boxes, style)
            leaks = still_visible(original, output, boxes)
            if leaks:
                output = redact(output, leaks, Style(mode="destroy", mask="box",
                                                     margin=style.margin))
                if still_visible(original, output, leaks):
                    raise OutputError("pipeline.redaction_failed", path=source)
            for box, score in look.hide:
                faces.append({"box": [round(float(v), 1) for v in box],
                              "score": round(float(score), 4), "detector": "retinaface",
                              "action": "hidden", "reason": "second_look"})
        extra["pointers"] = look.pointer_dicts()
    people, areas = counts(faces)
    extra["people_faces"] = people
    extra["hidden_areas"] = areas
    return output, faces, extra

