"""The controller's AMI link (panoramisk + our codec) against the embedded PBX."""

from __future__ import annotations

import asyncio

import pytest

from pbx import events as ev
from pbx.ami import AmiActionError, AmiAuthError, AmiLink, AmiNotConnected, AmiTimeout
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
    members = [i for i in await a.queue_status() if type(i) is ev.MemberStatus]
    assert len(members) == 2
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
