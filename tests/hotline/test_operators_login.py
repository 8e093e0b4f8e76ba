"""The embedded PBX's operators log in as on a real site: ``QueueAdd`` through the gateway
the composition root builds, once the AMI link is up and before any caller arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config.settings import Settings
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig

pytestmark = pytest.mark.e2e

SEATS = ["Local/8001@agents/n", "Local/8002@agents/n", "Local/8003@agents/n"]


async def test_simulated_operators_log_in_through_the_gateway(tmp_path: Path) -> None:
    rt = Runtime(
        Settings(_env_file=None, spool_dir=tmp_path / "spool"),
        database_url=f"sqlite:///{tmp_path / 'login.db'}",
        simulation=SimulatorConfig(seats=3, speed=600.0, seed=5, ivr=False),
        agi_port=0,
    )
    await rt.start()
    try:
        assert rt.gateway is not None and rt.simulator is not None
        # Asterisk's QueueMemberAdded came before each QueueAdd's answer: the seats are known
        assert sorted(rt.controller.seats.seats) == SEATS
        state = await rt.gateway.queue_status("hotline")
        assert [m.interface for m in state.members] == SEATS  # the ring order is the seats'
        queue = rt.simulator.core.queues["hotline"]
        assert {m.membership for m in queue.members.values()} == {"dynamic"}
        # an operator logs out
        await rt.gateway.remove_member("hotline", SEATS[2])
        for _ in range(200):
            if SEATS[2] not in rt.controller.seats.seats:
                break
            await asyncio.sleep(0.01)
        assert sorted(rt.controller.seats.seats) == SEATS[:2]
        assert SEATS[2].lower() not in queue.members
    finally:
        await rt.stop()
