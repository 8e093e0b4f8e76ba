"""The seat lifecycle against the embedded PBX, through the HTTP API: an operator signs in to
their seat (QueueAdd of each skill queue with its penalty), pauses with a code (QueuePause
with the reason), is ready again and signs out (QueueRemove); every answer is what Asterisk's
events confirmed. Asterisk refusing is a 409 with its message, the link down a 503. After an
Asterisk restart that forgot the dynamic members, the seats come back with their pause
reasons. N unanswered rings in a row pause a seat."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from agents.roles import Role
from config.settings import CONFIG_DIR, Settings
from hotline.app import create_app
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig
from pbx.simulator.config import QueueConfig
from pbx.simulator.faults import Faults
from tests.agents.signin import make_user, tokens

pytestmark = pytest.mark.e2e

SEAT = "SIP/8001"
OTHER = "SIP/8002"


def _runtime(tmp_path: Path, **settings: object) -> Runtime:
    """The embedded PBX with queues hotline and urgent and no seat of its own."""
    return Runtime(
        Settings(_env_file=None, spool_dir=tmp_path / "spool", **settings),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'seats.db'}",
        simulation=SimulatorConfig(
            seats=0,
            speed=50.0,
            seed=3,
            ivr=False,
            ring_time_s=100.0,  # nobody answers: every ring times out (AgentRingNoAnswer)
            queues=(
                QueueConfig("hotline", timeout=3.0, retry=1.0),
                QueueConfig("urgent", timeout=3.0, retry=1.0),
            ),
        ),
        agi_port=0,
    )


@pytest_asyncio.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = _runtime(tmp_path)
    await rt.start()
    yield rt
    await rt.stop()


@asynccontextmanager
async def _client(
    rt: Runtime, username: str, role: Role, seat: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as a new user ``username``."""
    await make_user(rt.sessions, username, role, seat=seat)
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        c.headers["Authorization"] = f"Bearer {(await tokens(c, username))['access_token']}"
        yield c


def _members(rt: Runtime, interface: str) -> dict[str, tuple[int, bool, str]]:
    """What the PBX itself holds of ``interface``: queue -> (penalty, paused, reason)."""
    assert rt.simulator is not None
    out = {}
    for name, q in rt.simulator.core.queues.items():
        m = q.members.get(interface.lower())
        if m is not None:
            out[name] = (m.penalty, m.paused, m.paused_reason)
    return out


async def _until(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not in time")


async def test_sign_in_pause_ready_sign_out(runtime: Runtime) -> None:
    # zhangwei's groups (config/skills.yaml): general and urgent
    async with _client(runtime, "zhangwei", Role.OPERATOR, SEAT) as c:
        r = await c.get("/api/v1/me/seat")
        assert r.status_code == 200 and r.json()["state"] == "signed_out"
        # the codes an operator may pause with (config/pause_codes.yaml), not the system's
        r = await c.get("/api/v1/me/seat/pause-codes")
        assert r.status_code == 200
        codes = {p["code"]: p for p in r.json()}
        assert "no_answer" not in codes
        assert codes["lunch"] == {
            "code": "lunch",
            "label": "午餐",
            "limit_s": 3600.0,
            "counts_as_working_time": False,
            "auto_ready": False,
        }
        assert codes["after_call_work"]["auto_ready"] is True
        r = await c.post("/api/v1/me/seat/pause", json={"code": "lunch"})
        assert r.status_code == 409 and "sign in first" in r.json()["detail"]

        r = await c.post("/api/v1/me/seat/sign-in", json={})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "ready" and body["pending"] is None
        assert body["queues"] == {"hotline": 0, "urgent": 0}
        assert _members(runtime, SEAT) == {"hotline": (0, False, ""), "urgent": (0, False, "")}

        r = await c.post("/api/v1/me/seat/pause", json={"code": "lunch"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["state"], body["reason"], body["reason_label"]) == ("paused", "lunch", "午餐")
        assert body["limit_s"] == 3600.0 and body["overdue"] is False
        assert _members(runtime, SEAT) == {
            "hotline": (0, True, "lunch"),
            "urgent": (0, True, "lunch"),
        }
        # the controller's seat board (what /api/v1/seats shows) agrees
        assert runtime.controller.seats.seats[SEAT].paused_reason == "lunch"

        r = await c.post("/api/v1/me/seat/pause", json={"code": "no_such"})
        assert r.status_code == 422 and "code" in r.json()["detail"]
        r = await c.post("/api/v1/me/seat/pause", json={"code": "no_answer"})  # system code
        assert r.status_code == 422
        r = await c.post("/api/v1/me/seat/pause", json={})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "code"]

        r = await c.post("/api/v1/me/seat/ready")
        assert r.status_code == 200 and r.json()["state"] == "ready"
        assert _members(runtime, SEAT)["hotline"] == (0, False, "")

        r = await c.post("/api/v1/me/seat/sign-out")
        assert r.status_code == 200 and r.json()["state"] == "signed_out", r.text
        assert _members(runtime, SEAT) == {}
        assert SEAT not in runtime.controller.seats.seats


async def test_a_seat_is_one_operators_and_asterisk_errors_are_clear(runtime: Runtime) -> None:
    async with (
        _client(runtime, "op1", Role.OPERATOR, SEAT) as c1,
        _client(runtime, "op2", Role.OPERATOR, None) as c2,
    ):
        assert (await c1.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        assert _members(runtime, SEAT) == {"hotline": (0, False, "")}  # default group
        r = await c2.post("/api/v1/me/seat/sign-in", json={})
        assert r.status_code == 422 and "interface" in r.json()["detail"]
        r = await c2.post("/api/v1/me/seat/sign-in", json={"interface": SEAT})
        assert r.status_code == 409 and "op1" in r.json()["detail"]
        r = await c2.post("/api/v1/me/seat/sign-in", json={"interface": "not an interface"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "interface"]
        # the AMI link down: 503, nothing queued
        assert runtime.link is not None
        await runtime.link.close()
        r = await c1.post("/api/v1/me/seat/pause", json={"code": "meeting"})
        assert r.status_code == 503 and "not sent" in r.json()["detail"]


async def test_asterisk_refusing_is_a_409_with_its_message(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    rt.simulation = SimulatorConfig(seats=0, speed=50.0, seed=3, ivr=False)  # no urgent queue
    await rt.start()
    try:
        async with _client(rt, "zhangwei", Role.OPERATOR, SEAT) as c:
            r = await c.post("/api/v1/me/seat/sign-in", json={})
            assert r.status_code == 409, r.text
            assert "Asterisk refused QueueAdd" in r.json()["detail"]
            # the queue joined before the refusal is left again: no half sign-in
            await _until(lambda: _members(rt, SEAT) == {})
            assert (await c.get("/api/v1/me/seat")).json()["state"] == "signed_out"
    finally:
        await rt.stop()


async def test_supervisor_forces_a_pause_and_a_sign_out_audited(runtime: Runtime) -> None:
    async with (
        _client(runtime, "op1", Role.OPERATOR, SEAT) as op,
        _client(runtime, "boss", Role.SUPERVISOR, None) as boss,
        _client(runtime, "root", Role.ADMIN, None) as admin,
    ):
        r = await op.post(f"/api/v1/seats/{SEAT}/pause", json={})
        assert r.status_code == 403
        r = await boss.post(f"/api/v1/seats/{OTHER}/pause", json={})
        assert r.status_code == 404
        assert (await op.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        r = await boss.post(f"/api/v1/seats/{SEAT}/pause", json={})
        assert r.status_code == 200 and r.json()["reason"] == "supervisor", r.text
        assert _members(runtime, SEAT)["hotline"] == (0, True, "supervisor")
        assert (await op.get("/api/v1/me/seat")).json()["state"] == "paused"
        r = await boss.post(f"/api/v1/seats/{SEAT}/sign-out")
        assert r.status_code == 200 and r.json()["state"] == "signed_out"
        assert _members(runtime, SEAT) == {}
        log = (await admin.get("/api/v1/audit")).json()
        actions = [(e["action"], e["actor"], e["target"]) for e in log]
        assert ("seat.pause", "boss", SEAT) in actions
        assert ("seat.sign_out", "boss", SEAT) in actions


async def test_seats_come_back_with_their_reasons_after_an_asterisk_restart(
    runtime: Runtime,
) -> None:
    async with (
        _client(runtime, "zhangwei", Role.OPERATOR, SEAT) as c1,
        _client(runtime, "op2", Role.OPERATOR, OTHER) as c2,
    ):
        assert (await c1.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        assert (await c2.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        r = await c1.post("/api/v1/me/seat/pause", json={"code": "training"})
        assert r.json()["state"] == "paused"
        assert runtime.simulator is not None
        faults = Faults(runtime.simulator)
        restarts = runtime.controller.restarts
        await faults.restart(down_s=0.2, forget_dynamic_members=True)
        await _until(lambda: runtime.controller.restarts > restarts and runtime.ami_connected)
        await _until(
            lambda: (
                _members(runtime, SEAT)
                == {"hotline": (0, True, "training"), "urgent": (0, True, "training")}
                and _members(runtime, OTHER) == {"hotline": (0, False, "")}
            )
        )
        assert runtime.seat_lifecycle.restores >= 1
        await _until(lambda: runtime.controller.seats.seats.get(SEAT) is not None)
        body = (await c1.get("/api/v1/me/seat")).json()
        assert (body["state"], body["reason"], body["pending"]) == ("paused", "training", None)
        assert (await c2.get("/api/v1/me/seat")).json()["state"] == "ready"


async def test_a_new_process_restores_the_seats_from_the_store(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    await rt.start()
    try:
        async with _client(rt, "zhangwei", Role.OPERATOR, SEAT) as c:
            assert (await c.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
            assert (
                await c.post("/api/v1/me/seat/pause", json={"code": "meeting"})
            ).status_code == 200
    finally:
        await rt.stop()
    # a new process and a new PBX (which knows no member): the store says who was where
    rt = _runtime(tmp_path)
    await rt.start()
    try:
        await _until(
            lambda: (
                _members(rt, SEAT)
                == {"hotline": (0, True, "meeting"), "urgent": (0, True, "meeting")}
            )
        )
        shift = rt.seat_lifecycle.book.of_user("zhangwei")
        assert shift is not None and shift.code == "meeting"
    finally:
        await rt.stop()


async def test_unanswered_rings_pause_the_seat(runtime: Runtime) -> None:
    async with _client(runtime, "op1", Role.OPERATOR, SEAT) as c:
        assert (await c.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        assert runtime.simulator is not None
        runtime.simulator.core.caller_arrive(
            "hotline", "057100000001", "caller", patience=None, talk=5.0
        )
        await _until(lambda: _members(runtime, SEAT).get("hotline", (0, False, ""))[1], 20.0)
        assert _members(runtime, SEAT)["hotline"] == (0, True, "no_answer")
        body = (await c.get("/api/v1/me/seat")).json()
        assert (body["state"], body["reason"]) == ("paused", "no_answer")


async def test_the_work_after_a_call_ends_itself_at_its_limit(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    codes = config / "pause_codes.yaml"
    text = codes.read_text("utf-8")
    codes.write_text(text.replace("limit_minutes: 3,", "limit_minutes: 0.05,"), "utf-8")
    rt = _runtime(tmp_path, config_dir=config)  # 3 virtual seconds: 0.06 s at speed 50
    rt.seat_lifecycle.EXPIRY_CHECK_S = 0.05
    await rt.start()
    try:
        async with _client(rt, "op1", Role.OPERATOR, SEAT) as c:
            assert (await c.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
            r = await c.post("/api/v1/me/seat/pause", json={"code": "after_call_work"})
            assert r.status_code == 200 and r.json()["limit_s"] == 3.0
            await _until(lambda: _members(rt, SEAT) == {"hotline": (0, False, "")})
            body = (await c.get("/api/v1/me/seat")).json()
            assert (body["state"], body["pending"]) == ("ready", None)
    finally:
        await rt.stop()
