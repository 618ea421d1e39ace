"""Reading what a browser sends: forms with a size limit checked while they stream in, and
the small parsers the pages share (numbers, boxes, the corrections of the review pages)."""

from __future__ import annotations

from contextlib import aclosing

from starlette.datastructures import FormData
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request

FORM_LIMIT = 1 << 20            # an ordinary form: 1 MB is far more than any needs


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class BadForm(Exception):
    pass


async def read_form(request: Request, max_bytes: int = FORM_LIMIT, max_files: int = 0
                    ) -> FormData:
    """The request's form, refusing (TooLarge) as soon as more than `max_bytes` arrived or
    the declared length says it would: a large upload is never read whole before the check.
    File parts are spooled to disk by the parser, never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(max_bytes)

    async def counted():
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > max_bytes:
                raise TooLarge(max_bytes)
            yield chunk

    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        async with aclosing(counted()) as stream:
            if kind == "multipart/form-data":
                return await MultiPartParser(request.headers, stream, max_files=max_files,
                                             max_fields=200).parse()
            if kind == "application/x-www-form-urlencoded":
                return await FormParser(request.headers, stream, max_fields=200).parse()
    except MultiPartException as exc:
        raise BadForm(exc.message) from None
    return FormData()


def text(form, name: str, limit: int = 200) -> str:
    value = form.get(name) if form is not None else None
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def integer(form, name: str) -> int | None:
    try:
        value = int(text(form, name, 20))
    except ValueError:
        return None
    return value if -(2 ** 62) < value < 2 ** 62 else None


def number(form, name: str) -> float | None:
    try:
        value = float(text(form, name, 30).replace(",", "."))
    except ValueError:
        return None
    return value if abs(value) < 1e9 else None


def flag(form, name: str) -> bool:
    return text(form, name) in ("1", "on", "yes", "true")


def box(form) -> list[float] | None:
    values = [number(form, k) for k in ("x1", "y1", "x2", "y2")]
    return None if None in values else values


def photo_decision(form) -> dict | None:
    """A correction of a photo from the review page's forms (None: not understood)."""
    action = text(form, "action")
    d: dict = {"action": action}
    if action == "hide_region":
        b = box(form)
        if b is None:
            return None
        d.update(shape=text(form, "shape") or "rect", box=b)
    elif action == "hide_candidate":
        d["candidate"] = integer(form, "candidate")
    elif action == "hide_area":                       # a crowd region / pointer: its box
        b = box(form)
        if b is None:
            return None
        d.update(action="hide_region", shape="rect", box=b, area=text(form, "area", 40))
    elif action in ("unhide", "hide_face", "show"):
        d["face"] = integer(form, "face")
        if action == "show":
            d["person_id"] = integer(form, "person_id")
            reason = text(form, "reason", 300)
            if reason:
                d["reason"] = reason
    else:
        return None
    return d


def video_decision(form) -> dict | None:
    """A correction of a video from the review page's forms (None: not understood)."""
    action = text(form, "action")
    d: dict = {"action": action}
    if action in ("hide_track", "show_track"):
        d["track"] = integer(form, "track")
        if action == "show_track":
            d["person_id"] = integer(form, "person_id")
            reason = text(form, "reason", 300)
            if reason:
                d["reason"] = reason
    elif action == "hide_region":
        b = box(form)
        t0, t1 = number(form, "from"), number(form, "to")
        if b is None or t0 is None or t1 is None:
            return None
        d.update(shape="rect", box=b, **{"from": t0, "to": t1})
    else:
        return None
    return d
