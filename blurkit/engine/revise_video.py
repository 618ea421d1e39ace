"""A person's corrections to an anonymized video, applied by rendering it again from the original.

Decisions (plain dicts, as for photos in `blurkit.engine.revise`):

    {"action": "hide_track", "track": ID}
        the face of the machine's track ID stays hidden for its whole life
    {"action": "show_track", "track": ID, "person_id": P}
        the track is person P, who has a valid consent for the purpose: shown
    {"action": "hide_region", "shape": "rect", "box": [x1, y1, x2, y2], "from": T0, "to": T1}
        a face the detector missed: the region is destroyed in every frame from T0 to T1
        seconds (inclusive)

Tracks are named by the machine's first report (kept under "machine"). The video is analysed
again, and each of the machine's tracks is found among the new ones by where it was (its
largest box, in its frame): so a decision keeps meaning the same face even when a newer
detector version numbers tracks differently. A machine track that cannot be found again makes
the render fail (nothing is shown by mistake); a "show" is checked against today's consent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from blurkit.engine.revise import BadDecision, ShowRefused
from blurkit.errors import BlurkitError

VIDEO_ACTIONS = ("hide_track", "show_track", "hide_region")


class TrackLost(BlurkitError):
    pass


def machine_tracks(report: dict) -> list[dict]:
    if "machine" in report:
        return report["machine"].get("faces", [])
    return report.get("faces", [])


def check_video_decisions(decisions: list[dict], tracks: list[dict], width: int, height: int,
                          duration: float | None) -> list[dict]:
    ids = {t["id"] for t in tracks}
    out = []
    for d in decisions:
        d = dict(d)
        action = d.get("action")
        if action not in VIDEO_ACTIONS:
            raise BadDecision("revise.bad_decision", reason=f"action {action!r}")
        if action in ("hide_track", "show_track"):
            if d.get("track") not in ids:
                raise BadDecision("revise.bad_decision", reason="track")
            if action == "show_track" and not isinstance(d.get("person_id"), int):
                raise BadDecision("revise.bad_decision", reason="person")
        else:
            from blurkit.engine.revise import _box
            d["box"] = [round(v, 1) for v in _box(d.get("box"), width, height)]
            d["shape"] = "rect"
            try:
                t0, t1 = sorted((float(d.get("from", 0)), float(d.get("to", duration or 0))))
            except (TypeError, ValueError):
                raise BadDecision("revise.bad_decision", reason="time") from None
            d["from"], d["to"] = round(max(0.0, t0), 3), round(t1, 3)
        out.append(d)
    return out


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def find_track(tracks, wanted: dict):
    """The new track that is the machine's track `wanted` (same frame, overlapping box)."""
    best, best_iou = None, 0.5
    frame, box = wanted.get("box_frame", wanted.get("first_frame")), wanted.get("box")
    for t in tracks:
        if box is None or frame not in t.frames:
            continue
        iou = _iou(t.boxes[t.frames.index(frame)], box)
        if iou > best_iou:
            best, best_iou = t, iou
    return best


def render_video(original: Path, report: dict, decisions: list[dict], dest: Path, *, worker,
                 snapshot, purpose: str,
                 progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Render `original` again with `decisions` into `dest`; returns the new report."""
    from blurkit.engine.videoflow import TrackDecision, VideoJob
    from blurkit.fsutil import sha256_file

    tracks = machine_tracks(report)
    decisions = check_video_decisions(decisions, tracks, report.get("width") or 1,
                                      report.get("height") or 1, report.get("duration"))
    by_id = {t["id"]: t for t in tracks}
    wanted: dict[int, tuple] = {}          # machine track id -> ("hide"|"show", person, consent)
    for d in decisions:
        if d["action"] == "hide_track":
            wanted[d["track"]] = ("hide", None, None)
        elif d["action"] == "show_track":
            verdict = snapshot.decide(d["person_id"], purpose) if snapshot is not None else None
            if verdict is None or not verdict.valid or verdict.consent_id is None:
                raise ShowRefused("revise.show_refused", person_id=d["person_id"],
                                  purpose=purpose,
                                  reason=verdict.message() if verdict is not None else "-")
            wanted[d["track"]] = ("show", d["person_id"], verdict.consent_id)
    regions = [d for d in decisions if d["action"] == "hide_region"]

    class Reviewed(VideoJob):
        two_pass = bool(wanted)

        def adjust(self, new_tracks, new_decisions):
            out = dict(new_decisions)
            for tid, (what, person, consent) in wanted.items():
                track = find_track(new_tracks, by_id[tid])
                if track is None:
                    raise TrackLost("revise.track_lost", track=tid)
                if what == "hide":
                    out[track.id] = TrackDecision(track.id, False, "reviewer_hidden")
                else:
                    out[track.id] = TrackDecision(track.id, True, "reviewer_consent_valid",
                                                  person, consent, None)
            return out

        def extra_boxes(self, frame):
            return [tuple(r["box"]) for r in regions if r["from"] <= frame.time <= r["to"]]

    job = Reviewed(worker, original, dest, progress=progress)
    stats = job.run()
    new = copy.deepcopy(report)
    new["machine"] = report.get("machine") or {"faces": copy.deepcopy(tracks)}
    new_tracks = stats.pop("tracks")
    shown = {(t["person_id"], t["consent_id"]) for t in new_tracks if t.get("action") == "shown"}
    new["faces"] = new_tracks
    new["shown"] = [{"person_id": p, "consent_id": c} for p, c in sorted(shown)]
    new["hidden_regions"] = [r["box"] for r in regions]
    new["decisions"] = decisions
    new["output"] = str(dest)
    new["output_sha256"] = sha256_file(dest)
    new.setdefault("extra", {}).update({k: v for k, v in stats.items()
                                        if k not in ("width", "height")})
    return new
