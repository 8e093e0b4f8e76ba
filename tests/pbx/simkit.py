"""Helpers for tests that drive the embedded PBX in process (no sockets)."""

from __future__ import annotations

import asyncio

from pbx.simulator import Simulator, SimulatorConfig

EPOCH = 1_800_000_000.0


def make(**kw):
    """A simulator (one seat, ringing 1 s, no wrap-up unless given) and the list its events
    are appended to."""
    cfg = dict(seats=1, speed=1000.0, seed=7, epoch=EPOCH, wrapup_s=0.0, ring_time_s=1.0)
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
