"""People, not detections: which hidden detections a person would call a face.

A crowd photo comes out with hundreds of weak detections (the crowd threshold accepts
CenterFace scores down to 0.05: most of them are hands, clothes and background, the rest
small faces), and "559 faces hidden" for thirty people tells a reviewer nothing. Counts a
person reads say "N faces hidden (M further areas)": a face is a hidden detection scoring at
least PERSON_SCORE and at least PERSON_HEIGHT px tall; every other hidden detection is a
hidden area.

Chosen on the tune half of the WIDER photos (`benchmarks/secondlook.py --people`): among
score 0.05-0.6 and height 0-32 px, the rule whose count per photo came closest to the
number of annotated faces >= 16 px (summed absolute error) while at least 95 % of what it
counted lay on an annotated face. Score 0.4 (the threshold that hides a face in any photo)
and 16 px: error 210 over 112 photos (783 faces), 621 counted on a face, 30 not; score 0.3
came to 199 but counted 99 non-faces.
"""

from __future__ import annotations

PERSON_SCORE = 0.4
PERSON_HEIGHT = 16.0


def is_person_face(box, score: float | None) -> bool:
    """Would a person call this hidden detection a face? (score None: drawn or confirmed by
    a person, or a consenting person shown: always a face)."""
    if score is None:
        return True
    return score >= PERSON_SCORE and (box[3] - box[1]) >= PERSON_HEIGHT


def is_clear(face: dict, kind: str = "photo") -> bool:
    """A report entry (photo face or video track) a person would call a face: one shown,
    suggested for someone or decided about by a person, or a detection passing the rule
    above (a track by its best score and its largest box)."""
    if face.get("action") == "shown" or face.get("suggestion") \
            or str(face.get("reason", "")).startswith(("reviewer", "second_look")):
        return True
    score = face.get("max_score") if kind == "video" else face.get("score")
    return is_person_face(face.get("box", (0, 0, 0, 0)), None if score is None else float(score))


def report_counts(report: dict, kind: str = "photo") -> tuple[int, int]:
    """(faces hidden, further areas hidden) of a report as a person counts them: detections
    (or tracks) by `is_clear`, and regions a person drew count as areas."""
    faces = areas = 0
    for f in (report or {}).get("faces") or []:
        if f.get("action") != "hidden":
            continue
        if is_clear(f, kind):
            faces += 1
        else:
            areas += 1
    return faces, areas + len((report or {}).get("hidden_regions") or [])


def counts(faces: list[dict]) -> tuple[int, int]:
    """(people_faces, hidden_areas) of a report's face list (photo: detections; each dict
    with "box", "score" and "action")."""
    people = areas = 0
    for f in faces:
        if f.get("action") != "hidden":
            continue
        if is_person_face(f.get("box", (0, 0, 0, 0)), f.get("score")):
            people += 1
        else:
            areas += 1
    return people, areas
