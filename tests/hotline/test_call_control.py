"""During the call, end to end against the embedded PBX through the HTTP API: an operator
transfers a talking call to another queue and the caller is answered at another seat with the
same Linkedid; the operator there hangs up; a supervisor sees the board with each seat's time
in state and listens in (audited; refused for a seat with no call and for a supervisor with
no phone)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from agents.models import User
from agents.roles import Role
from config.settings import Settings
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig
from pbx.simulator.config import QueueConfig
from tests.hotline.test_seat_lifecycle import _client, _until
from tickets.models import OperatorDraft

pytestmark = pytest.mark.e2e

A = "Local/8001@agents/n"  # zhangwei: hotline (0) and urgent (config/skills.yaml)
B = "Local/8002@agents/n"  # lina: xiaoshan (0) and hotline (2)
BOSS_PHONE = "Local/8009@agents/n"


def _runtime(tmp_path: Path) -> Runtime:
    return Runtime(
        Settings(_env_file=None, spool_dir=tmp_path / "spool"),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'calls.db'}",
        simulation=SimulatorConfig(
            seats=0,
            speed=20.0,
            seed=3,
            ivr=False,
            queues=(QueueConfig("hotline"), QueueConfig("urgent"), QueueConfig("xiaoshan")),
        ),
        agi_port=0,
    )


async def _a_caller(rt: Runtime) -> None:
    """A caller for the city centre who would talk ten minutes."""
    assert rt.gateway is not None
    await rt.gateway.originate(
        "Local/12345@callers/n",
        context="caller-sim",
        exten="s",
        caller_id='"张伟" <13812345678>',
        variables={"TALK": "600", "PATIENCE": "600"},
    )


def _seat(rt: Runtime, interface: str):  # type: ignore[no-untyped-def]
    return rt.controller.seats.seats.get(interface)


def _spyers(rt: Runtime) -> list[str]:
    assert rt.simulator is not None
    return [n for n in rt.simulator.core.channels if n.startswith("Local/8009@agents-")]


async def test_transfer_spy_hang_up_and_the_board(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    await rt.start()
    try:
        async with (
            _client(rt, "zhangwei", Role.OPERATOR, A) as op_a,
            _client(rt, "lina", Role.OPERATOR, B) as op_b,
            _client(rt, "boss", Role.SUPERVISOR, BOSS_PHONE) as boss,
            _client(rt, "phoneless", Role.SUPERVISOR, None) as phoneless,
            _client(rt, "root", Role.ADMIN, None) as admin,
        ):
            for c in (op_a, op_b):
                assert (await c.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
            # both at their desks (what an open stream does: tests/hotline/test_desk_e2e.py)
            assert rt.sessions is not None
            async with rt.sessions() as s:
                ids = dict((await s.execute(select(User.username, User.id))).all())
            for name, seat in (("zhangwei", A), ("lina", B)):
                rt.desk.attach(SimpleNamespace(seat=seat, user_id=ids[name], username=name))

            # the board: operators may not read it; each seat signed in, ready, since when
            assert (await op_a.get("/api/v1/seats")).status_code == 403
            board = (await boss.get("/api/v1/seats")).json()
            seats = {s["interface"]: s for s in board["seats"]}
            assert seats[A]["operator"] == "zhangwei" and seats[B]["operator"] == "lina"
            assert seats[A]["state"] == "ready" and seats[A]["call"] is None
            assert seats[A]["time_in_state_s"] >= 0 and seats[A]["since"] <= rt.now()
            assert board["counts"]["ready"] == 2 and board["counts"]["on_call"] == 0

            # nothing to act on yet
            r = await op_a.post("/api/v1/me/call/transfer", json={"queue": "xiaoshan"})
            assert r.status_code == 409 and "no call" in r.json()["detail"]
            assert (await op_a.post("/api/v1/me/call/hangup")).status_code == 409
            r = await boss.post(f"/api/v1/seats/{A}/spy", json={"mode": "listen"})
            assert r.status_code == 409 and "no call" in r.json()["detail"]

            # a caller for the city centre: A (penalty 0) answers
            await _a_caller(rt)
            await _until(lambda: _seat(rt, A).call is not None)
            uid = _seat(rt, A).call
            linkedid = rt.controller.calls.talking[uid].linkedid
            board = (await boss.get("/api/v1/seats")).json()
            seats = {s["interface"]: s for s in board["seats"]}
            assert seats[A]["state"] == "on_call"
            assert seats[A]["call"]["linkedid"] == linkedid
            assert seats[A]["call"]["queue"] == "hotline"
            assert seats[A]["since"] == pytest.approx(seats[A]["call"]["since"], abs=0.01)

            # a supervisor with no phone is told which field; one with a phone listens in
            r = await phoneless.post(f"/api/v1/seats/{A}/spy", json={"mode": "whisper"})
            assert r.status_code == 422 and r.json()["detail"].startswith("seat:")
            r = await boss.post(f"/api/v1/seats/{A}/spy", json={"mode": "shout"})
            assert r.status_code == 422
            r = await op_b.post(f"/api/v1/seats/{A}/spy", json={"mode": "listen"})
            assert r.status_code == 403
            r = await boss.post(f"/api/v1/seats/{A}/spy", json={"mode": "listen"})
            assert r.status_code == 202, r.text
            assert r.json()["phone"] == BOSS_PHONE and r.json()["call"]["linkedid"] == linkedid
            assert rt.simulator is not None
            core = rt.simulator.core
            await _until(lambda: bool(core._spied))  # the phone answered: ChanSpy runs
            assert len(_spyers(rt)) == 2
            log = (await admin.get("/api/v1/audit")).json()
            spied = [e for e in log if e["action"] == "seat.spy"]
            assert [(e["actor"], e["target"]) for e in spied] == [("boss", A)]
            assert spied[0]["detail"]["mode"] == "listen"
            assert spied[0]["detail"]["linkedid"] == linkedid

            # bad transfers: each names its field, nothing is done
            for body, field in (
                ({"queue": "nowhere"}, "queue"),
                ({"queue": "hotline"}, "queue"),
            ):
                r = await op_a.post("/api/v1/me/call/transfer", json=body)
                assert r.status_code == 422 and r.json()["detail"].startswith(field + ":")
            for body in ({}, {"queue": "xiaoshan", "number": "057187000000"}, {"number": "12a"}):
                r = await op_a.post("/api/v1/me/call/transfer", json=body)
                assert r.status_code == 422, body
            assert _seat(rt, A).call == uid

            # the transfer: B answers the same caller, same Linkedid; A is free
            r = await op_a.post("/api/v1/me/call/transfer", json={"queue": "xiaoshan"})
            assert r.status_code == 202, r.text
            assert r.json()["call"]["linkedid"] == linkedid
            await _until(lambda: _seat(rt, B).call == uid)
            talking = rt.controller.calls.talking[uid]
            assert (talking.linkedid, talking.queue, talking.interface) == (
                linkedid,
                "xiaoshan",
                B,
            )
            assert _seat(rt, A).call is None and _seat(rt, A).calls_taken == 1
            assert rt.controller.calls.stats["hotline"].answered == 1
            assert rt.controller.calls.stats["xiaoshan"].answered == 1
            await _until(lambda: not _spyers(rt))  # A's channel is gone: ChanSpy left (E)
            assert not core._spied
            board = (await boss.get("/api/v1/seats")).json()
            seats = {s["interface"]: s for s in board["seats"]}
            assert seats[B]["call"]["linkedid"] == linkedid
            assert seats[B]["call"]["queue"] == "xiaoshan"
            assert seats[A]["call"] is None and seats[A]["state"] != "on_call"
            # the desks: A's call ended as a transfer; B's pop is the same thread, and the
            # draft stays A's (one per Uniqueid, which a transfer keeps)
            kinds_a = [(m.kind, m.data) for m in rt.desk.streams.log(A).kept]
            ended = [d for k, d in kinds_a if k == "ended"]
            assert ended and ended[-1]["reason"] == "transfer" and ended[-1]["call"] == uid
            pops_b = [m.data for m in rt.desk.streams.log(B).kept if m.kind == "connected"]
            assert pops_b[-1]["linkedid"] == linkedid and pops_b[-1]["queue"] == "xiaoshan"
            assert pops_b[-1]["draft"] is False
            await rt.desk.flush()
            async with rt.sessions() as s:
                drafts = (await s.execute(select(OperatorDraft))).scalars().all()
            assert [(d.seat, d.linkedid) for d in drafts] == [(A, linkedid)]

            # lina hangs up: her channel goes, the call ends at her seat
            assert (await op_a.post("/api/v1/me/call/hangup")).status_code == 409
            r = await op_b.post("/api/v1/me/call/hangup")
            assert r.status_code == 202, r.text
            await _until(lambda: _seat(rt, B).call is None)
            assert uid not in rt.controller.calls.talking
            assert _seat(rt, B).calls_taken == 1
            # two tickets on the one Linkedid thread: A's part and B's
            assert rt.controller.calls_ended == 2
    finally:
        await rt.stop()


async def test_the_link_down_is_a_503(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    await rt.start()
    try:
        async with (
            _client(rt, "zhangwei", Role.OPERATOR, A) as op,
            _client(rt, "boss", Role.SUPERVISOR, BOSS_PHONE) as boss,
        ):
            assert (await op.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
            await _a_caller(rt)
            await _until(lambda: _seat(rt, A).call is not None)
            assert rt.link is not None
            await rt.link.close()
            r = await op.post("/api/v1/me/call/transfer", json={"queue": "urgent"})
            assert r.status_code == 503 and "not sent" in r.json()["detail"]
            r = await boss.post(f"/api/v1/seats/{A}/spy", json={"mode": "barge"})
            assert r.status_code == 503
    finally:
        await rt.stop()
