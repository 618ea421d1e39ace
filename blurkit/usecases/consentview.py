"""Today's view of the consent register for the review desk: the snapshot (who may be shown
for which purpose), the people who can be chosen when a reviewer shows a face, and a face
recogniser built from the snapshot's templates. Read again whenever the registry's files or
the date change (as the watcher does); one per app, shared by its threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Showable:
    """A person a reviewer may name for a face: a valid consent for the purpose today AND
    face templates to compare with (a person without templates can never be confirmed)."""
    person_id: int
    name: str
    consent_id: int
    templates: int
    registered: str | None       # when the newest template was made (ISO date), for the page


class ConsentView:
    def __init__(self, settings) -> None:
        self.settings = settings
        self._key = None
        self._snapshot = None
        self._recognizer = None
        self._lock = threading.Lock()

    def snapshot(self):
        from blurkit.consent.registry import load_snapshot, registry_key

        with self._lock:
            key = registry_key(self.settings.data_dir)
            if key != self._key:
                self._recognizer = None
                self._snapshot = load_snapshot(self.settings)
                self._key = key
            return self._snapshot

    def names(self) -> dict[int, str]:
        snap = self.snapshot()
        return {p.id: p.name for p in snap.persons} if snap is not None else {}

    def showable(self, purpose: str) -> list[Showable]:
        """Everyone who may be shown today for `purpose` and has face templates, by name."""
        snap = self.snapshot()
        if snap is None:
            return []
        counts: dict[int, int] = {}
        for t in snap.templates:
            counts[t.person_id] = counts.get(t.person_id, 0) + 1
        out = []
        for p in snap.persons:
            verdict = snap.decide(p.id, purpose)
            if verdict.valid and verdict.consent_id is not None and counts.get(p.id):
                out.append(Showable(p.id, p.name, verdict.consent_id, counts[p.id],
                                    snap.registered(p.id)))
        return sorted(out, key=lambda s: (s.name.casefold(), s.person_id))

    def may_be_shown(self, person_id: int, purpose: str):
        """The rules' decision for the person today (valid or not, with its reason)."""
        snap = self.snapshot()
        if snap is None:
            return None
        return snap.decide(person_id, purpose)

    def recognizer(self):
        snap = self.snapshot()
        if snap is None or not snap.templates:
            return None
        with self._lock:
            if self._recognizer is None:
                from blurkit.identify import MODEL_NAME, Recognizer

                self._recognizer = Recognizer(self.settings.models_dir,
                                              snap.for_model(MODEL_NAME))
            return self._recognizer
