"""The HTTP face: JSON under /api/v1, Prometheus text at /metrics, /healthz and /readyz.

Errors are RFC 9457 problem details (``application/problem+json``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.runtime import Runtime
from ivr.api import make_router as announcements_router
from tickets.api import make_router as tickets_router

__all__ = ["create_app"]

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="12345 hotline backend",
        version="0.1.0",
        description="Live call-centre state, tickets and metrics of the 12345 hotline.",
    )

    @app.exception_handler(StarletteHTTPException)
    async def _http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(422, "Invalid request", "The request has invalid fields.", errors=errors)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> Response:
        ami = runtime.ami_connected
        db = await runtime.database_answers()
        checks = {"ami": ami, "database": db}
        if ami and db:
            return JSONResponse({"status": "ready", "checks": checks})
        down = ", ".join(k for k, ok in checks.items() if not ok)
        return problem(503, "Not ready", f"not ready: {down} down", checks=checks)

    @app.get("/metrics", tags=["metrics"])
    async def metrics() -> Response:
        runtime.ami_connected  # refresh the link gauge  # noqa: B018
        return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/queues", tags=["live"])
    async def queues() -> list[dict[str, Any]]:
        calls = runtime.controller.calls
        return [
            {
                "queue": q,
                "offered": st.offered,
                "answered": st.answered,
                "abandoned": st.abandoned,
                "waiting": calls.waiting_count(q),
                "answer_ratio": round(st.answer_ratio, 4),
            }
            for q, st in sorted(calls.stats.items())
        ]

    @app.get("/api/v1/seats", tags=["live"])
    async def seats() -> dict[str, Any]:
        now = runtime.now()
        board = runtime.controller.seats
        return {
            "counts": board.counts(now),
            "seats": [
                {
                    "interface": s.interface,
                    "name": s.name,
                    "state": s.state(now),
                    "queues": sorted(s.queues),
                    "calls_taken": s.calls_taken,
                }
                for s in board.seats.values()
            ],
        }

    app.include_router(tickets_router(runtime))
    app.include_router(announcements_router(runtime))
    return app


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
