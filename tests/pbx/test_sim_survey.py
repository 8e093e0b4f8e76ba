"""The survey after the call in the embedded PBX: ``PbxCore.post_call`` runs on the caller's
``;2`` once the operator hung up (``Queue(...,c)`` goes on), the seat already free; then the
caller hangs up. Calls the citizen ends get no survey."""

from __future__ import annotations

import asyncio

from tests.pbx.simkit import EPOCH, make, until


def arrive(sim, t: float, num: str, hangup_by: str, talk: float = 5.0) -> None:
    sim.clock.call_at(
        EPOCH + t,
        lambda: sim.core.caller_arrive(
            "hotline", num, "张三", patience=100, talk=talk, hangup_by=hangup_by
        ),
    )


def index(events, name: str, **match: str) -> int:
    for i, e in enumerate(events):
        if e["Event"] == name and all(e.get(k) == v for k, v in match.items()):
            return i
    raise AssertionError(f"no {name} {match}")


async def test_survey_runs_on_the_callers_leg_after_the_operator_hung_up() -> None:
    sim, events = make()
    seen = []

    async def survey(info):
        seen.append(info)
        await asyncio.sleep(0)
        return {"SURVEY_RESULT": "1", "AGISTATUS": "SUCCESS"}

    sim.core.post_call = survey
    arrive(sim, 1, "13800000001", "agent")
    await until(lambda: sim.stats["finished"] == 1)
    assert len(seen) == 1
    info = seen[0]
    c2 = info.channel
    assert c2.endswith(";2") and c2.startswith("Local/12345@callers")
    c1 = c2[:-1] + "1"
    done = index(events, "AgentComplete")
    assert events[done]["Reason"] == "agent" and events[done]["Linkedid"] == info.linkedid
    start = index(events, "AGIExecStart", Channel=c2)
    end = index(events, "AGIExecEnd", Channel=c2)
    assert events[start]["Command"] == 'SET VARIABLE SURVEY_RESULT "1"'
    hang2 = index(events, "Hangup", Channel=c2)
    hang1 = index(events, "Hangup", Channel=c1)
    assert done < start < end < hang2 < hang1
    # The seat is free at AgentComplete: its Hangups and status come before the survey.
    agent_hangups = [
        i
        for i, e in enumerate(events)
        if e["Event"] == "Hangup" and e["Channel"].startswith("Local/8001@agents")
    ]
    assert agent_hangups and max(agent_hangups) < start
    free = [
        i
        for i, e in enumerate(events)
        if e["Event"] == "QueueMemberStatus" and e.get("InCall") == "0" and i > done
    ]
    assert free and free[0] < start
    # The bridge is gone before the survey; the caller's ;2 runs AGI(.../survey,<linkedid>).
    assert index(events, "BridgeDestroy") < start
    sets = {e["Variable"]: e["Value"] for e in events if e["Event"] == "VarSet"}
    assert sets["SURVEY_RESULT"] == "1"
    cdr = next(e for e in events if e["Event"] == "Cdr" and e["Channel"] == c2)
    assert cdr["LastApplication"] == "Hangup"
    assert sim.stats["answered"] == 1 and sim.stats["talking"] == 0
    await sim.stop()


async def test_no_survey_when_the_caller_hung_up() -> None:
    sim, events = make()
    ran = []

    async def survey(info):
        ran.append(info)
        return {"SURVEY_RESULT": "1"}

    sim.core.post_call = survey
    arrive(sim, 1, "13800000002", "caller")
    await until(lambda: sim.stats["finished"] == 1)
    await asyncio.sleep(0.01)
    assert ran == []
    done = index(events, "AgentComplete")
    assert events[done]["Reason"] == "caller"
    assert not any(e["Event"].startswith("AGIExec") for e in events)
    await sim.stop()


async def test_without_a_hook_the_events_are_unchanged() -> None:
    async def survey(info):
        return {}

    runs = []
    for hook in (None, survey):
        sim, events = make()
        sim.core.post_call = hook
        arrive(sim, 1, "13800000003", "caller")
        await until(lambda sim=sim: sim.stats["finished"] == 1)
        await sim.stop()
        runs.append([(e["Event"], e.get("Channel", "")) for e in events])
    # A call the citizen ends is the same with or without the survey hook.
    assert runs[0] == runs[1]


async def test_the_survey_time_is_held_so_seeded_runs_repeat() -> None:
    async def survey(info):
        await asyncio.sleep(0.05)  # 50 virtual seconds of real I/O at speed 1000
        return {"SURVEY_RESULT": "2"}

    sim, events = make()
    sim.core.post_call = survey
    sim.core.survey_time_s = 10.0
    arrive(sim, 1, "13800000004", "agent", talk=5.0)
    await until(lambda: sim.stats["finished"] == 1)
    done = events[index(events, "AgentComplete")]
    c2 = done["Channel"]
    hang = events[index(events, "Hangup", Channel=c2)]
    assert float(hang["Timestamp"]) - float(done["Timestamp"]) == 10.0
    await sim.stop()


async def test_caller_hanging_up_during_the_survey() -> None:
    cancelled = asyncio.Event()

    async def survey(info):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    sim, events = make()
    sim.core.post_call = survey
    arrive(sim, 1, "13800000005", "agent", talk=2.0)
    await until(lambda: any(e["Event"] == "AgentComplete" for e in events))
    c2 = next(e for e in events if e["Event"] == "AgentComplete")["Channel"]
    await asyncio.sleep(0.01)
    assert sim.stats["finished"] == 0 and sim.stats["talking"] == 0
    chans = {h["Channel"]: h for h in sim.core.core_show_channels()}
    assert set(chans) == {c2, c2[:-1] + "1"}  # the seat's channels are gone
    linkedid = chans[c2]["Linkedid"]
    assert chans[c2]["Application"] == "AGI"
    assert chans[c2]["ApplicationData"] == f"agi://127.0.0.1:4573/survey,{linkedid}"
    assert sim.core.hangup_channel(c2[:-1] + "1", 16)
    assert sim.stats["finished"] == 1
    await until(cancelled.is_set)
    assert sum(e["Event"] == "Hangup" and e["Channel"] in (c2, c2[:-1] + "1") for e in events) == 2
    await sim.stop()
