"""Holding the embedded PBX's virtual clock while real I/O (the IVR's FastAGI) runs."""

from __future__ import annotations

import asyncio
import time

from pbx.simulator.clock import ScaledClock


async def test_time_stops_at_a_hold_and_goes_on_from_there() -> None:
    clock = ScaledClock(speed=100.0, epoch=1000.0)
    ran: list[float] = []
    clock.call_at(1005.0, lambda: ran.append(clock.now()))
    token = clock.hold(1002.0)
    await asyncio.sleep(0.05)  # 5 virtual seconds if time ran
    assert clock.now() <= 1002.0
    assert ran == []
    clock.release(token)
    assert clock.now() < 1002.5  # no jump over the time that stood still
    await asyncio.sleep(0.06)
    assert ran == [1005.0]
    clock.close()


async def test_a_hold_in_the_future_does_not_stop_earlier_callbacks() -> None:
    clock = ScaledClock(speed=1000.0, epoch=0.0)
    ran: list[str] = []
    clock.call_at(1.0, ran.append, "early")
    clock.call_at(9.0, ran.append, "late")
    token = clock.hold(5.0)
    await asyncio.sleep(0.03)
    assert ran == ["early"]
    clock.release(token)
    clock.release(token)  # idempotent
    await asyncio.sleep(0.02)
    assert ran == ["early", "late"]
    clock.close()


async def test_a_hold_put_inside_a_lagging_batch_stops_the_rest_of_the_batch() -> None:
    """The loop lags (all four callbacks are due at once): the first one puts a hold at 2.0;
    the callback at 3.0 must wait for the release, as it would on a loop that keeps up."""
    clock = ScaledClock(speed=1000.0, epoch=0.0)
    ran: list[float] = []
    tokens: list[int] = []
    clock.call_at(1.0, lambda: tokens.append(clock.hold(2.0)))
    clock.call_at(1.5, lambda: ran.append(clock.now()))
    clock.call_at(3.0, lambda: ran.append(clock.now()))
    time.sleep(0.02)  # noqa: ASYNC251 (on purpose: the loop lags 20 virtual seconds)
    await asyncio.sleep(0)
    await asyncio.sleep(0.005)
    assert ran == [1.5]
    clock.call_at(2.0, lambda: ran.append(clock.now()))  # what the hold waited for
    clock.release(tokens[0])
    await asyncio.sleep(0.01)
    assert ran == [1.5, 2.0, 3.0]
    clock.close()
