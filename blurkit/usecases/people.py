"""The consent register as a registrar uses it (the web page's people pages and
`blurkit consent ...`): registration drafts, withdrawal with what it must undo everywhere."""

from __future__ import annotations

from blurkit.usecases.enrolment import Drafts, Enroller


class PeopleService:
    def __init__(self, settings, review=None) -> None:
        self.settings = settings
        self.review = review              # ReviewService: items waiting in review
        self.drafts = Drafts()
        self._enroller: Enroller | None = None

    def enroller(self) -> Enroller:
        if self._enroller is None:
            self._enroller = Enroller(self.settings)
        return self._enroller

    def after_withdrawal(self, person_id: int) -> list[int]:
        """See `redecide_waiting` (every watch folder of this data directory)."""
        return redecide_waiting(self.settings, person_id, own=self.review)


def redecide_waiting(settings, person_id: int, own=None) -> list[int]:
    """Nothing waiting in review may still show a person whose consent was withdrawn: every
    item whose output (or waiting corrections) shows them is rendered again with today's
    consent, and the derived copies of their earlier outputs go with it. Every watch folder
    of the data directory; the ids rendered again."""
    from blurkit.usecases.review import review_services

    done = []
    services = review_services(settings, own)
    try:
        for service in services:
            for _ in range(3):      # an item an approval sent back meanwhile comes round again
                waiting = service.waiting_with(person_id)
                if not waiting:
                    break
                for item_id in waiting:
                    if service.redecide(item_id):
                        done.append(item_id)
    finally:
        for service in services:
            if service is not own:
                service.close()
    return done
