"""End to end: the database goes away in the middle of a day and comes back.

Tickets of the calls that end meanwhile wait in the spool on disk and are written exactly
once when the database answers again; ``/readyz`` and ``hotline_db_up`` tell the outage.
The outage is a TCP proxy between the backend and PostgreSQL that the test cuts and restores,
so this needs the PostgreSQL half (``HOTLINE_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from config.settings import Settings
from hotline.app import create_app
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig, TrafficSpec
from tickets import service

pytestmark = pytest.mark.e2e

EPOCH = 1_800_000_000.0


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 that can be cut (every connection closed, no new ones) and
    restored on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        w.close()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection(*self.target)
        self.writers |= {w, uw}
        await asyncio.gather(self._pipe(r, uw), self._pipe(ur, w))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.close()
        self.writers.clear()
        await self.server.wait_closed()


def samples(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


async def test_a_database_outage_loses_no_ticket_and_writes_each_once(
    migrated_url: str, tmp_path: Path
) -> None:
    if not migrated_url.startswith("postgresql"):
        pytest.skip("needs a database over the network to cut (the PostgreSQL half)")
    parts = urlsplit(migrated_url)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0] + "@" if len(netloc) == 2 else ""
    url = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    settings = Settings(_env_file=None, spool_dir=tmp_path / "spool", action_timeout_s=1.0)
    rt = Runtime(
        settings,
        database_url=url,
        simulation=SimulatorConfig(
            seats=6, speed=400.0, seed=3, ring_time_s=1.0, wrapup_s=0.0, ivr=False
        ),
        agi_port=0,
    )
    await rt.start()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://t"
    )
    try:
        assert rt.simulator is not None and rt.writer is not None
        done = rt.simulator.run_traffic(
            TrafficSpec(calls=120, hours=0.1, patience_mean_s=600.0, talk_mean_s=60.0)
        )
        await asyncio.sleep(0.3)
        await proxy.cut()
        # Calls keep ending while the database is away.
        for _ in range(300):
            if rt.writer.spooled:
                break
            await asyncio.sleep(0.02)
        assert rt.writer.spooled > 0, "no ticket went to the spool during the outage"
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["database"] is False
        assert samples((await client.get("/metrics")).text)["hotline_db_up"] == 0
        await asyncio.wait_for(done, 60)
        await proxy.start()  # the database answers again, on the same address
        await rt.settle(timeout=60)
        answered = rt.controller.calls.totals().answered
        assert rt.sessions is not None
        async with rt.sessions() as s:
            stored = await service.count_tickets(s)
        assert stored == answered > 0  # none lost, none twice (unique per answered call)
        assert rt.spool is not None and rt.spool.count() == 0
        r = await client.get("/readyz")
        assert r.status_code == 200
        assert samples((await client.get("/metrics")).text)["hotline_db_up"] == 1
    finally:
        await client.aclose()
        await rt.stop()
        with contextlib.suppress(Exception):
            await proxy.cut()
