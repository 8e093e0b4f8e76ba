"""Queue semantics beyond the recordings: the pre-queue hook, MAXWAIT, joinempty/leavewhenempty,
penalties, several queues sharing seats, queues.conf, and 1,000 seats in 8 queues."""

from __future__ import annotations

import asyncio

from pbx.simulator import (
    MemberConfig,
    QueueConfig,
    TrafficSpec,
    city_centre,
    load_queues_conf,
)
from tests.pbx.simkit import EPOCH, make, until
from tests.traces import traces_dir


def at(sim, t, fn, *args, **kw):
    sim.clock.call_at(EPOCH + t, lambda: fn(*args, **kw))


async def test_pre_queue_hook_sets_queue_and_priority_with_agi_events():
    sim, events = make(
        seats=0,
        queues=(QueueConfig("hotline"), QueueConfig("d1")),
        members=(MemberConfig.seat("d1", 8001),),
        varset="some",
    )
    seen = []

    async def hook(info):
        seen.append(info)
        await asyncio.sleep(0)
        return {"QUEUE": "d1", "QUEUE_PRIO": "3", "IVR_RESULT": "menu-2"}

    sim.core.pre_queue = hook
    at(
        sim,
        1,
        sim.core.caller_arrive,
        "hotline",
        "13800000001",
        "张三",
        patience=100,
        talk=5,
        attrs={"district": "d1"},
    )
    await until(lambda: sim.stats["finished"] == 1)
    info = seen[0]
    assert info.channel.endswith(";2") and info.attrs == {"district": "d1"}
    assert info.caller_num == "13800000001" and info.linkedid != info.uniqueid
    names = [e["Event"] for e in events if e.get("Channel") == info.channel]
    assert names.index("AGIExecStart") < names.index("AGIExecEnd") < names.index("QueueCallerJoin")
    join = next(e for e in events if e["Event"] == "QueueCallerJoin")
    assert join["Queue"] == "d1"
    sets = {e["Variable"]: e["Value"] for e in events if e["Event"] == "VarSet"}
    assert sets["QUEUE_PRIO"] == "3" and sets["IVR_RESULT"] == "menu-2"
    entry_prio = [e for e in events if e["Event"] == "AgentConnect"]
    assert entry_prio and entry_prio[0]["Queue"] == "d1"
    await sim.stop()


async def test_caller_hanging_up_during_the_hook_never_joins():
    sim, events = make(seats=1)

    async def slow(info):
        await asyncio.sleep(10)
        return {}

    # The AGI sessions the PBX starts. Under load the hang-up can come before the session's
    # coroutine ever ran (the clock runs both in one batch), so look at the session, not at
    # the coroutine's own except-clause.
    sessions: list[asyncio.Task] = []
    run = sim.core.run_agi
    assert run is not None
    sim.core.run_agi = lambda request: sessions.append(run(request)) or sessions[-1]
    sim.core.pre_queue = slow
    at(sim, 1, sim.core.caller_arrive, "hotline", "13800000002", "李四", patience=2, talk=5)
    await until(lambda: sim.stats["finished"] == 1)
    await until(lambda: len(sessions) == 1 and sessions[0].done())
    assert sessions[0].cancelled()
    names = [e["Event"] for e in events]
    assert "QueueCallerJoin" not in names and names.count("Hangup") == 2
    assert sim.stats["abandoned"] == 1
    await sim.stop()


async def test_maxwait_timeout_abandon_leave_then_dialplan_goes_on():
    sim, events = make(seats=0, varset="some")
    at(
        sim,
        1,
        sim.core.caller_arrive,
        "hotline",
        "13800000003",
        "王五",
        patience=None,
        talk=5,
        maxwait=5,
    )
    await until(lambda: sim.stats["finished"] == 1)
    seq = [
        e["Event"]
        for e in events
        if e["Event"] in ("QueueCallerAbandon", "QueueCallerLeave", "VarSet", "UserEvent", "Hangup")
    ]
    i = seq.index("QueueCallerAbandon")
    assert seq[i : i + 2] == ["QueueCallerAbandon", "QueueCallerLeave"]
    qs = next(e for e in events if e["Event"] == "VarSet" and e["Variable"] == "QUEUESTATUS")
    ue = next(e for e in events if e["Event"] == "UserEvent")
    assert (
        qs["Value"] == "TIMEOUT" and ue["Status"] == "TIMEOUT" and ue["UserEvent"] == "QueueResult"
    )
    assert float(ue["Timestamp"]) - EPOCH == 6.0
    assert seq.index("UserEvent") < seq.index("Hangup")
    assert sim.core.queue_status("hotline")[0]["Abandoned"] == "1"
    await sim.stop()


async def test_joinempty_and_leavewhenempty():
    sim, events = make(seats=1, joinempty="no", leavewhenempty="yes")
    at(sim, 0.5, sim.core.pause_member, "Local/8001@agents/n", True)
    at(sim, 1, sim.core.caller_arrive, "hotline", "1", "a", patience=50, talk=5)
    await until(lambda: sim.stats["finished"] == 1)
    assert not any(e["Event"].startswith("QueueCaller") for e in events)  # JOINEMPTY: none
    assert next(e for e in events if e["Event"] == "UserEvent")["Status"] == "JOINEMPTY"
    await sim.stop()

    sim, events = make(seats=1, leavewhenempty="yes", ring_time_s=100.0)
    at(sim, 1, sim.core.caller_arrive, "hotline", "2", "b", patience=50, talk=5)
    at(sim, 2.5, sim.core.pause_member, "Local/8001@agents/n", True)
    await until(lambda: sim.stats["finished"] == 1)
    seq = [e["Event"] for e in events if e["Event"].startswith("QueueCaller")]
    assert seq == ["QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave"]
    assert next(e for e in events if e["Event"] == "UserEvent")["Status"] == "LEAVEEMPTY"
    await sim.stop()


async def test_penalty_and_shared_seat_across_queues():
    qs = (QueueConfig("a"), QueueConfig("b"))
    ms = (
        MemberConfig.seat("a", 8001, penalty=1),
        MemberConfig.seat("a", 8002, penalty=0),
        MemberConfig.seat("b", 8001),
    )
    sim, events = make(seats=0, queue="a", queues=qs, members=ms)
    at(sim, 1, sim.core.caller_arrive, "a", "1", "x", patience=100, talk=20)  # -> 8002 (pen 0)
    at(sim, 2, sim.core.caller_arrive, "a", "2", "y", patience=100, talk=20)  # -> 8001 (pen 1)
    at(sim, 3, sim.core.caller_arrive, "b", "3", "z", patience=100, talk=5)  # 8001 busy in a
    await until(lambda: sim.stats["finished"] == 3)
    connects = [
        (e["Queue"], e["MemberName"], e["CallerIDNum"])
        for e in events
        if e["Event"] == "AgentConnect"
    ]
    assert connects[:2] == [("a", "Agent 8002", "1"), ("a", "Agent 8001", "2")]
    z = next(c for c in connects if c[2] == "3")
    assert z == ("b", "Agent 8001", "3")
    zc = next(e for e in events if e["Event"] == "AgentConnect" and e["CallerIDNum"] == "3")
    assert int(zc["HoldTime"]) >= 19  # waited for 8001 to finish its call from queue a
    await sim.stop()


async def test_an_unavailable_device_is_never_rung_and_counts_as_unavailable():
    # recording "unavailable": a SIP member that is not registered (Status 5)
    sim, events = make(seats=1, joinempty="unavailable", leavewhenempty="unavailable")
    (m,) = sim.core.queues["hotline"].members.values()
    at(sim, 0.5, sim.core.set_device_unavailable, m.state_interface)
    at(sim, 1, sim.core.caller_arrive, "hotline", "1", "a", patience=50, talk=5)
    await until(lambda: sim.stats["finished"] == 1)
    st = next(e for e in events if e["Event"] == "QueueMemberStatus")
    assert st["Status"] == "5"
    assert not any(e["Event"].startswith("QueueCaller") for e in events)  # JOINEMPTY: none
    assert next(e for e in events if e["Event"] == "UserEvent")["Status"] == "JOINEMPTY"
    await sim.stop()

    sim, events = make(seats=1, joinempty="yes", leavewhenempty="unavailable")
    (m,) = sim.core.queues["hotline"].members.values()
    at(sim, 0.5, sim.core.set_device_unavailable, m.state_interface)
    at(sim, 1, sim.core.caller_arrive, "hotline", "2", "b", patience=50, talk=5)
    await until(lambda: sim.stats["finished"] == 1)
    seq = [e["Event"] for e in events if e["Event"].startswith(("QueueCaller", "Agent"))]
    assert seq == ["QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave"]
    assert next(e for e in events if e["Event"] == "UserEvent")["Status"] == "LEAVEEMPTY"
    await sim.stop()


def test_queues_conf_loader_reads_the_recording_config():
    queues, members = load_queues_conf(traces_dir() / "etc" / "queues.conf")
    by = {q.name: q for q in queues}
    assert set(by) == {"hotline", "hotline2", "ringall", "wrapup"} | {
        # the scenarios recorded with tests/asterisk/record.py
        *("qtimeout", "qjyes", "qjno", "qjstrict", "qjlist", "qsa", "qsb", "qsc"),
        *("quyes", "quunav", "qulist", "quleave"),
    }
    assert by["ringall"].strategy == "ringall" and by["ringall"].timeout == 8
    assert by["qsc"].weight == 5 and by["qsb"].strategy == "leastrecent"
    assert by["qjlist"].joinempty == "unavailable,invalid"
    assert by["qulist"].joinempty == "paused,unavailable"
    assert by["quleave"].leavewhenempty == "unavailable"
    assert by["ringall"].retry == 2 and by["wrapup"].wrapuptime == 10
    assert members == ()


async def test_a_thousand_seats_in_eight_queues():
    queues, members = city_centre(1000)
    assert len(queues) == 8 and len({m.interface for m in members}) == 1000
    sim, _ = make(seats=0, queues=queues, members=members, speed=3000.0, varset="none")
    futs = [
        sim.run_traffic(
            TrafficSpec(
                calls=150,
                hours=0.05,
                talk_mean_s=120,
                patience_mean_s=200,
                queue=q.name,
                start_at=EPOCH,
            )
        )
        for q in queues
    ]
    await asyncio.wait_for(asyncio.gather(*futs), 60)
    s = sim.stats
    assert s["offered"] == 1200 == s["finished"] and s["answered"] > 1100
    await sim.stop()


def test_ideal_queue_with_wrapup_does_not_spin_at_one_instant():
    """recheck_s=0 (the ideal M/M/N+M queue) with a wrap-up: the waiting caller is served when
    the wrap-up ends, without re-checking at the same virtual instant for ever."""
    from pbx.simulator.config import SimulatorConfig
    from pbx.simulator.core import PbxCore
    from pbx.simulator.desclock import DesClock

    clock = DesClock(1_800_000_000.0)
    core = PbxCore(clock, lambda h: None, SimulatorConfig(ring_time_s=0.0, recheck_s=0.0))
    core.add_queue("hotline", strategy="rrmemory", timeout=15.0, retry=1.0, wrapuptime=10.0)
    core.add_member("hotline", "Local/8001@agents/n", membership="static", event=False)
    for num in ("13800000001", "13800000002"):
        core.caller_arrive("hotline", num, "张三", patience=None, talk=5.0)
    ran = 0
    while clock.step():
        ran += 1
        assert ran < 1000, "the PBX spins at one instant"
    assert core.stats["answered"] == 2 and core.stats["waiting"] == 0
