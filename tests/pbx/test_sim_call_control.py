"""The embedded PBX's side of call control, as the shipped dialplan has it
(pbx/asterisk/extensions.conf): a supervisor's phone originated into ``[hotline-spy]``
(ChanSpyStart/ChanSpyStop with the Spyer/Spyee channel blocks of ``manager_channels.c``; the
spy ends with the spied-on channel, option E, or at once with nothing to spy on, option S),
and a talking caller redirected into ``[hotline-transfer]`` (straight into the queue, no
IVR; a department's number with no trunk goes to the default queue)."""

from __future__ import annotations

from pbx.simulator.config import QueueConfig
from tests.pbx.test_simulator_core import arrive, make, until

SEAT = "Local/8001@agents/n"
PHONE = "Local/8009@agents/n"


def _named(events, name: str) -> list[dict[str, str]]:
    return [e for e in events if e["Event"] == name]


def _spy_on_8001(core, mode: str, responses: list[dict[str, str]]) -> None:
    """What the API sends: the supervisor's phone into hotline-spy,<mode>."""
    core.originate(
        PHONE,
        context="hotline-spy",
        exten=mode,
        variables={"SPY_TARGET": "Local/8001@agents-"},
        on_response=responses.append,
    )


async def test_chanspy_on_a_talking_seat_starts_and_stops_with_its_call() -> None:
    sim, events = make(seats=1)
    core = sim.core
    box = arrive(sim, 1.0, "13800001234", "张三", talk=30.0)
    await until(lambda: core.devices and any(d.call for d in core.devices.values()))
    responses: list[dict[str, str]] = []
    assert core.extension_exists("hotline-spy", "listen")
    assert not core.extension_exists("hotline-spy", "shout")
    _spy_on_8001(core, "whisper", responses)
    await until(lambda: bool(_named(events, "ChanSpyStart")))
    assert responses[0]["Response"] == "Success"
    assert responses[0]["Channel"].startswith("Local/8009@agents-")
    start = _named(events, "ChanSpyStart")[0]
    assert start["SpyerChannel"] == responses[0]["Channel"]
    assert start["SpyerUniqueid"] == responses[0]["Uniqueid"]
    assert start["SpyeeChannel"].startswith("Local/8001@agents-")  # not .../n-
    assert start["SpyeeChannel"].endswith(";2")  # the seat's side, as the real one chose
    assert start["SpyeeLinkedid"] == box["caller"].chan1.uniqueid  # the call's thread
    assert start["Privilege"] == "call,all"
    await until(lambda: sim.stats["finished"] == 1)
    await until(lambda: bool(_named(events, "ChanSpyStop")))
    stop = _named(events, "ChanSpyStop")[0]
    assert stop["SpyerChannel"] == start["SpyerChannel"]
    names = [e["Event"] for e in events]
    spyer_hangups = [
        i
        for i, e in enumerate(events)
        if e["Event"] == "Hangup" and e["Channel"].startswith("Local/8009@agents-")
    ]
    assert len(spyer_hangups) == 2 and names.index("ChanSpyStop") < spyer_hangups[0]
    assert not [n for n in core.channels if n.startswith("Local/8009")]
    await sim.stop()


async def test_chanspy_with_nothing_to_spy_on_hangs_up_and_a_bad_phone_fails() -> None:
    sim, events = make(seats=1)
    core = sim.core
    responses: list[dict[str, str]] = []
    _spy_on_8001(core, "listen", responses)
    await until(lambda: len(_named(events, "Hangup")) == 2)
    assert responses[0]["Response"] == "Success" and not _named(events, "ChanSpyStart")
    core.originate(
        "SIP/nowhere", context="hotline-spy", exten="listen", on_response=responses.append
    )
    assert responses[1]["Response"] == "Failure" and responses[1]["Uniqueid"] == "<unknown>"
    await sim.stop()


async def test_a_redirect_into_hotline_transfer_joins_the_queue_without_the_ivr() -> None:
    sim, events = make(
        seats=2,
        queues=(QueueConfig("hotline"), QueueConfig("xiaoshan")),
        ivr_time_s=0.0,
    )
    core = sim.core
    box = arrive(sim, 1.0, "13800001234", "张三", talk=60.0)
    await until(lambda: bool(_named(events, "AgentConnect")))
    c2 = box["caller"].chan2
    assert core.extension_exists("hotline-transfer", "qxiaoshan")
    assert core.extension_exists("hotline-transfer", "d057187000000")
    assert not core.extension_exists("hotline-transfer", "s")
    assert core.redirect(c2.name, "hotline-transfer", "qxiaoshan") == ""
    joins = _named(events, "QueueCallerJoin")
    assert [j["Queue"] for j in joins] == ["hotline", "xiaoshan"]
    assert joins[1]["Uniqueid"] == c2.uniqueid and joins[1]["Linkedid"] == joins[0]["Linkedid"]
    assert joins[1]["Context"] == "hotline-transfer"
    # a department's number: no trunk here, so the default queue, as the dialplan does
    assert box["caller"].state == "waiting"  # xiaoshan has no one
    assert core.redirect(c2.name, "hotline-transfer", "d057187000000") == ""
    assert [j["Queue"] for j in _named(events, "QueueCallerJoin")][-1] == "hotline"
    await sim.stop()
