"""Bad input everywhere (issue 11, item 9): every operation of the OpenAPI description, given
one wrong thing at a time, answers a 4xx problem that names what was wrong, never a 5xx, and
stores nothing.

Generic over the description (``app.openapi()``), so an operation added later is swept too:

* each parameter (path, query, header) given values its schema refuses (the wrong type, past
  its bounds, outside its pattern or enum), and each required header left out;
* each property of a request body given values its schema refuses (checked with
  ``jsonschema_rs``: a value the schema accepts is not a mutation), and each required one
  left out, the rest of the body valid; the whole body a JSON array; a body that is not JSON.

Each request carries the access token of a user with the role the operation states (an
operator with a seat, a supervisor, an admin), so what answers is the operation's own
validation, not the 401/403 in front of it. The store's every row, in every table, is the same
after the sweep as before: nothing stored half. Rules a schema cannot state (a Luhn check
digit, an end after a start) are tests/hotline/test_openapi.py's ``SEMANTIC_422``. Not swept:
a number for a date-time (pydantic reads it as epoch seconds, and so does the API).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema_rs
import pytest
from hypothesis import Phase, find, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.roles import Role
from config.settings import Settings
from hotline.app import PROBLEM, create_app, operations
from hotline.runtime import Runtime
from tests.agents.signin import make_user, tokens
from tickets.db import session_factory

pytestmark = pytest.mark.e2e

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: Hypothesis' first example, no shrinking, the same on every run (a pattern's plain text).
ONE_EXAMPLE = settings(database=None, phases=[Phase.generate], derandomize=True)
#: One user of each role (every role an operation may state).
USERS = {role: f"user-{role}" for role in Role}


@dataclass(frozen=True)
class Bad:
    """One request with one wrong thing: ``field`` is what the answer must name."""

    method: str
    template: str
    path: str
    field: str
    why: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: Any = None
    raw: bytes | None = None


# -- the schemas -----------------------------------------------------------------------------


class Schemas:
    """The description's schemas: ``$ref`` resolved, values made and checked against them."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.components = doc.get("components", {})

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[1]
            s = {**self.components["schemas"][name], **{k: v for k, v in s.items() if k != "$ref"}}
        return s

    def accepts(self, s: dict[str, Any], value: Any) -> bool:
        rooted = {**s, "components": self.components}
        return bool(jsonschema_rs.is_valid(rooted, value, validate_formats=True))

    def branches(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        """The non-null alternatives of an ``anyOf``/``oneOf``, or the schema itself."""
        s = self.resolve(s)
        alts = s.get("anyOf") or s.get("oneOf")
        if not alts:
            return [s]
        return [self.resolve(a) for a in alts if self.resolve(a).get("type") != "null"]

    def valid(self, s: dict[str, Any]) -> Any:
        s = self.resolve(s)
        for key in ("examples", "enum"):
            if s.get(key):
                return s[key][0]
        if s.get("example") is not None:
            return s["example"]
        if s.get("default") is not None:
            return s["default"]
        if "anyOf" in s or "oneOf" in s:
            alts = [self.resolve(a) for a in s.get("anyOf") or s["oneOf"]]
            if any(a.get("type") == "null" for a in alts):
                return None  # an optional value left out: the plainest valid body
            return self.valid(self.branches(s)[0])
        t = s.get("type")
        if t == "string":
            fmt = s.get("format")
            if fmt == "date-time":
                return (datetime.now(UTC) + timedelta(days=1)).isoformat()
            if fmt == "date":
                return (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
            if "pattern" in s:
                # the simplest text the pattern takes, found by hypothesis (deterministic)
                regex = st.from_regex(s["pattern"], fullmatch=True)
                return find(regex, lambda _: True, settings=ONE_EXAMPLE)
            return "a" * max(1, int(s.get("minLength", 1)))
        if t in ("integer", "number"):
            return max(1, int(s.get("minimum", 1)))
        if t == "boolean":
            return False
        if t == "array":
            return [self.valid(s.get("items", {}))] * int(s.get("minItems", 0))
        if t == "object":
            return {k: self.valid(v) for k, v in s.get("properties", {}).items()}
        return None

    def wrong(self, s: dict[str, Any], *, as_text: bool) -> Iterator[tuple[str, Any]]:
        """Values the schema refuses, each with why. ``as_text``: a parameter's (text on the
        wire, where a wrong JSON type is not a thing; a list parameter takes any text)."""
        for b in self.branches(s):
            t = b.get("type")
            cands: list[tuple[str, Any]] = []
            if "enum" in b:
                cands.append(("not one of the enum", "no-such-value"))
            if t == "string" and b.get("format") not in ("date-time", "date"):
                # (a number for a time is read as epoch seconds, pydantic's lax mode)
                cands.append(("a number, not text", 12345))
                if "maxLength" in b:
                    cands.append(("too long", "x" * (int(b["maxLength"]) + 1)))
                if int(b.get("minLength", 0)) > 0:
                    cands.append(("empty", ""))
                if "pattern" in b:
                    outside = [v for v in ("~", "a b", "---") if not re.search(b["pattern"], v)]
                    cands += [("outside the pattern", v) for v in outside[:1]]
                if b.get("format") in ("date-time", "date"):
                    cands.append(("not a time", "not-a-time"))
            elif t in ("integer", "number"):
                cands.append(("not a number", "not-a-number"))
                if t == "integer":
                    cands.append(("not whole", 1.5))
                if "maximum" in b:
                    cands.append(("above the maximum", int(b["maximum"]) + 1))
                if "minimum" in b:
                    cands.append(("below the minimum", int(b["minimum"]) - 1))
            elif t == "boolean":
                cands.append(("not true or false", "maybe"))
            elif t == "array":
                cands.append(("not a list", "not-a-list"))
            elif t == "object":
                cands.append(("not an object", "not-an-object"))
            for why, value in cands:
                if as_text:
                    if t == "array" or why in ("a number, not text", "not a list"):
                        continue
                    if t == "string" and self.accepts(b, str(value)):
                        continue
                    yield why, str(value)
                elif not self.accepts(s, value):
                    yield why, value


# -- the sweep -------------------------------------------------------------------------------


def bad_requests(doc: dict[str, Any]) -> list[Bad]:
    schemas = Schemas(doc)
    out: list[Bad] = []
    for template, item in doc["paths"].items():
        for method, op in item.items():
            method = method.upper()
            params = [schemas.resolve(p) for p in op.get("parameters", [])]
            good = {(p["in"], p["name"]): schemas.valid(p["schema"]) for p in params}

            def request(
                field: str,
                why: str,
                values: dict[tuple[str, str], Any],
                body: Any = None,
                raw: bytes | None = None,
                *,
                method: str = method,
                template: str = template,
            ) -> Bad:
                path = re.sub(
                    r"\{(\w+)\}",
                    lambda m: quote(str(values[("path", m.group(1))]), safe="/"),
                    template,
                )
                query = {n: v for (where, n), v in values.items() if where == "query"}
                headers = {n: str(v) for (where, n), v in values.items() if where == "header"}
                return Bad(method, template, path, field, why, query, headers, body, raw)

            body_schema = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            good_body = schemas.valid(body_schema) if body_schema else None
            for p in params:
                where, name = p["in"], p["name"]
                for why, value in schemas.wrong(p["schema"], as_text=True):
                    if where == "path" and value == "":
                        continue  # another path, not a bad value
                    out.append(request(name, why, {**good, (where, name): value}, good_body))
                if p.get("required") and where in ("header", "query"):
                    left = {k: v for k, v in good.items() if k != (where, name)}
                    out.append(request(name, "left out", left, good_body))
            if body_schema is None or method not in WRITES:
                continue
            body = schemas.resolve(body_schema)
            for name, prop in body.get("properties", {}).items():
                for why, value in schemas.wrong(prop, as_text=False):
                    out.append(request(name, why, good, {**good_body, name: value}))
            for name in body.get("required", []):
                left = {k: v for k, v in good_body.items() if k != name}
                out.append(request(name, "left out", good, left))
            out.append(request("body", "a list, not an object", good, [good_body]))
            out.append(request("", "not JSON", good, raw=b'{"unfinished": '))
    return out


async def _every_row(engine: AsyncEngine) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        rows = {}
        for name in sorted(names):
            got = await conn.execute(text(f'SELECT * FROM "{name}"'))
            rows[name] = sorted(repr(tuple(r)) for r in got)
        return rows


def _names(answer: dict[str, Any], field: str) -> bool:
    field = field.lower()
    if field in str(answer.get("detail", "")).lower():
        return True
    return any(
        field in [str(part).lower() for part in e.get("loc", [])] for e in answer.get("errors", [])
    )


async def test_every_operation_refuses_bad_input_by_name_and_stores_nothing(
    engine: AsyncEngine, migrated_url: str
) -> None:
    runtime = Runtime(Settings(_env_file=None), database_url=migrated_url)
    runtime.engine = engine
    runtime.sessions = session_factory(engine)
    app = create_app(runtime)
    doc = app.openapi()
    for role, name in USERS.items():
        await make_user(
            runtime.sessions,
            name,
            role,
            seat="SIP/8001" if role is Role.OPERATOR else None,
            department="water" if role is Role.DEPARTMENT else None,
        )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        access = {r: (await tokens(client, n))["access_token"] for r, n in USERS.items()}
        roles = {(m, p): r for m, p, r in operations(app)}
        sweep = bad_requests(doc)
        before = await _every_row(engine)
        wrong: list[str] = []
        for bad in sweep:
            role = roles[(bad.method, bad.template)]
            headers = dict(bad.headers)
            if role is not None:
                headers["Authorization"] = f"Bearer {access[role]}"
            if bad.raw is not None:
                headers["Content-Type"] = "application/json"
            r = await client.request(
                bad.method,
                bad.path,
                params=bad.params,
                headers=headers,
                json=bad.body if bad.raw is None else None,
                content=bad.raw,
            )
            what = (
                f"{bad.method} {bad.path} {bad.field!r} {bad.why}: {r.status_code} {r.text[:300]}"
            )
            if not 400 <= r.status_code < 500 or r.status_code in (401, 403, 404, 405):
                wrong.append(what)
            elif r.headers.get("content-type") != PROBLEM:
                wrong.append(what + " (not a problem)")
            elif bad.field and not _names(r.json(), bad.field):
                wrong.append(what + " (does not name the field)")
        after = await _every_row(engine)
    assert not wrong, "\n".join(wrong)
    # the sweep covered every operation that takes anything, writes first of all
    swept = {(b.method, b.template) for b in sweep}
    writes = {(m, p) for (m, p) in roles if m in WRITES and p in doc["paths"]}
    takes_input = {
        (m.upper(), p)
        for p, item in doc["paths"].items()
        for m, op in item.items()
        if op.get("parameters") or op.get("requestBody")
    }
    assert writes & takes_input <= swept
    assert len(sweep) > 100
    changed = [t for t in before if before[t] != after.get(t)]
    assert not changed, f"rows changed by refused requests: {changed}"
