"""The HTTP face: JSON under /api/v1, Prometheus text at /metrics, /healthz and /readyz.

Errors are RFC 9457 problem details (``application/problem+json``). Every operation under
/api/v1 states the role it needs (``agents.roles``; the OpenAPI description says it on each);
only signing in, /healthz, /readyz, /metrics and the docs are open. /docs and /redoc serve
Swagger UI and ReDoc from the packaged copy of fastapi-offline: a government intranet has no
CDN.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from agents.audit_api import make_router as audit_router
from agents.auth_api import make_router as auth_router
from agents.authentication import authenticator_from_settings, roles_of
from agents.call_control_api import make_router as call_control_router
from agents.desk_api import make_router as desk_stream_router
from agents.desk_stream import DeskStreams
from agents.operator import SimulatedOperator
from agents.roles import Role, grants
from agents.shift_api import make_router as seat_router
from agents.signin_throttle import SigninThrottle
from agents.users_api import make_router as users_router
from config.catalogue import Catalogue, load_catalogue
from hotline.call_control import RuntimeCallControl
from hotline.callback_job import callback_rules
from hotline.desk import Desk
from hotline.desk_page import add_desk_page
from hotline.page_policy import SameOriginPages
from hotline.runtime import Runtime
from ivr.api import make_router as announcements_router
from ivr.menus import load_menus
from knowledge.api import make_router as knowledge_router
from metrics.api import make_router as history_router
from metrics.centre_label import CentreLabelled
from metrics.report_api import make_router as report_router
from routing.calls import rounded
from routing.suggestions import Suggester
from routing.suggestions_api import make_router as suggestions_router
from tickets.api import make_router as tickets_router
from tickets.drafts_api import make_router as drafts_router
from tickets.intake_api import make_router as intake_router
from tickets.lifecycle import Party
from tickets.lookup_api import make_router as lookup_router
from tickets.open311_api import make_router as open311_router
from tickets.workflow_api import make_router as workflow_router

__all__ = ["OPEN_OPERATIONS", "PROBLEM", "Problem", "create_app", "operations", "problem"]

PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``). Extra members
    say more: ``errors`` (each invalid field of a 422), ``checks`` (what is down, on 503)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="about:blank: the status says it all.")
    title: str = Field(description="The status's phrase, or a short summary.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for a person.")


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    checks: dict[str, bool] = Field(description="Each dependency: true when it answers.")


class QueueOut(BaseModel):
    queue: str
    offered: int
    answered: int
    abandoned: int
    waiting: int
    answer_ratio: float | None = Field(
        description="answered / offered; null before the first offered call (not defined)."
    )


def create_app(runtime: Runtime, *, people_clock: Callable[[], float] = time.time) -> FastAPI:
    """The app over ``runtime``. ``people_clock`` (epoch seconds) times the sign-ins: tokens
    and the sign-in slowdown live in the time of the people at the desks, the wall clock,
    even when the embedded PBX's clock (``runtime.now``) runs faster than real time."""
    app = FastAPIOffline(
        title="12345 hotline backend",
        version="0.1.0",
        description="Live call-centre state, tickets and metrics of the 12345 hotline.",
        static_url="/docs-assets",
        # Swagger UI would show a badge fetched from validator.swagger.io: not on an intranet.
        swagger_ui_parameters={"validatorUrl": None},
    )
    auth = authenticator_from_settings(
        runtime.settings, sessions=lambda: runtime.sessions, now=people_clock
    )
    operator = [Depends(auth.require(Role.OPERATOR))]

    @app.exception_handler(StarletteHTTPException)
    async def _http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})  # e.g. 401's WWW-Authenticate stays
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(422, "Invalid request", "The request has invalid fields.", errors=errors)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=Ready,
        responses={503: {"description": "Not ready: the AMI link or the database is down."}},
    )
    async def readyz() -> Response:
        """Ready when the AMI link is logged in and resynced and the database answers."""
        ami = runtime.ami_connected
        db = await runtime.database_answers()
        checks = {"ami": ami, "database": db}
        if ami and db:
            return JSONResponse({"status": "ready", "checks": checks})
        down = ", ".join(k for k, ok in checks.items() if not ok)
        return problem(503, "Not ready", f"not ready: {down} down", checks=checks)

    @app.get(
        "/metrics",
        tags=["metrics"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        """Prometheus text exposition format."""
        runtime.ami_connected  # refresh the link gauge  # noqa: B018
        exposed = CentreLabelled(runtime.registry, runtime.settings.centre)
        return Response(generate_latest(exposed), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/queues", tags=["live"], dependencies=operator)
    async def queues() -> list[QueueOut]:
        """Each queue's calls since start."""
        calls = runtime.controller.calls
        return [
            QueueOut(
                queue=q,
                offered=st.offered,
                answered=st.answered,
                abandoned=st.abandoned,
                waiting=calls.waiting_count(q),
                answer_ratio=rounded(st.answer_ratio, 4),
            )
            for q, st in sorted(calls.stats.items())
        ]

    app.include_router(auth_router(auth))
    app.include_router(users_router(auth))
    app.include_router(audit_router(auth))
    app.include_router(seat_router(auth, lambda: runtime.seat_lifecycle))
    app.include_router(call_control_router(auth, lambda: RuntimeCallControl(runtime)))
    app.include_router(tickets_router(runtime), dependencies=operator)
    app.include_router(announcements_router(runtime, auth))
    app.include_router(
        knowledge_router(
            runtime, reader=auth.require(Role.OPERATOR), admin=auth.require(Role.ADMIN)
        )
    )
    routing_help = getattr(runtime, "routing_help", None) or _routing_help_of_its_own(runtime)
    app.include_router(suggestions_router(routing_help, reader=auth.require(Role.OPERATOR)))
    # Local periods at the centre's offset, the one its opening hours use (config/ivr.yaml).
    offset = load_menus(runtime.settings.config_dir).hours.utc_offset_hours
    supervisor = [Depends(auth.require(Role.SUPERVISOR))]
    app.include_router(history_router(runtime, offset), dependencies=supervisor)
    catalogue = _catalogue_of(runtime)
    app.include_router(
        report_router(
            runtime,
            lambda: {c: d.name for c, d in catalogue().departments.items()},
            lambda: datetime.fromtimestamp(runtime.now(), UTC),
        ),
        dependencies=supervisor,
    )
    desk = getattr(runtime, "desk", None) or _desk_of_its_own(runtime)
    me, supervising = auth.require(Role.OPERATOR), auth.require(Role.SUPERVISOR)
    app.include_router(drafts_router(desk, me=me, supervisor=supervising))
    app.include_router(desk_stream_router(auth, desk.streams, desk))
    app.include_router(
        workflow_router(
            desk,
            centre=me,
            dispatcher=auth.require(Role.DISPATCHER),
            department=auth.require(Role.DEPARTMENT),
            parties_of=parties_of,
            supervisor=supervising,
            catalogue=catalogue,
            repeat_days=runtime.settings.repeat_caller_days,
            callback_rules=callback_rules(runtime.settings),
            automatic_callbacks=bool(runtime.settings.callback_channel),
        )
    )
    repeat_days = runtime.settings.repeat_caller_days
    app.include_router(intake_router(desk, centre=me, repeat_days=repeat_days))
    # its own count of wrong tries, on the people's clock like the sign-ins'
    app.include_router(lookup_router(desk, SigninThrottle(people_clock)))
    app.include_router(open311_router(desk, catalogue=catalogue, client=me))
    add_desk_page(app)  # the reference desk: open; what it calls is role-checked
    app.add_middleware(SameOriginPages, paths=("/docs", "/redoc", "/desk"))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


#: The lifecycle's parties each centre role may act as (tickets.lifecycle: who takes a step).
_PARTIES = {
    Role.OPERATOR: Party.OPERATOR,
    Role.DISPATCHER: Party.DISPATCHER,
    Role.SUPERVISOR: Party.SUPERVISOR,
}


def parties_of(who: Any) -> frozenset[Party]:
    """A signed-in person's parties: those of their role and of every role it grants."""
    return frozenset(p for role, p in _PARTIES.items() if grants(who.role, role))


def _desk_of_its_own(runtime: Any) -> Desk:
    """A desk for an app over a bare runtime (tests of other routes): no call reaches it."""
    return Desk(
        DeskStreams(),
        simulated=SimulatedOperator(),
        sessions=lambda: runtime.sessions,
        now=lambda: runtime.now(),
        seat_state=lambda interface: "unknown",
        resolution_changed=lambda resolved: None,
    )


def _routing_help_of_its_own(runtime: Any) -> Callable[[], Suggester]:
    """The routing help of an app over a bare runtime (tests of other routes)."""
    return functools.cache(lambda: Suggester(load_catalogue(runtime.settings.config_dir)))


def _catalogue_of(runtime: Any) -> Callable[[], Catalogue]:
    """The runtime's catalogue, or (a bare runtime: tests of other routes) the config's."""
    if getattr(runtime, "catalogue", None) is not None:
        return lambda: runtime.catalogue  # type: ignore[no-any-return]
    return functools.cache(lambda: load_catalogue(runtime.settings.config_dir))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description, told that every error is a problem (as the handlers above
    send them): each 4xx and 5xx answer of each operation is ``application/problem+json``
    with the :class:`Problem` schema, instead of FastAPI's ``application/json`` 422; and an
    operation with a body also answers 400 (a body that is not JSON)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        ref = {"$ref": "#/components/schemas/Problem"}
        roles = {(path, method): role for method, path, role in operations(app)}
        for path, item in doc.get("paths", {}).items():
            for method, operation in item.items():
                _state_role(operation, roles.get((path, method.upper())))
                if "requestBody" in operation:  # FastAPI answers 400 to a body it cannot parse
                    operation["responses"].setdefault(
                        "400", {"description": "The body is not well-formed JSON."}
                    )
                for status, answer in operation.get("responses", {}).items():
                    if status[:1] in ("4", "5"):
                        answer["content"] = {PROBLEM: {"schema": ref}}
                        if status == "422":
                            answer["description"] = "Invalid request: see `errors`."
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = doc
    return app.openapi_schema


#: The operations open to anyone, by design: signing in (the body carries the credential),
#: health, readiness, metrics (Prometheus scrapes without a token; no personal data), the
#: docs, and the reference desk page (the API it calls checks the roles). Every other
#: operation states its role; a test fails on one that does not.
OPEN_OPERATIONS = frozenset(
    {
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        # citizens have no account: the number and the phone's last digits, throttled
        ("POST", "/api/v1/public/lookup"),
        # Open311's service list: the catalogue's matters, nothing personal
        ("GET", "/open311/v2/services.json"),
        ("GET", "/open311/v2/services/{service_code}.json"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        ("GET", "/desk"),
    }
)


def operations(app: FastAPI) -> list[tuple[str, str, Role | None]]:
    """Every (method, path) the app answers, with the role it needs (None: open). Routers
    included into the app are walked too (FastAPI keeps them apart from ``app.routes``)."""
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        needed = roles_of(dependant) if dependant is not None else set()
        role = max(needed, key=lambda r: r.rank) if needed else None
        # ``{interface:path}`` (a seat's interface has a slash) is ``{interface}`` in OpenAPI
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", str(route.path))
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, path, role))
    return found


def _state_role(operation: dict[str, Any], role: Role | None) -> None:
    """Say in the operation's description which role it needs, and document its 401 and 403
    (the bearer scheme itself FastAPI declares, from the dependency)."""
    if role is None:
        said = "Open: no sign-in needed."
    elif role is Role.DEPARTMENT:
        said = "Role: **department** (a department's user; their department's tickets only)."
    else:
        said = f"Role: **{role}** or higher (not department)."
    text = operation.get("description")
    operation["description"] = f"{text}\n\n{said}" if text else said
    if role is None:
        return
    answers = operation.setdefault("responses", {})
    answers.setdefault(
        "401", {"description": "Not signed in, or the access token is bad or expired."}
    )
    if role is Role.DEPARTMENT:
        answers.setdefault("403", {"description": "Signed in, but not as a department's user."})
    elif role.lowest:  # every centre role grants it: only a department user is refused
        answers.setdefault("403", {"description": "Signed in as a department's user."})
    else:
        answers.setdefault("403", {"description": f"Signed in, but not as {role} or higher."})


def _allowed_methods(request: Request) -> str:
    """Every method this path answers (RFC 9110's ``Allow`` of a 405): the operations the
    OpenAPI description lists for the path, and the app's own plain routes (``/docs``).
    Starlette would name only the first route that matched the path, but FastAPI makes one
    route per method: ``GET`` and ``POST /api/v1/announcements`` are two."""
    path = request.scope["path"]
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if _path_pattern(template).fullmatch(path):
            methods |= {m.upper() for m in item}
    for route in request.app.routes:
        if isinstance(getattr(route, "methods", None), set | frozenset):
            if route.matches(request.scope)[0] is Match.PARTIAL:
                methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return ", ".join(sorted(methods))


@functools.lru_cache(maxsize=256)
def _path_pattern(template: str) -> re.Pattern[str]:
    """``/api/v1/tickets/{number}`` as a regular expression of the paths it stands for."""
    parts = re.split(r"(\{[^/{}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
