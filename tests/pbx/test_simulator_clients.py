"""Third-party AMI clients against the embedded PBX: panoramisk (asyncio) and asterisk-ami
(threaded, run in a worker thread while the simulator runs on the loop)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pbx.simulator import Simulator, SimulatorConfig

EPOCH = 1_800_000_000.0


@pytest.fixture
async def sim():
    s = Simulator(
        SimulatorConfig(seats=3, speed=1000.0, epoch=EPOCH, auth_fail_delay_s=0.1, secret="s3cret")
    )
    await s.start(host="127.0.0.1", port=0)
    yield s
    await s.stop()


async def test_panoramisk_ping_queuestatus_and_events(sim):
    from panoramisk import Manager

    manager = Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=sim.port,
        username="hotline",
        secret="s3cret",
        ping_delay=3600,
    )
    joined = asyncio.get_running_loop().create_future()

    def on_join(mgr, event):
        if not joined.done():
            joined.set_result(dict(event))

    manager.register_event("QueueCallerJoin", on_join)
    await asyncio.wait_for(manager.connect(), 3)
    # panoramisk logs in on connect; wait for the session to be authenticated.
    for _ in range(200):
        if any(s.authenticated for s in sim.server.sessions):
            break
        await asyncio.sleep(0.01)
    pong = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), 3)
    assert pong.Response == "Success" and pong.Ping == "Pong"
    sim.core.caller_arrive("hotline", "13800001234", "张三", patience=100.0, talk=100.0)
    event = await asyncio.wait_for(joined, 3)
    assert event["CallerIDName"] == "张三" and event["Queue"] == "hotline"
    items = await asyncio.wait_for(
        manager.send_action({"Action": "QueueStatus", "Queue": "hotline"}), 3
    )
    names = [m.Event for m in items if "Event" in m]
    assert names[0] == "QueueParams" and names[-1] == "QueueStatusComplete"
    assert names.count("QueueMember") == 3
    assert items[-1].ListItems == str(len(names) - 1)
    # QueueAdd only resolves with as_list=False in panoramisk 1.4 (README).
    add = await asyncio.wait_for(
        manager.send_action(
            {"Action": "QueueAdd", "Queue": "hotline", "Interface": "Local/8001@agents/n"},
            as_list=False,
        ),
        3,
    )
    assert add.Message == "Unable to add interface: Already there"
    manager.close()


def _asterisk_ami_session(port: int, ready: threading.Event) -> dict:
    """The whole asterisk-ami conversation, run in a worker thread (the client is blocking)."""
    from asterisk.ami import AMIClient, SimpleAction

    out: dict = {"events": []}
    got_join = threading.Event()

    def on_event(event, source):
        out["events"].append(event.name)
        if event.name == "QueueCallerJoin":
            out["join_name"] = event.keys.get("CallerIDName")
            got_join.set()

    client = AMIClient(address="127.0.0.1", port=port, timeout=3)
    client.add_event_listener(on_event)
    try:
        login = client.login(username="hotline", secret="s3cret").response
        out["login"] = (login.status, login.keys.get("Message"))
        ping = client.send_action(SimpleAction("Ping")).response
        out["ping"] = (ping.status, ping.keys.get("Ping"))
        bad = client.send_action(
            SimpleAction("QueuePause", Interface="Local/8099@agents/n", Paused="true")
        ).response
        out["pause"] = (bad.status, bad.keys.get("Message"))
        ready.set()  # the loop side now lets a caller in
        out["joined"] = got_join.wait(3)
        bye = client.logoff().response
        out["logoff"] = (bye.status, bye.keys.get("Message"))
    finally:
        ready.set()
        client.disconnect()
    return out


async def test_asterisk_ami_client_in_a_thread(sim):
    ready = threading.Event()

    async def caller_when_ready():
        await asyncio.to_thread(ready.wait, 10)
        sim.core.caller_arrive("hotline", "13800001235", "李四", patience=100.0, talk=100.0)

    task = asyncio.ensure_future(caller_when_ready())
    out = await asyncio.wait_for(asyncio.to_thread(_asterisk_ami_session, sim.port, ready), 15)
    await task
    assert out["login"] == ("Success", "Authentication accepted")
    assert out["ping"] == ("Success", "Pong")
    assert out["pause"] == ("Error", "Interface not found")
    assert out["joined"] and out["join_name"] == "李四"
    assert "FullyBooted" in out["events"]
    assert out["logoff"] == ("Goodbye", "Thanks for all the fish.")
