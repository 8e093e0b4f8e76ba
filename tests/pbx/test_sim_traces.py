"""The embedded PBX replays each recorded scenario and must produce what Asterisk 20 sent.

For every scenario (the recordings ``NAME.*`` in ``tests/recordings``) the actions of
``NAME.driver.jsonl`` are sent to the simulator at the same virtual times, on the discrete-event
clock (so the result does not depend on how busy the machine is), with the queues of
``etc/queues.conf``, a
fake FastAGI step that does what the recording's IVR stub did, and the seats of
``extensions.conf`` (answer after 1 s, or SEAT_* globals). Then, per caller:

* the queue events (Join, AgentCalled to whom, RingNoAnswer, Leave, Connect, Complete,
  Abandon) come in the same order, to the same members, with the same HoldTime (+-1 s);
* every channel of the call (caller ;1/;2, each agent leg ;1/;2) gets the same multiset of
  event types (VarSet/Newexten/Cdr/DeviceStateChange left out: their volume is configurable);
* every event the simulator sends has a header order the trace has for that event type.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest

from pbx.codec import Frame
from pbx.simulator import QueueLogHook, Simulator, SimulatorConfig, load_queues_conf
from pbx.simulator.desclock import DesClock
from pbx.simulator.model import CallerInfo
from pbx.simulator.server import AmiSession
from tests.pbx.simkit import run_virtual
from tests.traces import recording_rows, trace_frames, trace_header_orders, traces_dir

SKIP = {"VarSet", "Newexten", "Cdr", "DeviceStateChange", "OriginateResponse"}
QUEUE_EVENTS = (
    "QueueCallerJoin",
    "AgentCalled",
    "AgentRingNoAnswer",
    "QueueCallerLeave",
    "AgentConnect",
    "AgentComplete",
    "QueueCallerAbandon",
)


SKIP_ACT = ("Login", "Logoff")  # the replay logs the session in itself


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def write(self, data) -> None:  # type: ignore[override]
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


async def ivr_stub(info: CallerInfo) -> dict[str, str]:
    """What the recording's FastAGI stub did: IVR_RESULT, a VERBOSE, QUEUE_PRIO=5 for 139..."""
    info.agi_command('SET VARIABLE IVR_RESULT "menu-1"')
    info.agi_command(f'VERBOSE "fastagi ivr for {info.caller_num}" 2')
    out = {"IVR_RESULT": "menu-1"}
    if info.caller_num.startswith("139"):
        info.agi_command('SET VARIABLE QUEUE_PRIO "5"')
        out["QUEUE_PRIO"] = "5"
    return out


def _driver_actions(name: str) -> list[tuple[float, dict]]:
    rows = recording_rows(f"{name}.driver.jsonl")
    t0 = rows[0]["t"]
    return [
        (d["t"] - t0, {k: v for k, v in d.items() if k not in ("t", "_sent")})
        for d in rows
        if d.get("_sent")
    ]


async def replay(name: str, queue_log: QueueLogHook | None = None) -> list[dict[str, str]]:
    """Replay scenario ``name``; its events, and its queue_log rows to ``queue_log``."""
    # the recording's own start, so whole-second boundaries (wrap-up) fall where they fell
    epoch = recording_rows(f"{name}.driver.jsonl")[0]["t"]
    queues, members = load_queues_conf(traces_dir() / "etc" / "queues.conf")
    clock = DesClock(epoch)
    sim = Simulator(
        SimulatorConfig(
            seats=0,
            queues=queues,
            members=members,
            ring_time_s=1.0,
            seed=1,
            epoch=epoch,
            secret="hotline",
            varset="none",
            ivr_time_s=0.0,  # the recording's stub answered at once
        ),
        clock=clock,
        queue_log=queue_log,
    )
    events: list[dict[str, str]] = []
    sim.subscribe(events.append)
    sim.core.pre_queue = ivr_stub
    # a device the recording's Asterisk had unavailable (a SIP peer never registered)
    for e in recording_rows(f"{name}.jsonl"):
        if e.get("Event") == "QueueMemberAdded" and e.get("Status") == "5":
            sim.core.set_device_unavailable(e.get("StateInterface") or e["Interface"])
    session = AmiSession(sim.server)
    session.connection_made(FakeTransport())
    session.authenticated = True
    actions = _driver_actions(name)
    for t, action in actions:
        if action.get("Action") in SKIP_ACT:
            continue
        clock.call_at(epoch + t, session.handle, Frame(action))
    await run_virtual(sim, clock, until=epoch + actions[-1][0] + 1.0)
    await sim.stop()
    return events


def _calls(events) -> dict[str, dict]:
    """Per caller name: its queue-event list and its channels' event-type counters."""
    names: dict[str, str] = {}
    for e in events:
        if e.get("Event") == "QueueCallerJoin":
            names.setdefault(e["Linkedid"], e["CallerIDName"])
    calls: dict[str, dict] = {}
    legs: dict[tuple[str, str], str] = {}
    talking: dict[tuple[str, str], str] = {}  # (queue, member) -> Linkedid of its call
    for e in events:
        ev = e.get("Event")
        link = e.get("Linkedid")
        if ev == "AgentConnect":
            talking[(e["Queue"], e["MemberName"])] = link
        elif ev == "AgentComplete" and link is None:
            # README s5: some AgentComplete come without channel headers; match by member
            link = talking.get((e["Queue"], e["MemberName"]))
        if ev in SKIP or link not in names:
            continue
        who = names[link]
        call = calls.setdefault(who, {"queue": [], "chans": {}})
        if ev in QUEUE_EVENTS:
            item = [ev, e.get("MemberName", "")]
            if ev == "AgentConnect":
                item.append(int(e["HoldTime"]))
            call["queue"].append(item)
        ch = e.get("Channel", "") if ev != "AgentComplete" else ""  # checked above (s5)
        m = re.match(r"Local/(\w+)@(\w+)-([0-9a-f]+);(\d)", ch)
        if not m:
            continue
        if m.group(2) == "callers":
            role = "C" + m.group(4)
        else:
            pair = (link, ch[:-2])
            if pair not in legs:
                n = sum(1 for (lk, p) in legs if lk == link and f"/{m.group(1)}@" in p)
                legs[pair] = f"A{m.group(1)}#{n}"
            role = legs[pair] + ";" + m.group(4)
        call["chans"].setdefault(role, Counter())[ev] += 1
    return calls


def _outcomes(events) -> dict[str, tuple[str, int | None]]:
    """Per caller name: how Queue() ended (QUEUESTATUS of the dialplan's UserEvent
    QueueResult: TIMEOUT, JOINEMPTY, LEAVEEMPTY...; refused callers included) and the HoldTime
    of its QueueCallerAbandon, if any."""
    out: dict[str, tuple[str, int | None]] = {}
    for e in events:
        who = e.get("CallerIDName", "")
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "QueueResult":
            out[who] = (e["Status"], out.get(who, ("", None))[1])
        elif e.get("Event") == "QueueCallerAbandon":
            out[who] = (out.get(who, ("", None))[0], int(e["HoldTime"]))
    return out


#: Scenarios recorded with ``tests/asterisk/record.py`` (see their ``.md``).
RECORDED = ["qtimeout", "joinempty", "shared", "removed", "unavailable"]


@pytest.mark.parametrize("name", ["pause", "ringall", "wrapup", "priority", *RECORDED])
async def test_scenario_matches_the_recording(name: str) -> None:
    events = await replay(name)
    mine = _calls(events)
    recorded = [f.headers for f in trace_frames(name)]
    theirs = _calls(recorded)
    # the same callers refused or leaving the same way, the abandoned ones after the same wait
    got_out, want_out = _outcomes(events), _outcomes(recorded)
    assert sorted(got_out) == sorted(want_out)
    for who, (status, held) in want_out.items():
        assert got_out[who][0] == status, (who, got_out[who], status)
        if held is not None:
            assert got_out[who][1] is not None and abs(got_out[who][1] - held) <= 1, who
    assert sorted(mine) == sorted(theirs)
    for who in theirs:
        want, got = theirs[who], mine[who]
        # queue events: same order, same members; hold time within a second
        assert [x[:2] for x in got["queue"]] == [x[:2] for x in want["queue"]], who
        for a, b in zip(got["queue"], want["queue"], strict=True):
            if a[0] == "AgentConnect":
                assert abs(a[2] - b[2]) <= 1, (who, a, b)
        assert set(got["chans"]) == set(want["chans"]), who
        for role, counts in want["chans"].items():
            assert got["chans"][role] == counts, (name, who, role)


@pytest.mark.parametrize("name", ["pause", "ringall"])
async def test_header_orders_are_asterisks(name: str) -> None:
    orders = trace_header_orders("pause", "ringall", "wrapup", "priority", "actions", "basic")
    for e in await replay(name):
        keys = tuple(k for k in e if k != "ActionID")
        assert keys in orders.get(e["Event"], ()), (e["Event"], keys)


async def test_actions_scenario_answers_like_asterisk(monkeypatch) -> None:
    """Every response of actions.driver (errors included) has Asterisk's Response/Message, and
    the end state (README s8: the Redirect counts Completed at once) matches ``queue show``."""
    from pbx.codec import AmiCodec

    made: list[FakeTransport] = []
    orig = FakeTransport.__init__

    def init(self) -> None:
        orig(self)
        made.append(self)

    monkeypatch.setattr(FakeTransport, "__init__", init)
    await replay("actions")
    codec = AmiCodec("server")
    codec.feed(bytes(made[0].data))
    mine = {
        f.get("ActionID"): f
        for f in codec.frames()
        if isinstance(f, Frame) and "Response" in f.headers
    }
    rows = recording_rows("actions.driver.jsonl")
    answers = [d for d in rows if "Response" in d and d.get("ActionID", "").startswith("drv-")]
    skipped = {a["ActionID"] for _, a in _driver_actions("actions") if a.get("Action") in SKIP_ACT}
    answers = [d for d in answers if d["ActionID"] not in skipped]
    assert len(answers) > 40
    for d in answers:
        m = mine[d["ActionID"]]
        assert (m.get("Response"), m.get("Message")) == (d["Response"], d.get("Message", "")), d
        if d["ActionID"] in ("drv-47", "drv-48"):  # final queue show: counters as recorded
            want, got = d["Output"][0], m.headers["Output"][0]
            assert re.sub(r"\(\d+s holdtime, \d+s talktime\)", "", got) == re.sub(
                r"\(\d+s holdtime, \d+s talktime\)", "", want
            )


async def test_a_replay_is_the_same_replay_every_time() -> None:
    """On the virtual clock the replay does not depend on the machine's load: byte for byte."""
    first = await replay("wrapup")
    await asyncio.sleep(0.05)  # a different moment of the event loop changes nothing
    assert await replay("wrapup") == first
