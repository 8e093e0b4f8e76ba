"""Every operation of the app states its role and enforces it; the docs load with no internet.

The first test walks the app's routes (the included routers too), so an endpoint added later
without ``Depends(auth.require(...))`` fails here, unless it is added to
``hotline.app.OPEN_OPERATIONS`` on purpose. The others call every guarded operation without a
token (401) and, those above operator, as an operator (403).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import httpx
import pytest

from agents.roles import Role
from config.settings import Settings
from hotline.app import OPEN_OPERATIONS, PROBLEM, create_app, operations
from tests.agents.signin import make_user, tokens
from tickets.db import session_factory
from tickets.numbers import make_number

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PATH_VALUES = {
    "ident": "1",
    "number": make_number(1),
    "username": "op1",
    "interface": "SIP/8001",
    "call": "1795966595.1",
    "service_request_id": make_number(1),
    "service_code": "GS-001",
}


def _app(sessions=None):
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: 1_795_000_000.0, settings=Settings(_env_file=None)
    )
    return create_app(runtime)  # type: ignore[arg-type]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_operation_states_a_role_or_is_open_on_purpose() -> None:
    ops = operations(_app())
    assert len(ops) > 15
    unguarded = {(m, p) for m, p, role in ops if role is None}
    assert unguarded <= OPEN_OPERATIONS, f"no role stated: {unguarded - OPEN_OPERATIONS}"
    writes = {(m, p) for m, p, role in ops if m in WRITES and role is None}
    # only signing in writes without a role (its body carries the credential), and the
    # citizens' lookup, a POST only to keep the phone's digits out of URLs: it writes nothing
    assert writes == {(m, p) for m, p in OPEN_OPERATIONS if p.startswith("/api/v1/auth/")} | {
        ("POST", "/api/v1/public/lookup")
    }
    assert OPEN_OPERATIONS <= {(m, p) for m, p, _ in ops}, "a stale entry in OPEN_OPERATIONS"
    roles = {(m, p): role for m, p, role in ops}
    assert roles[("POST", "/api/v1/announcements")] is Role.SUPERVISOR
    assert roles[("DELETE", "/api/v1/announcements/{ident}")] is Role.SUPERVISOR
    assert roles[("GET", "/api/v1/tickets")] is Role.OPERATOR
    assert roles[("POST", "/api/v1/users")] is Role.ADMIN
    # during the call: an operator on their own call; the board and listening in, supervisors
    assert roles[("POST", "/api/v1/me/call/transfer")] is Role.OPERATOR
    assert roles[("POST", "/api/v1/me/call/hangup")] is Role.OPERATOR
    assert roles[("GET", "/api/v1/seats")] is Role.SUPERVISOR
    assert roles[("POST", "/api/v1/seats/{interface}/spy")] is Role.SUPERVISOR


def test_the_openapi_description_declares_the_bearer_scheme_and_each_role() -> None:
    app = _app()
    doc = app.openapi()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from POST /api/v1/auth/token (or /refresh).",
    }
    for method, path, role in operations(app):
        operation = doc["paths"].get(path, {}).get(method.lower())
        if operation is None:  # /docs, /redoc, /openapi.json: not in the description
            assert role is None
            continue
        if role is None:
            assert "security" not in operation and "Open" in operation["description"]
        else:
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert f"Role: **{role}**" in operation["description"]
            assert "401" in operation["responses"], (method, path)
            # every role refuses someone: operator's refuses a department's user
            assert "403" in operation["responses"], (method, path)


async def test_each_guarded_operation_answers_401_then_403(engine) -> None:
    sessions = session_factory(engine)
    app = _app(sessions)
    await make_user(sessions, "op1", Role.OPERATOR, seat="SIP/8001")
    await make_user(sessions, "water1", Role.DEPARTMENT, department="water")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        operator = (await tokens(client, "op1"))["access_token"]
        department = (await tokens(client, "water1"))["access_token"]
        guarded = [(m, p, r) for m, p, r in operations(app) if r is not None]
        for method, path, role in guarded:
            body = {} if method in WRITES and method != "DELETE" else None
            r = await client.request(method, _url(path), json=body)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.headers["content-type"] == PROBLEM
            refused = [department] if role is Role.OPERATOR else [operator]
            if role not in (Role.OPERATOR, Role.DEPARTMENT):
                refused.append(department)
            for token in refused:
                r = await client.request(
                    method, _url(path), json=body, headers={"Authorization": f"Bearer {token}"}
                )
                assert r.status_code == 403, (method, path, r.text)
                assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_from_local_files_only(page: str) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        html = r.text
        assert not re.search(r"https?://", html), "the page loads something from the internet"
        urls = set(re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html))
        assets = {u for u in urls if u.startswith("/docs-assets/")}
        assert any(u.endswith(".js") for u in assets), html
        assert "/openapi.json" in urls
        if page == "/docs":  # no validator badge from validator.swagger.io
            assert '"validatorUrl": null' in html
        for url in urls:
            assert url.startswith("/"), url
            answer = await client.get(url)
            assert answer.status_code == 200, url
            assert len(answer.content) > 100
