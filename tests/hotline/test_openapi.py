"""The OpenAPI description matches what the API sends: schemathesis, every check, every
operation, against the ASGI app (in process, no socket).

The app runs on a real :class:`hotline.runtime.Runtime` that is not started (no PBX, no AMI
link: ``/readyz`` answers 503) over a migrated SQLite store holding a few tickets, so the
ticket and announcement routes answer from a real database. Requests carry an admin's access
token, so the guarded operations are exercised, not only their 401; schemathesis' own
``ignored_auth`` check sends them without it too and expects the 401 the description states.
Bounded: a few dozen examples per operation, no deadline, well under a minute.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy.pool import NullPool

from agents.roles import Role
from config.catalogue import load_catalogue
from config.pause_codes import load_pause_codes
from config.settings import CONFIG_DIR, Settings
from hotline.app import PROBLEM, create_app
from hotline.runtime import Runtime
from ivr.api import AnnouncementIn
from metrics.kpi import month_bounds
from tests.agents.signin import make_user, tokens
from tickets import lifecycle as lc
from tickets.db import make_engine, session_factory, upgrade_sync
from tickets.numbers import is_valid, make_number
from tickets.service import TicketDraft, create_tickets
from tickets.workflow_api import DEPARTMENT_STEPS

pytestmark = pytest.mark.e2e

load_all_checks()
ALL_CHECKS = CHECKS.get_all()  # what `schemathesis run --checks all` runs


def _drafts(n: int) -> list[TicketDraft]:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    return [
        TicketDraft(
            linkedid=f"1795966595.{i}",
            call_uniqueid=f"1795966595.{i}",
            caller_num=f"1380000{i:04d}",
            caller_name="张三",
            queue="hotline",
            seat="Local/8001@agents/n",
            joined_at=at,
            answered_at=at,
            ended_at=at,
            kind="consultation",
            resolved_on_call=i % 2 == 0,
        )
        for i in range(n)
    ]


def _api(folder: Path) -> tuple[Any, Runtime, str]:
    url = f"sqlite:///{folder / 'store.db'}"
    upgrade_sync(url)
    runtime = Runtime(Settings(_env_file=None), database_url=url)
    # NullPool: a connection per session, opened in whichever loop the test client runs.
    runtime.engine = make_engine(url, poolclass=NullPool)
    runtime.sessions = session_factory(runtime.engine)

    app = create_app(runtime)

    async def seed() -> str:
        async with runtime.sessions() as session:
            await create_tickets(session, _drafts(3))
        await make_user(runtime.sessions, "root", Role.ADMIN)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return (await tokens(client, "root"))["access_token"]

    token = asyncio.run(seed())
    runtime.controller.calls.queue_stats("hotline")  # a queue with no call offered yet
    return app, runtime, token


# Built at import: schemathesis' lazy `from_fixture` does not run under pytest 9.
_FOLDER = Path(tempfile.mkdtemp(prefix="hotline-openapi-"))
_APP, _RUNTIME, _TOKEN = _api(_FOLDER)
#: An admin's access token. The runtime's clock is real time: it stays good for 15 minutes.
AUTH = {"Authorization": f"Bearer {_TOKEN}"}
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.auth()
class AdminToken:
    """Schemathesis signs every request in as the admin (so the guarded operations are tested
    past their 401), and knows it did: its negative cases and ``ignored_auth`` leave it out."""

    def get(self, case: Any, context: Any) -> str:
        return _TOKEN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    asyncio.run(_RUNTIME.engine.dispose())
    shutil.rmtree(_FOLDER, ignore_errors=True)


def _wrong_check_digit(case: Any) -> bool:
    number = case.path_parameters["number"]
    return not is_valid(number)


def _not_playable(case: Any) -> bool:
    body = AnnouncementIn.model_validate(case.body)  # read as the API reads it
    now = datetime.now(UTC)
    return body.ends_at <= max(body.starts_at or now, now) or body.district is not None


def _not_after_valid_from(case: Any) -> bool:
    body = case.body
    return bool(body.get("valid_from") and body.get("valid_to")) and datetime.fromisoformat(
        body["valid_to"]
    ) <= datetime.fromisoformat(body["valid_from"])


def _wrong_ticket_check_digit(case: Any) -> bool:
    number = case.body["ticket"] if isinstance(case.body, dict) else case.path_parameters["number"]
    return not is_valid(number)


_PAUSE_CODES = load_pause_codes(CONFIG_DIR)


def _no_seat_given(case: Any) -> bool:
    """The test's operator has no seat: a sign-in must name the phone."""
    return not (case.body or {}).get("interface")


def _not_an_operators_code(case: Any) -> bool:
    code = _PAUSE_CODES.get((case.body or {}).get("code", ""))
    return code is None or code.system


def _no_phone(case: Any) -> bool:
    """The test's supervisor (root) has no seat: no phone to listen on."""
    return True


def _not_a_code(case: Any) -> bool:
    code = (case.body or {}).get("code")
    return code is not None and _PAUSE_CODES.get(code) is None


def _department_not_for_this_role(case: Any) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    return (body.get("role") == "department") != bool((body.get("department") or "").strip())


_SEEDED = {make_number(i) for i in range(1, 4)}  # the three tickets _api() stores
_CATALOGUE = load_catalogue(CONFIG_DIR)


def _step_data_refused(case: Any, party: lc.Party) -> bool:
    """The lifecycle's rules for the step's data (tickets.lifecycle), replayed from a state the
    step may leave; and a merge's target must be a stored ticket."""
    if not is_valid(case.path_parameters["number"]):
        return True
    body = case.body if isinstance(case.body, dict) else {}
    what = lc.Step(body["step"])
    if party is lc.Party.DEPARTMENT and what not in DEPARTMENT_STEPS:
        return True
    if what is lc.Step.MERGE and body.get("into") not in _SEEDED:
        return True
    if what is lc.Step.DISPATCH and party is not lc.Party.DEPARTMENT:
        # the catalogue: a known matter, whose department is the default lead; known departments
        matter = _CATALOGUE.matters.get(body["matter"]) if body.get("matter") is not None else None
        if body.get("matter") is not None and matter is None:
            return True
        lead = body.get("department") or (matter.department if matter else None)
        known = _CATALOGUE.departments
        if (lead is not None and lead not in known) or any(
            a not in known for a in body.get("assisting") or ()
        ):
            return True
    rule = lc.TABLE[what]
    ticket = lc.TicketFacts(id=1, state=min(rule.sources), lead_department="d")
    actor = lc.Actor("x", party if party in rule.parties else min(rule.parties), "d")
    try:
        lc.step(
            ticket,
            what,
            actor,
            datetime.now(UTC),
            note=body.get("note", ""),
            department=body.get("department"),
            assisting=tuple(body.get("assisting") or ()),
            rating=lc.Rating(body["rating"]) if body.get("rating") else None,
            days=body.get("days"),
            into=2,
        )
    except lc.StepRefused as e:
        return e.field is not None
    return False


#: Rules a JSON schema cannot state, for which schema-valid data gets the documented 422
#: (the operation's description says so): each operation's test of why a 422 was right.
SEMANTIC_422 = {
    # "digits with a valid Luhn check digit"
    ("GET", "/api/v1/tickets/{number}"): _wrong_check_digit,
    # "ends_at after now and after starts_at", "a district of the menus"
    ("POST", "/api/v1/announcements"): _not_playable,
    # "valid_to after valid_from"
    ("POST", "/api/v1/knowledge/articles"): _not_after_valid_from,
    ("PUT", "/api/v1/knowledge/articles/{ident}"): _not_after_valid_from,
    # "a ticket number with a valid Luhn check digit"
    ("POST", "/api/v1/knowledge/articles/{ident}/helpful"): _wrong_ticket_check_digit,
    ("GET", "/api/v1/knowledge/tickets/{number}/articles"): _wrong_ticket_check_digit,
    # "the user's seat, else the interface given"; "a code of config/pause_codes.yaml"
    ("POST", "/api/v1/me/seat/sign-in"): _no_seat_given,
    ("POST", "/api/v1/me/seat/pause"): _not_an_operators_code,
    ("POST", "/api/v1/seats/{interface}/pause"): _not_a_code,
    # "a department user needs their department; no one else has one"
    ("POST", "/api/v1/users"): _department_not_for_this_role,
    # the lifecycle's rules for each step's data; a merge into a stored ticket
    ("POST", "/api/v1/tickets/{number}/steps"): lambda c: _step_data_refused(
        c, lc.Party.SUPERVISOR
    ),
    ("GET", "/api/v1/tickets/{number}/steps"): _wrong_check_digit,
    ("POST", "/api/v1/department/tickets/{number}/steps"): lambda c: _step_data_refused(
        c, lc.Party.DEPARTMENT
    ),
    ("GET", "/api/v1/department/tickets/{number}"): _wrong_check_digit,
    # "a service of the catalogue"; "dates with their time zone"
    ("POST", "/open311/v2/requests.json"): lambda c: (
        (c.body or {}).get("service_code") not in _CATALOGUE.matters
    ),
    ("GET", "/api/v1/callbacks/rate"): lambda c: (
        any(isinstance(v, str) and _not_a_time(v) for v in (c.query or {}).values())
        or _not_after(c.query or {})
    ),
    ("GET", "/open311/v2/requests.json"): lambda c: any(
        isinstance(v, str) and _not_a_time(v)
        for k, v in (c.query or {}).items()
        if k.endswith("_date")
    ),
    # "the supervisor's own phone (users.seat)"
    ("POST", "/api/v1/seats/{interface}/spy"): _no_phone,
    # "YYYY-MM from 2000-01, month 01 to 12"
    ("GET", "/api/v1/reports/monthly"): lambda c: _not_a_month((c.query or {}).get("month")),
}


def _not_a_month(value: Any) -> bool:
    """Matches YYYY-MM yet is no month of the report (a 13th month, a year before 2000)."""
    try:
        month_bounds(str(value))
    except ValueError:
        return True
    return False


def _not_after(query: dict[str, Any]) -> bool:
    """``end`` not after ``start``."""
    try:
        return datetime.fromisoformat(query["end"]) <= datetime.fromisoformat(query["start"])
    except (KeyError, TypeError, ValueError):
        return False


def _not_a_time(value: str) -> bool:
    """Matches the pattern yet is no time (a 13th month, a 25th hour)."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return True
    return False


def _text_in_disguise(case: Any) -> bool:
    """A query parameter that takes any text (``queue`` of the call history) given a value of
    another type: on the wire ``false`` or ``12`` is text like any other, a valid queue name,
    so the API is right to accept it (schemathesis' negative data cannot be negative there)."""
    value = (case.query or {}).get("queue")
    values = value if isinstance(value, list) else [value]
    return value is not None and not all(isinstance(v, str) for v in values)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_does_what_its_openapi_says(case) -> None:
    skip = []
    if case.operation.path == "/readyz":
        # Its documented 503 (the runtime here has no AMI link) is the readiness contract,
        # not a server error; every other check still applies to it.
        skip.append(not_a_server_error)
    seat_action = case.method.upper() == "POST" and case.operation.path.startswith(
        ("/api/v1/me/seat/", "/api/v1/seats/")
    )
    if seat_action:
        # The runtime here has no AMI link: a seat action that gets as far as Asterisk
        # answers its documented 503 (nothing queued); checked below instead.
        skip.append(not_a_server_error)
    if _text_in_disguise(case):
        skip.append(negative_data_rejection)
    why_422 = SEMANTIC_422.get((case.method.upper(), case.operation.path))
    if why_422 is not None:
        skip.append(positive_data_acceptance)  # replaced by the stricter test below
    response = case.call_and_validate(checks=ALL_CHECKS, excluded_checks=skip)
    if why_422 is not None and response.status_code == 422 and "errors" not in response.json():
        # Not a schema violation (those carry `errors`): one of the rules above must say so.
        assert why_422(case), response.text
    if seat_action and response.status_code >= 500:
        assert response.status_code == 503 and "not sent" in response.text, response.text


async def _get(method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=_APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, headers=headers)


async def test_405_names_every_method_of_the_path() -> None:
    r = await _get("PUT", "/api/v1/announcements")
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["allow"] == "GET, HEAD, POST"
    assert (await _get("TRACE", "/api/v1/announcements/1")).headers["allow"] == "DELETE, GET, HEAD"


def test_every_error_answer_is_documented_as_a_problem() -> None:
    doc = _APP.openapi()
    errors = [
        (path, method, status, answer)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if status[0] in "45"
    ]
    assert all(list(a["content"]) == [PROBLEM] for *_, a in errors), errors
    documented = {(p, m, s) for p, m, s, _ in errors}
    assert {
        ("/api/v1/tickets/{number}", "get", "404"),
        ("/api/v1/tickets/{number}", "get", "422"),
        ("/api/v1/announcements", "post", "400"),
        ("/api/v1/announcements", "post", "422"),
        ("/api/v1/announcements/{ident}", "delete", "404"),
        ("/readyz", "get", "503"),
    } <= documented
    answer_ratio = doc["components"]["schemas"]["QueueOut"]["properties"]["answer_ratio"]
    assert {"type": "null"} in answer_ratio["anyOf"]


async def test_answer_ratio_over_no_offered_call_is_null() -> None:
    queues = (await _get("GET", "/api/v1/queues", AUTH)).json()
    assert queues == [
        {
            "queue": "hotline",
            "offered": 0,
            "answered": 0,
            "abandoned": 0,
            "waiting": 0,
            "answer_ratio": None,
        }
    ]
    metrics = (await _get("GET", "/metrics")).text
    assert 'hotline_calls_offered_total{centre="city",queue="hotline"} 0.0' in metrics
    assert "hotline_answer_ratio{" not in metrics  # absent: not defined
