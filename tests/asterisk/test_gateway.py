"""Every gateway action (``pbx/gateway.py``) against the real Asterisk, sent over the
controller's own link: the typed result, Asterisk's exact error as an ``AmiActionError``,
and the events it causes on the controller's seat board."""

from __future__ import annotations

import contextlib

import pytest

from pbx.ami import AmiActionError
from pbx.gateway import AmiGateway

from .people import Caller, add_seats, call, eventually, seat_interface, wait_until

pytestmark = pytest.mark.asterisk

Q = "hotline"
S1 = seat_interface(8001)


async def _error(coro) -> str:
    with pytest.raises(AmiActionError) as err:
        await coro
    return err.value.message


async def _penalty(gw: AmiGateway, interface: str) -> str:
    r = await gw.link.action({"Action": "QueueStatus", "Queue": Q}, kind="list")
    for f in r.items:
        if f.event == "QueueMember" and f.get("Location") == interface:
            return f.get("Penalty")
    return ""


async def test_member_actions_and_the_seat_board(runtime) -> None:
    gw = AmiGateway(runtime.link)
    board = runtime.controller.seats

    await gw.add_member(
        Q, S1, member_name="座席8001", penalty=3, state_interface="Local/8001@agents"
    )
    await eventually(lambda: S1 in board.seats, what="QueueMemberAdded on the board")
    seat = board.seats[S1]
    assert seat.name == "座席8001" and seat.queues == {Q}
    assert seat.state(runtime.now()) == "ready"
    status = await gw.queue_status(Q)
    (m,) = [m for m in status.members if m.interface == S1]
    assert m.member_name == "座席8001" and m.state_interface == "Local/8001@agents"
    assert await _penalty(gw, S1) == "3"

    assert await _error(gw.add_member(Q, S1)) == "Unable to add interface: Already there"
    assert await _error(gw.add_member("nosuchqueue", S1)) == (
        "Unable to add interface to queue: No such queue"
    )

    await gw.set_penalty(Q, S1, 5)
    assert await _penalty(gw, S1) == "5"

    await gw.pause_member(S1, True, queue=Q, reason="午休")
    await eventually(lambda: seat.state(runtime.now()) == "paused", what="QueueMemberPause")
    assert seat.paused_reason == "午休"
    (m,) = [m for m in (await gw.queue_status(Q)).members if m.interface == S1]
    assert m.paused and m.paused_reason == "午休"
    assert await _error(gw.pause_member("Local/9999@agents/n", True)) == "Interface not found"
    await gw.pause_member(S1, False, queue=Q)
    await eventually(lambda: seat.state(runtime.now()) == "ready", what="the unpause")

    await gw.remove_member(Q, S1)
    await eventually(lambda: S1 not in board.seats, what="QueueMemberRemoved")
    assert await _error(gw.remove_member(Q, S1)) == "Unable to remove interface: Not there"


async def test_originate_setvar_getvar_redirect_hangup(runtime) -> None:
    gw = AmiGateway(runtime.link)
    ok = await gw.originate(
        "Local/s@parked", context="parked", exten="s", variables={"TAG": "甲"}, wait=True
    )
    assert ok.queued and ok.success and ok.reason == 4 and ok.uniqueid
    missing = await gw.originate("Local/nowhere@parked", context="parked", exten="s", wait=True)
    assert missing.queued and missing.success is False and missing.reason == 0
    assert missing.uniqueid is None
    queued = await gw.originate("Local/s@parked", context="parked", exten="s")
    assert queued.queued and queued.success is None

    chans = await wait_until(
        lambda: _channels_with(gw, "Local/s@parked"), 10, "the parked channels"
    )
    name = chans[0].channel
    await gw.setvar("NOTE", "市民来电", channel=name)
    assert await gw.getvar("NOTE", channel=name) == "市民来电"
    assert await gw.getvar("UNSET_VARIABLE", channel=name) == ""
    await gw.setvar("HOTLINE_GLOBAL", "1")
    assert await gw.getvar("HOTLINE_GLOBAL") == "1"
    assert await _error(gw.getvar("NOTE", channel="SIP/nobody-00000000")) == "No such channel"
    assert await _error(gw.setvar("N", "1", channel="SIP/nobody-00000000")) == "No such channel"

    await gw.redirect(name, context="redirected", exten="s")
    await wait_until(lambda: _getvar_or_none(gw, "REDIRECTED", name), 10, "the redirected channel")
    assert await _error(gw.redirect("SIP/nobody-00000000", context="redirected", exten="s")) == (
        "Channel does not exist: SIP/nobody-00000000"
    )

    await gw.hangup(name, cause=16)

    async def gone() -> bool:
        try:
            await gw.getvar("NOTE", channel=name)
        except AmiActionError as e:
            return e.message == "No such channel"
        return False

    await wait_until(gone, 10, "the hung-up channel to go")

    async def all_hung_up() -> bool:
        for c in await gw.channels():  # the other originated calls
            if c.channel.endswith(";1"):  # (the ;2 half goes with it)
                with contextlib.suppress(AmiActionError):  # already going
                    await gw.hangup(c.channel)
        return not await gw.channels()

    await wait_until(all_hung_up, 10, "every channel hung up")
    assert await _error(gw.hangup("SIP/nobody-00000000")) == "No such channel"


async def test_hanging_up_a_talking_caller_frees_the_seat_and_writes_the_ticket(
    runtime, driver
) -> None:
    gw = AmiGateway(runtime.link)
    board = runtime.controller.seats
    await add_seats(gw, [8001])
    await call(driver, Caller("王芳", "13900000001", talk=60))
    calls = runtime.controller.calls
    await eventually(lambda: bool(calls.talking), 20, "the call to be answered")
    seat = board.seats[S1]
    assert seat.state(runtime.now()) == "on_call"
    (c,) = calls.talking.values()
    chans = [x for x in await gw.channels() if x.uniqueid == c.uniqueid]
    await gw.hangup(chans[0].channel)
    await eventually(lambda: not calls.talking, 10, "the call to end")
    assert seat.state(runtime.now()) == "wrapup" and seat.calls_taken == 1
    assert calls.stats[Q].answered == 1 and runtime.writer is not None


async def _channels_with(gw: AmiGateway, prefix: str):
    return [c for c in await gw.channels() if c.channel.startswith(prefix)]


async def _getvar_or_none(gw: AmiGateway, var: str, channel: str):
    return (await gw.getvar(var, channel=channel)) == "yes"
