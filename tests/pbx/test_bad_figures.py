"""A malformed statistics figure (``HoldTime``, ``TalkTime``...) leaves that figure out, never
the event: the call still moves on, and the figure is counted as ``bad_value``."""

from __future__ import annotations

import asyncio

import pytest

from agents.operator import SimulatedOperator
from hotline.controller import Controller
from pbx import events as ev
from pbx.ami import AmiLink
from pbx.codec import Frame, encode_message
from pbx.simulator import Simulator, SimulatorConfig
from pbx.simulator.faults import Faults

EPOCH = 1_800_000_000.0
Q = "hotline"
IFACE = "Local/8001@agents/n"


def frame(**h: str) -> Frame:
    return Frame(dict(h))


def connect(hold: str) -> Frame:
    return frame(Event="AgentConnect", Queue=Q, Uniqueid="1.7", Interface=IFACE, HoldTime=hold)


@pytest.mark.parametrize(("value", "problem"), [("-5", "negative"), ("abc", "not a whole")])
def test_a_bad_hold_time_leaves_only_the_figure_out(value: str, problem: str) -> None:
    bad: list[ev.BadEvent] = []
    e = ev.translate(connect(value), 5.0, bad)
    assert type(e) is ev.AgentConnected and e.uniqueid == "1.7" and e.interface == IFACE
    assert e.hold_time is None and e.ring_time is None  # bad, and absent
    assert [(b.event, b.field, b.reason) for b in bad] == [
        ("AgentConnect", "HoldTime", "bad_value")
    ]
    assert problem in str(bad[0]) and value not in str(bad[0])  # names the field, not the value


def test_other_figures_and_the_timestamp() -> None:
    bad: list[ev.BadEvent] = []
    e = ev.translate(
        frame(
            Event="AgentComplete",
            Queue=Q,
            Uniqueid="1.7",
            Interface=IFACE,
            HoldTime="3",
            TalkTime="-1",
            Timestamp="nan",
        ),
        42.0,
        bad,
    )
    assert type(e) is ev.AgentCompleted and e.hold_time == 3 and e.talk_time is None
    assert e.at == 42.0  # the receive time stands in for an unusable Timestamp
    assert sorted(b.field for b in bad) == ["TalkTime", "Timestamp"]
    bad.clear()
    h = ev.translate(frame(Event="Hangup", Uniqueid="1.7", Cause="x"), 1.0, bad)
    assert type(h) is ev.ChannelHungUp and h.cause is None and len(bad) == 1
    bad.clear()
    entry = ev.snapshot_item(
        frame(Event="QueueEntry", Queue=Q, Uniqueid="1.8", Wait="-4", Position="1"), 1.0, bad
    )
    assert type(entry) is ev.QueueEntry and entry.wait is None and entry.position == 1
    assert [b.field for b in bad] == ["Wait"]
    # without a list to report into, the figure is left out all the same
    assert ev.translate(connect("-5"), 5.0).hold_time is None  # type: ignore[union-attr]
    # a field the event cannot happen without still rejects it
    with pytest.raises(ev.BadEvent, match="Interface missing"):
        ev.translate(frame(Event="AgentConnect", Queue=Q, Uniqueid="1.7"), 1.0, bad)


async def test_the_answered_call_stays_in_the_books_over_the_wire() -> None:
    """Through the real frame path (embedded PBX, TCP, codec, link, controller): a call whose
    AgentConnect has ``HoldTime: -3`` and whose AgentComplete has ``TalkTime: abc`` is offered,
    answered and ended with its ticket; the two figures are counted as ``bad_value``."""
    sim = Simulator(SimulatorConfig(seats=1, speed=1.0, epoch=EPOCH))
    await sim.start(host="127.0.0.1", port=0)
    tickets: list = []
    rejected: list[str] = []
    c = Controller(operator=SimulatedOperator(resolve_share=0.5, seed=0), on_ticket=tickets.append)
    link = AmiLink(
        host="127.0.0.1",
        port=sim.port,
        username="hotline",
        secret=sim.secret,
        on_event=c.handle,
        on_rejected=rejected.append,
        on_snapshot=c.reconcile,
    )
    try:
        await link.connect(timeout=3)
        t = EPOCH + 10
        common = {"Queue": Q, "Uniqueid": "9.1", "Linkedid": "9.1"}
        frames = [
            {"Event": "QueueCallerJoin", **common, "CallerIDNum": "13800001234", "Position": "1"},
            {"Event": "AgentConnect", **common, "Interface": IFACE, "HoldTime": "-3"},
            {"Event": "AgentComplete", **common, "Interface": IFACE, "TalkTime": "abc"},
        ]
        for i, h in enumerate(frames):
            Faults(sim).garbage(encode_message({**h, "Timestamp": f"{t + i:.6f}"}))
        await link.ping()  # every frame sent before the Ping's answer has been applied
        st = c.calls.stats[Q]
        assert (st.offered, st.answered, st.abandoned) == (1, 1, 0)
        assert st.wait_total_s == pytest.approx(1.0)  # from the event times, not HoldTime
        assert not c.calls.talking and len(tickets) == 1
        assert tickets[0].call_uniqueid == "9.1" and tickets[0].seat == IFACE
        assert rejected.count("bad_value") == 2
    finally:
        await link.close()
        await sim.stop()
    await asyncio.sleep(0)
