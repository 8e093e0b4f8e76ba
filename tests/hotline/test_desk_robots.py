"""The simulated operators work through the desk API (issue 11, item 7): each signs in over
HTTP, opens its live stream over a WebSocket, signs in to its seat (Asterisk's QueueAdd),
takes the calls that connect there, searches the knowledge base and submits the draft; takes
breaks that Asterisk shows as paused; refreshes its token; signs out at the end. And
``hotline simulate`` counts who decided each answered call."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from agents.models import SeatSession, User
from agents.operator import SimulatedOperator
from config.settings import CONFIG_DIR, Settings
from hotline.app import create_app
from hotline.runtime import Runtime
from hotline.sim_operators import SimOperators, robot_username
from hotline.simulation import SimulationError, run_simulation
from pbx.simulator import SimulatorConfig
from tickets.db import make_engine, session_factory
from tickets.models import OperatorDraft, Ticket

pytestmark = pytest.mark.e2e

SEATS = ["Local/8001@agents/n", "Local/8002@agents/n"]
HOTLINE = Path(sys.executable).parent / "hotline"
#: A simulation that stops before its first call, or makes one.
ONE_CALL = dict(
    seats=1,
    calls=1,
    hours=0.01,
    speed=100.0,
    seed=1,
    talk_mean=None,
    patience_mean=None,
    wrapup=None,
    ring=0.0,
    database_url=None,
    progress=False,
)


async def _serve(app) -> tuple[uvicorn.Server, asyncio.Task, str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio")
    )
    task = asyncio.ensure_future(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn has no event for it)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def _until(cond, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        got = cond()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def _runtime(tmp_path: Path, speed: float = 20.0, **settings) -> Runtime:
    return Runtime(
        Settings(_env_file=None, spool_dir=tmp_path / "spool", operator_seed=11, **settings),
        database_url=f"sqlite:///{tmp_path / 'robots.db'}",
        simulation=SimulatorConfig(seats=2, speed=speed, seed=5, ivr=False),
        agi_port=0,
        seats_by_desk=True,
    )


async def test_robots_sign_in_take_a_call_and_submit_its_ticket(tmp_path: Path) -> None:
    # a one-second access token: the robots refresh it over and over during the test
    rt = _runtime(tmp_path, access_token_ttl_s=1.0)
    await rt.start()
    server, serving, url = await _serve(create_app(rt))
    robots = SimOperators(rt, url)
    try:
        assert rt.gateway is not None and rt.sessions is not None
        assert (await rt.gateway.queue_status("hotline")).members == []  # nobody yet
        await robots.start()
        # signed in through the API: Asterisk has the seats as dynamic members, in order
        members = (await rt.gateway.queue_status("hotline")).members
        assert [m.interface for m in members] == SEATS
        assert [m.member_name for m in members] == ["Agent 8001", "Agent 8002"]
        assert rt.simulator is not None
        queue = rt.simulator.core.queues["hotline"]
        assert {m.membership for m in queue.members.values()} == {"dynamic"}
        async with rt.sessions() as s:
            shifts = (await s.scalars(select(SeatSession))).all()
            users = {u.username: u for u in (await s.scalars(select(User))).all()}
        assert sorted((x.username, x.interface) for x in shifts) == [
            ("sim-8001", SEATS[0]),
            ("sim-8002", SEATS[1]),
        ]
        assert users["sim-8001"].role == "operator" and users["sim-8001"].seat == SEATS[0]
        assert robots.counts.signed_in == 2

        await rt.gateway.originate(
            "Local/12345@callers/n",
            context="caller-sim",
            exten="s",
            caller_id='"张伟" <13812345678>',
            variables={"TALK": "40", "PATIENCE": "600"},
        )

        async def ticket_stored() -> bool:
            await rt.settle()
            await robots.drain()
            async with rt.sessions() as s:
                return (await s.scalar(select(Ticket))) is not None

        await _until(ticket_stored)
        async with rt.sessions() as s:
            t = await s.scalar(select(Ticket))
            d = await s.scalar(
                select(OperatorDraft).where(OperatorDraft.call_uniqueid == t.call_uniqueid)
            )
        expected = SimulatedOperator(resolve_share=0.57, seed=11).decide(t.linkedid)
        assert (t.kind, t.resolved_on_call) == (expected.kind, expected.resolved_on_call)
        assert t.status == ("resolved" if expected.resolved_on_call else "awaiting_routing")
        assert d.status == "submitted" and d.operator_id == users[robot_username(d.seat)].id
        assert d.description.startswith("来电") and d.idempotency_key.startswith("sim-")
        assert bool(d.answer) is expected.resolved_on_call
        if d.answer:  # answered from the best article the knowledge base found
            assert d.answer.startswith("按知识库《")
        assert robots.counts.submitted == 1 and robots.counts.failed == 0
        assert rt.desk.fallback_decisions == 0
        await _until(lambda: robots.counts.refreshed >= 2, within=10.0)
    finally:
        await robots.stop()
        server.should_exit = True
        await serving
        await rt.stop()
    # signed out at the end: Asterisk lost the members, the shifts are closed
    assert rt.simulator is not None and not rt.simulator.core.queues["hotline"].members
    engine = make_engine(f"sqlite:///{tmp_path / 'robots.db'}")
    try:
        async with session_factory(engine)() as s:
            open_shifts = (
                await s.scalars(select(SeatSession).where(SeatSession.signed_out_at.is_(None)))
            ).all()
        assert open_shifts == []
    finally:
        await engine.dispose()


async def test_a_break_is_a_pause_asterisk_shows_then_ready_again(tmp_path: Path) -> None:
    # 600 simulated seconds a real one: a break about every simulated hour's sixtieth, each
    # lasting simulated minutes, so seconds here
    rt = _runtime(tmp_path, speed=600.0)
    await rt.start()
    server, serving, url = await _serve(create_app(rt))
    robots = SimOperators(rt, url, breaks_per_hour=60.0)
    codes = {"lunch", "training", "meeting", "restroom"}
    try:
        await robots.start()
        robots.begin_breaks()
        assert rt.gateway is not None

        async def paused() -> list[str]:
            members = (await rt.gateway.queue_status("hotline")).members
            return [m.interface for m in members if m.paused]

        await _until(paused)
        members = (await rt.gateway.queue_status("hotline")).members
        on_break = [m for m in members if m.paused]
        assert {m.paused_reason for m in on_break} <= codes  # an operator's code, not a system one
        # counted when the pause request's answer comes (Asterisk confirmed it first)
        await _until(lambda: robots.counts.breaks >= 1)
        seat = rt.controller.seats.seats[on_break[0].interface]
        assert seat.state(rt.now()) == "paused" and seat.paused_reason in codes
        # the break ends: ready again (QueuePause Paused: false), then the next one comes
        first = on_break[0].interface

        async def back() -> bool:
            return first not in await paused()

        await _until(back, within=30.0)
        await _until(lambda: robots.counts.breaks >= 2, within=30.0)
    finally:
        await robots.stop()
        server.should_exit = True
        await serving
        await rt.stop()


async def test_simulate_counts_who_decided_each_answered_call(tmp_path: Path) -> None:
    args = dict(
        seats=5,
        calls=40,
        hours=0.05,
        speed=1000.0,
        seed=4,
        talk_mean=60.0,
        patience_mean=120.0,
        wrapup=5.0,
        ring=1.0,
        progress=False,
    )
    url = f"sqlite:///{tmp_path / 'with.db'}"
    with_robots = await run_simulation(Settings(_env_file=None), database_url=url, **args)
    r = with_robots
    assert r["operators"] == 5 and r["operator_breaks"] == 0
    assert r["submitted_by_operators"] == r["answered"] == r["tickets"] > 0
    assert r["decided_by_fallback"] == 0
    # every answered call's ticket is the one its operator submitted
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as s:
            pairs = (
                await s.execute(
                    select(Ticket.kind, OperatorDraft.kind, OperatorDraft.status).join(
                        OperatorDraft, OperatorDraft.call_uniqueid == Ticket.call_uniqueid
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert len(pairs) == r["tickets"]
    assert all(t == d and status == "submitted" for t, d, status in pairs)

    without = await run_simulation(
        Settings(_env_file=None),
        database_url=f"sqlite:///{tmp_path / 'without.db'}",
        operators=False,
        **args,
    )
    assert without["operators"] == without["submitted_by_operators"] == 0
    assert without["decided_by_fallback"] == without["answered"]
    # one seeded model decides either way: the same run, the same figures
    for key in ("answered", "abandoned", "tickets", "instant_resolution_rate", "mean_wait_s"):
        assert without[key] == with_robots[key], key


async def test_breaks_need_the_operators() -> None:
    with pytest.raises(SimulationError, match="--breaks-per-hour needs the simulated operators"):
        await run_simulation(
            Settings(_env_file=None),
            **ONE_CALL,
            operators=False,
            breaks_per_hour=1.0,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_hotline_serve_staffs_the_embedded_pbx_and_signs_out_at_the_end(tmp_path) -> None:
    port = _free_port()
    db = tmp_path / "serve.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
        "HOTLINE_DATABASE_URL": f"sqlite:///{db}",
        "HOTLINE_SPOOL_DIR": str(tmp_path / "spool"),
        "HOTLINE_AGI_PORT": "0",
        "HOTLINE_HTTP_PORT": str(port),
        "HOTLINE_SIM_SEATS": "3",
        "HOTLINE_SIM_SPEED": "50",
        "HOTLINE_SIM_CALLS_PER_HOUR": "600",
        "HOTLINE_SIM_TALK_MEAN_S": "60",
    }
    proc = await asyncio.create_subprocess_exec(
        str(HOTLINE), "serve", "--quiet", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def submitted() -> bool:
                assert proc.returncode is None, "hotline serve exited"
                try:
                    text = (await client.get("/metrics")).text
                except httpx.TransportError:
                    return False
                for line in text.splitlines():
                    if line.startswith('hotline_tickets_written_total{centre="city"} '):
                        return float(line.split()[-1]) >= 2
                return False

            await _until(submitted, within=90.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode in (0, -signal.SIGINT, 130), stderr.decode()  # uvicorn re-raises it
    assert "3 simulated operators at the desk API" in stderr.decode()
    engine = make_engine(f"sqlite:///{db}")
    try:
        async with session_factory(engine)() as s:
            shifts = (await s.scalars(select(SeatSession))).all()
            drafts = (await s.scalars(select(OperatorDraft))).all()
    finally:
        await engine.dispose()
    assert sorted(x.username for x in shifts) == ["sim-8001", "sim-8002", "sim-8003"]
    assert all(x.signed_out_at is not None for x in shifts)  # they signed out before the end
    assert sum(d.status == "submitted" for d in drafts) >= 2


async def test_operators_who_cannot_sign_in_stop_the_simulation_saying_why(tmp_path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    skills = config / "skills.yaml"
    text = skills.read_text(encoding="utf-8")
    assert "general:  {hotline: 0}" in text
    # their skill group names a queue this PBX does not have: Asterisk refuses the QueueAdd
    skills.write_text(text.replace("general:  {hotline: 0}", "general:  {urgent: 0}"), "utf-8")
    with pytest.raises(SimulationError, match=r"could not sign in: sim-8001: .*No such queue"):
        await run_simulation(
            Settings(_env_file=None, config_dir=config),
            **ONE_CALL,
        )
