"""The controller's AMI link (panoramisk + our codec) against the embedded PBX."""

from __future__ import annotations

import asyncio

import pytest

from pbx import events as ev
from pbx.ami import AmiActionError, AmiAuthError, AmiLink, AmiNotConnected, AmiTimeout
from pbx.gateway import AmiGateway
from pbx.simulator import Simulator, SimulatorConfig

EPOCH = 1_800_000_000.0


@pytest.fixture
async def sim():
    s = Simulator(SimulatorConfig(seats=2, speed=100.0, epoch=EPOCH, auth_fail_delay_s=0.05))
    await s.start(host="127.0.0.1", port=0)
    yield s
    await s.stop()


def link(sim: Simulator, events: list, secret: str | None = None, **kw) -> AmiLink:
    return AmiLink(
        host="127.0.0.1",
        port=sim.port,
        username="hotline",
        secret=secret or sim.secret,
        on_event=events.append,
        **kw,
    )


async def test_login_events_and_typed_action_errors(sim: Simulator) -> None:
    got: list = []
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    a = link(sim, got, on_ready=on_ready)
    await a.connect(timeout=3)
    await asyncio.wait_for(ready.wait(), 3)
    assert a.connected
    await a.ping()
    sim.core.caller_arrive("hotline", "13800001234", "张三", patience=100.0, talk=100.0)
    for _ in range(100):
        if any(type(e) is ev.AgentConnected for e in got):
            break
        await asyncio.sleep(0.02)
    join = next(e for e in got if type(e) is ev.CallerJoined)
    assert join.caller_name == "张三" and join.queue == "hotline"
    assert any(type(e) is ev.AgentConnected for e in got)
    state = await AmiGateway(a).queue_status("hotline")
    assert len(state.members) == 2
    action = {"Action": "QueueAdd", "Queue": "hotline", "Interface": "Local/8001@agents/n"}
    with pytest.raises(AmiActionError, match="Already there"):
        await a.send(action)
    with pytest.raises(AmiActionError, match="Invalid/unknown command"):
        await a.send({"Action": "NoSuchAction"})
    with pytest.raises(ValueError, match="Queue"):
        await a.send({"Action": "QueuePause", "Queue": "x\r\nAction: Logoff"})
    await a.close()
    with pytest.raises(AmiNotConnected):
        await a.ping()


async def test_wrong_secret_is_refused_clearly(sim: Simulator) -> None:
    a = link(sim, [], secret="wrong")
    with pytest.raises(AmiAuthError, match="refused: Authentication failed"):
        await a.connect(timeout=3)
    assert not a.connected
    await a.close()


async def test_unreachable_pbx_raises() -> None:
    a = AmiLink(host="127.0.0.1", port=1, username="u", secret="s", on_event=lambda e: None)
    with pytest.raises(OSError):
        await a.connect(timeout=3)
    await a.close()


async def test_action_timeout(sim: Simulator) -> None:
    a = link(sim, [], action_timeout=0.2)
    await a.connect(timeout=3)
    # Stall the PBX side: it reads nothing more.
    for session in sim.server.sessions:
        session.transport.pause_reading()
    with pytest.raises(AmiTimeout, match=r"Ping got no answer within 0\.2 s"):
        await a.ping()
    await a.close()


# -- reconnect, fail-fast, gateway, stall, garbage ------------------------------------------
import time  # noqa: E402

from pbx.simulator.faults import GARBAGE, Faults  # noqa: E402


async def wait_for(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def fast_link(sim: Simulator, events: list, **kw) -> AmiLink:
    kw.setdefault("backoff_base", 0.02)
    kw.setdefault("backoff_cap", 0.1)
    kw.setdefault("action_timeout", 1.0)
    return link(sim, events, **kw)


async def test_reconnects_with_backoff_and_resyncs_each_time(sim: Simulator) -> None:
    ups: list[bool] = []
    snaps: list = []
    a = fast_link(sim, [], on_link=ups.append, on_snapshot=snaps.append)
    await a.connect(timeout=3)
    assert a.ready and ups == [True] and len(snaps) == 1
    assert {m.interface for m in snaps[0].members} == {
        "Local/8001@agents/n",
        "Local/8002@agents/n",
    }
    faults = Faults(sim)
    for n in range(1, 4):
        faults.drop()
        await wait_for(lambda: not a.connected)
        # While down every action fails at once: nothing is queued for later.
        t0 = time.monotonic()
        with pytest.raises(AmiNotConnected):
            await AmiGateway(a).pause_member("Local/8001@agents/n", True)
        assert time.monotonic() - t0 < 0.05
        await wait_for(lambda: a.ready)
        assert a.reconnects == n and len(snaps) == n + 1
    assert ups == [True, False, True, False, True, False, True]
    await a.close()
    assert not a.connected


async def test_pings_detect_a_stalled_pbx_and_reconnect(sim: Simulator) -> None:
    a = fast_link(sim, [], ping_interval=0.1, action_timeout=0.2)
    await a.connect(timeout=3)
    stall = asyncio.create_task(Faults(sim).stall(1.0))
    # reconnects counts the login; ready follows the resync after it
    await wait_for(lambda: a.reconnects >= 1 and a.ready, timeout=5)
    await a.ping()
    await stall
    await a.close()


async def test_garbage_is_counted_by_reason_and_the_link_carries_on(sim: Simulator) -> None:
    got: list = []
    rejected: list[str] = []
    a = fast_link(sim, got, on_rejected=rejected.append)
    await a.connect(timeout=3)
    faults = Faults(sim)
    for name in GARBAGE:
        faults.garbage(name)
    # a Chinese name split inside a character, and LF-only frames, arrive whole
    name = "张三".encode()
    for s in sim.server.sessions:
        s.write(b"Event: QueueCallerJoin\nQueue: hotline\nUniqueid: 5.5\nCallerIDName: " + name[:2])
    await asyncio.sleep(0.05)
    for s in sim.server.sessions:
        s.write(name[2:] + b"\nPosition: 1\nCount: 1\n\n")
    await a.ping()
    assert {"too_long", "bad_header", "bad_utf8", "missing_field", "bad_value", "empty"} <= set(
        rejected
    )
    assert "unmatched_response" in rejected
    joins = [e for e in got if type(e) is ev.CallerJoined]
    assert joins and joins[-1].caller_name == "张三"
    assert a.ready
    await a.close()


async def test_gateway_actions_have_typed_answers(sim: Simulator) -> None:
    got: list = []
    a = fast_link(sim, got)
    await a.connect(timeout=3)
    gw = AmiGateway(a)
    await gw.add_member("hotline", "Local/8009@agents/n", member_name="Agent 8009")
    with pytest.raises(AmiActionError, match="Already there") as exc:
        await gw.add_member("hotline", "Local/8009@agents/n")
    assert exc.value.message == "Unable to add interface: Already there"
    with pytest.raises(AmiActionError, match="No such queue"):
        await gw.add_member("nosuch", "Local/8009@agents/n")
    await gw.pause_member("Local/8009@agents/n", True, queue="hotline", reason="午休")
    with pytest.raises(AmiActionError, match="Interface not found"):
        await gw.pause_member("Local/9999@agents/n", True)
    await gw.remove_member("hotline", "Local/8009@agents/n")
    with pytest.raises(AmiActionError, match="Not there"):
        await gw.remove_member("hotline", "Local/8009@agents/n")
    await gw.setvar("SCENARIO", "测试")
    assert await gw.getvar("SCENARIO") == "测试"
    with pytest.raises(AmiActionError, match="No such channel"):
        await gw.getvar("X", channel="Local/nosuch@callers-00000000;2")
    with pytest.raises(AmiActionError, match="No such channel"):
        await gw.hangup("Local/nosuch@callers-00000000;2")
    state = await gw.queue_status("hotline")
    assert state.params["hotline"].queue == "hotline" and len(state.members) == 2
    assert isinstance(await gw.channels(), list)
    await a.close()


async def test_many_actions_in_flight_each_get_their_own_answer(sim: Simulator) -> None:
    a = fast_link(sim, [])
    await a.connect(timeout=3)
    sim.core.caller_arrive("hotline", "13800001234", "张三", patience=100.0, talk=100.0)
    gw = AmiGateway(a)
    results = await asyncio.gather(
        *[gw.queue_status("hotline") for _ in range(20)],
        *[a.ping() for _ in range(20)],
        *[gw.getvar("NOPE") for _ in range(20)],
    )
    assert all(r.params["hotline"].queue == "hotline" for r in results[:20])
    assert len(a.tracker) == 0
    await a.close()
