"""Holding the embedded PBX's virtual clock while real I/O (the IVR's FastAGI) runs."""

from __future__ import annotations

import asyncio
import time

from pbx.simulator.clock import ScaledClock
from pbx.simulator.desclock import DesClock


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


def test_the_discrete_event_clock_holds_too() -> None:
    """Both clocks are a ``Clock``: on the discrete-event one a hold stops the run there."""
    clock = DesClock(epoch=1000.0)
    ran: list[float] = []
    for t in (1001.0, 1005.0):
        clock.call_at(t, lambda: ran.append(clock.now()))
    token = clock.hold(1002.0)
    clock.run_until_idle()
    assert ran == [1001.0]
    assert clock.next_at() == 1005.0
    clock.release(token)
    clock.release(token)  # idempotent
    clock.run_until_idle()
    assert ran == [1001.0, 1005.0]


async def test_a_hold_placed_in_a_late_batch_stops_that_batch() -> None:
    """When the event loop lags, one batch may cover a long stretch of virtual time; a hold
    placed by a callback of that batch still stops the callbacks after it."""
    clock = ScaledClock(speed=1000.0, epoch=0.0)
    ran: list[str] = []
    tokens: list[int] = []
    clock.call_at(1.0, lambda: (ran.append("a"), tokens.append(clock.hold(2.0))))
    clock.call_at(3.0, lambda: ran.append("b"))
    time.sleep(0.02)  # noqa: ASYNC251 -- block the loop: 20 virtual seconds late
    await asyncio.sleep(0.01)
    assert ran == ["a"]
    clock.release(tokens[0])
    await asyncio.sleep(0.01)
    assert ran == ["a", "b"]
