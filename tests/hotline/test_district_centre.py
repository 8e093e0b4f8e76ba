"""A district's controller (HOTLINE_CENTRE=xiaoshan) over its embedded PBX: the PBX numbers
its calls as an Asterisk of systemname xiaoshan would, every ticket carries the centre, and
every live series says which centre it is from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from config.settings import Settings
from hotline.app import create_app
from hotline.runtime import Runtime, simulator_config
from pbx.simulator import TrafficSpec
from tickets.models import Ticket

pytestmark = pytest.mark.e2e


def test_only_a_district_numbers_its_embedded_calls_with_a_systemname() -> None:
    assert simulator_config(Settings(_env_file=None)).systemname == ""  # as before centres
    assert simulator_config(Settings(_env_file=None, centre="xiaoshan")).systemname == "xiaoshan"


@pytest_asyncio.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(_env_file=None, centre="xiaoshan", sim_operators=False)
    simulation = replace(
        simulator_config(settings), seats=8, speed=600.0, seed=5, ring_time_s=2.0, wrapup_s=5.0
    )
    rt = Runtime(
        settings,
        database_url=f"sqlite:///{tmp_path / 'district.db'}",
        simulation=simulation,
        agi_port=0,
    )
    await rt.start()
    yield rt
    await rt.stop()


async def test_a_districts_calls_tickets_and_series_carry_its_centre(runtime: Runtime) -> None:
    done = runtime.simulator.run_traffic(
        TrafficSpec(calls=12, hours=0.05, patience_mean_s=600.0, talk_mean_s=30.0)
    )
    await asyncio.wait_for(done, 30)
    await runtime.settle()
    async with runtime.sessions() as session:
        rows = (await session.execute(select(Ticket.centre, Ticket.call_uniqueid))).all()
    assert len(rows) == runtime.controller.calls.totals().answered > 0
    assert {centre for centre, _ in rows} == {"xiaoshan"}
    assert all(uid.startswith("xiaoshan-") for _, uid in rows)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        text = (await client.get("/metrics")).text
    centres = {
        s.labels.get("centre") for f in text_string_to_metric_families(text) for s in f.samples
    }
    assert centres == {"xiaoshan"}
