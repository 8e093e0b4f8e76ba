"""The monthly KPI report over HTTP (``GET /api/v1/reports/monthly?month=YYYY-MM``), for
supervisors: JSON by default, or the same files ``hotline report`` writes (``format=html``,
``pdf`` or ``csv``). Computed from the store when asked (:mod:`metrics.kpi_queries`), as of
the moment asked. Read-only. Department users get nothing here: the report ranks every
department, and a department sees its own tickets through its work queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from config.report import load_report_rules
from config.yamlfile import ConfigError
from metrics.kpi import month_bounds
from metrics.kpi_queries import report_of_month
from metrics.report_render import FontMissing, as_json, render_html, to_csv, to_pdf

__all__ = ["make_router"]

_MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
}


def make_router(
    runtime: Any,
    names: Callable[[], dict[str, str]],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> APIRouter:
    """Routes on ``runtime.sessions`` with the rules of ``runtime.settings.config_dir``;
    ``names()``: the departments' Chinese names by code; ``now()``: the report's as-of."""
    router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

    @router.get(
        "/monthly",
        responses={
            200: {
                "description": "The report: JSON, or the HTML page, the PDF or the CSV file.",
                "content": {
                    "text/html": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            422: {"description": "Not a month (YYYY-MM, from 2000-01, a month 01 to 12)."},
            503: {"description": "report.yaml is wrong, or no Chinese font to draw with."},
        },
    )
    async def monthly(
        month: Annotated[
            str,
            Query(
                pattern=r"^\d{4}-\d{2}$",
                description="The local month (UTC+8), YYYY-MM from 2000-01, month 01 to 12.",
                examples=["2026-11"],
            ),
        ],
        format: Annotated[
            Literal["json", "html", "pdf", "csv"], Query(description="What to answer with.")
        ] = "json",
    ) -> Any:
        """Per department and for the centre: timely acceptance, completion on time,
        satisfaction, callback rate, late, missed and erroneous tickets per thousand, the
        efficiency index and the ranking; the centre's answer rate and instant resolution
        (the README's "The monthly report" defines each)."""
        try:
            month_bounds(month)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        try:
            rules = load_report_rules(runtime.settings.config_dir)
        except ConfigError as e:
            raise HTTPException(503, f"report.yaml cannot be used: {e}") from None
        assert runtime.sessions is not None
        async with runtime.sessions() as session:
            report = await report_of_month(session, month, rules, now(), names())
        if format == "json":
            return JSONResponse(as_json(report))
        name = f"monthly-report-{month}.{format}"
        headers = {"Content-Disposition": f'inline; filename="{name}"'}
        if format == "csv":
            return Response(to_csv(report), media_type=_MEDIA["csv"], headers=headers)
        try:
            html = await run_in_threadpool(render_html, report)
        except FontMissing as e:
            raise HTTPException(503, str(e)) from None
        body: str | bytes = html if format == "html" else await run_in_threadpool(to_pdf, html)
        return Response(body, media_type=_MEDIA[format], headers=headers)

    return router
