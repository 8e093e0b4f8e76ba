"""Helpers for tests that drive the embedded PBX in process (no sockets)."""

from __future__ import annotations

import asyncio

from pbx.simulator import Simulator, SimulatorConfig
from pbx.simulator.desclock import DesClock

EPOCH = 1_800_000_000.0


def make(**kw):
    """A simulator (one seat, ringing 1 s, no wrap-up unless given; AGI steps, when a test
    sets them, take their real time) and the list its events are appended to."""
    cfg = dict(seats=1, speed=1000.0, seed=7, epoch=EPOCH, wrapup_s=0.0, ring_time_s=1.0)
    cfg.update(ivr_time_s=0.0, survey_time_s=0.0)
    cfg.update(kw)
    sim = Simulator(SimulatorConfig(**cfg))
    events: list[dict[str, str]] = []
    sim.subscribe(events.append)
    return sim, events


async def until(pred, within: float = 5.0) -> None:
    """Wait (real time) until ``pred()`` holds; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not pred():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.002)


async def run_virtual(sim: Simulator, clock: DesClock, until: float) -> None:
    """Run ``sim`` on its discrete-event clock up to virtual time ``until``, one callback at a
    time; after each, the event loop runs until no AGI step (a coroutine of the test) is in
    flight, so its result lands at the virtual time it started at, however busy the machine."""
    while (nxt := clock.next_at()) is not None and nxt <= until:
        clock.step()
        # The runner's own done-callback (which hands the result to the core) runs before
        # the wait's, so once the wait is over every result is on the clock.
        in_flight = {c.agi_session for c in sim.core.owners.values() if c.agi_session}
        if in_flight:
            await asyncio.wait(in_flight)  # type: ignore[arg-type]
    clock.run_until(until)
