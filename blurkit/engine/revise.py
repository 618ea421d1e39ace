"""A person's corrections to an anonymized photo, applied by rendering it again from the original.

The review page (and anyone else) describes corrections as plain decisions, a list of dicts:

    {"action": "hide_region", "shape": "rect" | "ellipse", "box": [x1, y1, x2, y2]}
        a face the detector missed: the region is destroyed (irreversible default style)
    {"action": "hide_candidate", "candidate": i}
        a detection just under the hiding threshold (report["extra"]["candidates"][i]): hide it
    {"action": "unhide", "face": i}
        face i of the machine's report is not a face (a poster, a fist): leave it untouched
    {"action": "hide_face", "face": i}
        face i was shown as a consenting person, but must be hidden
    {"action": "show", "face": i, "person_id": P}
        face i is person P, who has a valid consent for the output's purpose: show it
    {"action": "show_text", "text": i, "reason": "..."}
        text region i of the machine's report (report["text"][i], hidden) may be read: show
        it again. A reason is required (it goes to the diarium with the reviewer). Text the
        margin of a hidden face covers stays hidden.

Each decision may also carry "by" (the reviewer) and "at" (UTC time); they are kept as they
are. Faces are numbered as in the machine's first report, which is kept in the report under
"machine" the first time it is revised, so decisions stay valid however often the photo is
rendered again. Rendering always starts from the original: the result depends only on the
original, the machine's report and the full list of decisions.

Fail-safe: "show" is refused unless the person's consent is valid today for the purpose
(`ShowRefused`; or, with `refuse_invalid_show=False`, the face is hidden: a re-render after a
withdrawal); a face the machine showed is hidden when its person may no longer be shown; a
shown face is still hidden where a hidden region covers it; every hidden region is checked
from the pixels afterwards (`still_visible`), exactly as in the pipeline.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

from blurkit import i18n
from blurkit.detect.text import TextRegion
from blurkit.engine.redact import Style, keep_shown, redact, still_visible
from blurkit.engine.textmask import hide_text_checked
from blurkit.errors import BlurkitError, OutputError
from blurkit.fsutil import sha256_file
from blurkit.media.image import read_photo, write_photo

ACTIONS = ("hide_region", "hide_candidate", "unhide", "hide_face", "show", "show_text")
SHAPES = ("rect", "ellipse")
REGION_MARGIN = 0.08   # a drawn region is hidden with a small margin: people draw tight boxes


class ShowRefused(BlurkitError):
    pass


class BadDecision(BlurkitError):
    pass


def machine_part(report: dict) -> dict:
    """The machine's own findings (faces, candidates) as first reported."""
    if "machine" in report:
        return report["machine"]
    return {"faces": copy.deepcopy(report.get("faces", [])),
            "candidates": copy.deepcopy((report.get("extra") or {}).get("candidates", [])),
            "shown": copy.deepcopy(report.get("shown", [])),
            "text": copy.deepcopy(report.get("text", []))}


def _box(value, width: int, height: int) -> tuple[float, float, float, float]:
    try:
        x1, y1, x2, y2 = (float(v) for v in value)
    except (TypeError, ValueError):
        raise BadDecision("revise.bad_decision", reason="box") from None
    x1, x2 = sorted((max(0.0, min(x1, width)), max(0.0, min(x2, width))))
    y1, y2 = sorted((max(0.0, min(y1, height)), max(0.0, min(y2, height))))
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise BadDecision("revise.bad_decision", reason="box too small")
    return x1, y1, x2, y2


def check_decisions(decisions: Iterable[dict], machine: dict, width: int,
                    height: int) -> list[dict]:
    """The decisions, validated and normalised (boxes clipped to the picture)."""
    faces, candidates = machine.get("faces", []), machine.get("candidates", [])
    out = []
    for d in decisions:
        action = d.get("action")
        if action not in ACTIONS:
            raise BadDecision("revise.bad_decision", reason=f"action {action!r}")
        d = dict(d)
        if action == "hide_region":
            if d.get("shape", "rect") not in SHAPES:
                raise BadDecision("revise.bad_decision", reason="shape")
            d["shape"] = d.get("shape", "rect")
            d["box"] = [round(v, 1) for v in _box(d.get("box"), width, height)]
        elif action == "hide_candidate":
            if not isinstance(d.get("candidate"), int) or not 0 <= d["candidate"] < len(candidates):
                raise BadDecision("revise.bad_decision", reason="candidate")
        elif action == "show_text":
            texts = machine.get("text", [])
            if (not isinstance(d.get("text"), int) or isinstance(d.get("text"), bool)
                    or not 0 <= d["text"] < len(texts)):
                raise BadDecision("revise.bad_decision", reason="text")
            if not isinstance(d.get("reason"), str) or not d["reason"].strip():
                raise BadDecision("revise.bad_decision", reason="a reason is required")
        else:
            if not isinstance(d.get("face"), int) or not 0 <= d["face"] < len(faces):
                raise BadDecision("revise.bad_decision", reason="face")
            if action == "show" and not isinstance(d.get("person_id"), int):
                raise BadDecision("revise.bad_decision", reason="person")
        out.append(d)
    return out


def _still_allowed(faces: list[dict], snapshot, purpose: str) -> None:
    """Hide every face the machine showed whose person may not be shown today any more (a
    withdrawal, an expiry since the machine decided)."""
    for f in faces:
        if f.get("action") != "shown" or f.get("person_id") is None:
            continue
        verdict = snapshot.decide(f["person_id"], purpose) if snapshot is not None else None
        if verdict is None or not verdict.valid:
            for key in ("person_id", "consent_id"):
                f.pop(key, None)
            f.update(action="hidden", reason="consent_not_valid_now")


def final_faces(machine: dict, decisions: list[dict], snapshot, purpose: str,
                refuse_invalid_show: bool = True) -> list[dict]:
    """The machine's faces with the people's decisions applied (later decisions about the
    same face win). Raises ShowRefused when a "show" names a person who may not be shown
    (or hides the face, with `refuse_invalid_show=False`)."""
    faces = [dict(f) for f in machine.get("faces", [])]
    _still_allowed(faces, snapshot, purpose)
    for d in decisions:
        action = d["action"]
        if action not in ("unhide", "hide_face", "show"):
            continue
        f = faces[d["face"]]
        for key in ("person_id", "consent_id"):
            f.pop(key, None)
        if action == "unhide":
            f.update(action="untouched", reason="reviewer_not_a_face")
        elif action == "hide_face":
            f.update(action="hidden", reason="reviewer_hidden")
        else:
            verdict = snapshot.decide(d["person_id"], purpose) if snapshot is not None else None
            if (verdict is None or not verdict.valid or verdict.consent_id is None) \
                    and not refuse_invalid_show:
                f.update(action="hidden", reason="consent_not_valid_now")
                continue
            if verdict is None or not verdict.valid or verdict.consent_id is None:
                reason = (verdict.message() if verdict is not None
                          else i18n.t("revise.bad_decision", reason="no registry"))
                raise ShowRefused("revise.show_refused", person_id=d["person_id"],
                                  purpose=purpose, reason=reason)
            f.update(action="shown", reason="reviewer_consent_valid", person_id=d["person_id"],
                     consent_id=verdict.consent_id)
    # a detection shown only as part of a shown face (the same face found again at another
    # scale) is hidden once no shown face of that person holds it any more
    from blurkit.engine.decide import NESTED, inside_share

    hosts = [f for f in faces if f.get("action") == "shown"
             and f.get("reason") != "part_of_shown_face"]
    for f in faces:
        if f.get("action") == "shown" and f.get("reason") == "part_of_shown_face" and not any(
                h.get("person_id") == f.get("person_id")
                and inside_share(f["box"], h["box"]) >= NESTED for h in hosts):
            for key in ("person_id", "consent_id"):
                f.pop(key, None)
            f.update(action="hidden", reason="reviewer_hidden")
    return faces


def render_photo(original: Path, report: dict, decisions: list[dict], dest: Path, *,
                 snapshot, purpose: str, jpeg_quality: int = 92,
                 style: Style = Style(), refuse_invalid_show: bool = True) -> dict:
    """Render `original` again with `decisions` into `dest` (which must not exist); returns
    the new report (the machine's part kept under "machine")."""
    photo = read_photo(original)
    rgb = photo.pixels
    machine = machine_part(report)
    decisions = check_decisions(decisions, machine, photo.width, photo.height)
    faces = final_faces(machine, decisions, snapshot, purpose, refuse_invalid_show)
    hidden_faces = [tuple(f["box"]) for f in faces if f.get("action") == "hidden"]
    shown = [tuple(f["box"]) for f in faces if f.get("action") == "shown"]
    candidates = machine.get("candidates", [])
    hidden_candidates = [tuple(candidates[d["candidate"]]["box"]) for d in decisions
                         if d["action"] == "hide_candidate"]
    regions = [d for d in decisions if d["action"] == "hide_region"]
    texts = final_text(machine, decisions)

    out = redact(rgb, hidden_faces + hidden_candidates, style)
    if shown:
        out = keep_shown(rgb, out, shown, hidden_faces + hidden_candidates)
    text_again = 0
    hidden_text = [TextRegion.from_dict(t) for t in texts if t.get("action") == "hidden"]
    if hidden_text:     # after the faces, as in the pipeline; never given back to a face
        out, text_again = hide_text_checked(rgb, out, hidden_text, style, original)
    strong = Style(mode="destroy", mask="box", margin=REGION_MARGIN)
    for shape in SHAPES:
        boxes = [tuple(r["box"]) for r in regions if r["shape"] == shape]
        if boxes:   # drawn by a person: destroyed whatever the lighter style, never given back
            out = redact(out, boxes, Style(mode="destroy", mask="ellipse" if shape == "ellipse"
                                           else "box", margin=REGION_MARGIN))
    checked = hidden_faces + hidden_candidates + [tuple(r["box"]) for r in regions]
    notes = []
    leaks = still_visible(rgb, out, checked)
    if leaks:
        out = redact(out, leaks, strong)
        notes.append(i18n.t("pipeline.note.strengthened", n=len(leaks)))
        if still_visible(rgb, out, leaks):
            raise OutputError("pipeline.redaction_failed", path=original)
    write_photo(photo, out, dest, jpeg_quality=jpeg_quality)

    new = copy.deepcopy(report)
    new["machine"] = machine
    new["faces"] = faces
    if texts:
        new["text"] = texts
    new["shown"] = [{"person_id": f["person_id"], "consent_id": f["consent_id"]}
                    for f in faces if f.get("action") == "shown"]
    new["hidden_regions"] = [r["box"] for r in regions]
    new["output"] = str(dest)
    new["output_sha256"] = sha256_file(dest)
    new["hidden"] = (sum(1 for f in faces if f.get("action") == "hidden")
                     + len(hidden_candidates) + len(regions))
    new["decisions"] = decisions
    new["notes"] = [n for n in report.get("notes", []) if n not in notes] + notes
    if leaks:
        new.setdefault("extra", {})["hidden_again"] = len(leaks)
    if text_again:
        new.setdefault("extra", {})["text_hidden_again"] = text_again
    return new


def final_text(machine: dict, decisions: list[dict]) -> list[dict]:
    """The machine's text regions with the reviewers' "show_text" decisions applied: a
    hidden region a person showed becomes action "shown" with their reason (and "by" when
    the decision names the reviewer)."""
    texts = [dict(t) for t in machine.get("text", [])]
    for d in decisions:
        if d["action"] != "show_text":
            continue
        t = texts[d["text"]]
        if t.get("action") == "hidden":
            t.update(action="shown", reason=d["reason"].strip())
            if d.get("by"):
                t["by"] = d["by"]
    return texts
