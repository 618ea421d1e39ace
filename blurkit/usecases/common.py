"""Small types every use case shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from blurkit.errors import BlurkitError


class Refused(BlurkitError):
    """A rule says no (a face shown without grounds, an approval without a preview ...):
    nothing was changed; the message says why and what to do instead."""


class NotFound(BlurkitError):
    """The thing asked for does not exist (or no longer: approved, removed ...)."""

    def __init__(self, key: str = "web.err.not_found", **params: object) -> None:
        super().__init__(key, **params)


@dataclass(frozen=True)
class Notice:
    """Something to tell the person afterwards: `kind` ok | info | warn, a message id and
    its parameters."""
    kind: str
    key: str
    params: dict = field(default_factory=dict)


# Ids are SQLite integers: anything longer than this cannot name a row (and a larger number
# would overflow SQLite's 64-bit integers on the way in).
MAX_ID = 2 ** 63 - 1


def valid_id(value) -> int | None:
    """`value` as a row id, or None when it cannot be one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None
