"""The diarium on screen: the audit log filtered and paged, the chain's state, and the CSV
export (byte for byte what `blurkit audit export --csv` writes). Registrars and
administrators only (`page("diarium")`).

Thin: parse the filters, run the use case (`blurkit.usecases.diarium.DiariumService`) in the
thread pool, render.
"""

from __future__ import annotations

import re
from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from blurkit.config import PURPOSES
from blurkit.usecases import diarium as uc
from blurkit.usecases.wording import say, say_all
from blurkit.web import forms
from blurkit.web.context import Ctx, page

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def day(text: str) -> date | None:
    text = (text or "").strip()
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


def filters_from(request: Request) -> uc.Filters:
    q = request.query_params
    person = q.get("person", "").strip().lstrip("#")
    return uc.filters(since=day(q.get("from", "")), until=day(q.get("to", "")),
                      person=int(person) if person.isdigit() and len(person) <= 18 else None,
                      operator=q.get("operator", ""), purpose_code=q.get("purpose", ""),
                      kind=q.get("kind", ""), offset=max(0, forms.integer(q, "offset") or 0))


@page("diarium")
async def diarium(request: Request, ctx: Ctx) -> Response:
    data = await run_in_threadpool(ctx.app.diarium.page, filters_from(request))
    return ctx.app.render(ctx, "diarium.html", active="diarium", p=data, f=data.filters,
                          query=data.filters.query(), purposes=PURPOSES,
                          say=lambda x: say(x, ctx.lang),
                          say_all=lambda xs: say_all(xs, ctx.lang))


@page("diarium")
async def export_csv(request: Request, ctx: Ctx) -> Response:
    """The whole log as CSV (audit.csv_chunks, as the command line writes it)."""
    export = await run_in_threadpool(ctx.app.diarium.export)
    return StreamingResponse(export.chunks, media_type="text/csv; charset=utf-8",
                             headers={"cache-control": "no-store",
                                      "content-disposition":
                                      f'attachment; filename="{export.name}"'})
