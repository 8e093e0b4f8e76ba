"""The early warning in the store (SQLite and PostgreSQL): a normal simulated day of the
city's tickets with a seeded burst on one matter in one district; the job, run through the
day at its interval, raises both within a stated time, names them, and posts one alert and
one clearing each to a local HTTP receiver; on the same tickets held in memory it decides the
same (the counts the false-alarm figures are made with are the store's)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import insert

from bench.early_warning import (
    CityMix,
    MemoryCounts,
    SimTicket,
    burst_tickets,
    false_alarms,
    ticket_day,
    watch_day,
)
from config.catalogue import load_catalogue
from config.settings import CONFIG_DIR
from config.traffic import HOTLINE_TZ
from hotline.early_warning_job import EarlyWarningJob, names_from
from metrics.burst_series import BurstSeries
from tickets.burst_counts import store_counts
from tickets.bursts import Key, Rule
from tickets.db import session_factory
from tickets.models import Ticket

DAY = date(2026, 11, 26)  # a Thursday
BURST_AT = datetime(2026, 11, 26, 7, 30, tzinfo=HOTLINE_TZ).timestamp()
#: A water main bursts in Tonglu at 07:30: 60 tickets in 30 minutes on the 50th most asked
#: matter (Tonglu has about 14 tickets an hour then, 66 at 10:30).
BURST_SIZE, BURST_MINUTES = 60, 30.0
#: Raised within (from the burst's first ticket): the matter, the district.
MATTER_WITHIN_S, DISTRICT_WITHIN_S = 20 * 60, 45 * 60
BASELINE_DAYS = 5  # working days: a week of history (the default, 14, in the figures)


class Receiver:
    """A webhook on a local port: each POST's JSON body, answered 204."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/alerts"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    int(line.split(":", 1)[1])
                    for line in lines
                    if line.lower().startswith("content-length:")
                )
                self.bodies.append(json.loads(await reader.readexactly(length)))
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _the_tickets(mix: CityMix) -> tuple[list[SimTicket], Key, Key]:
    tickets: list[SimTicket] = []
    for back in range(7, -1, -1):
        tickets += ticket_day(DAY - timedelta(days=back), mix, seed=3)
    matter = mix.matter_of_rank(50)
    tickets += burst_tickets(BURST_AT, BURST_MINUTES, BURST_SIZE, matter, "tonglu")
    return tickets, Key("matter", matter), Key("district", "tonglu")


async def _store(sessions, tickets: list[SimTicket]) -> None:
    rows = [
        {
            "number": f"S{i:09d}",
            "channel": "phone",
            "kind": "complaint",
            "status": "resolved",
            "resolved_on_call": True,
            "created_at": datetime.fromtimestamp(t.at, UTC),
            "matter": t.matter,
            "district": t.district,
        }
        for i, t in enumerate(tickets)
    ]
    async with sessions() as s, s.begin():
        for i in range(0, len(rows), 5000):
            await s.execute(insert(Ticket), rows[i : i + 5000])


def _job(counts, clock: list[float], webhooks: dict[str, str]) -> EarlyWarningJob:
    return EarlyWarningJob(
        counts,
        lambda: clock[0],
        webhooks,
        rule=Rule(),
        baseline_days=BASELINE_DAYS,
        interval_s=300.0,
        names=names_from(load_catalogue(CONFIG_DIR)),
        first_backoff_s=0.01,
    )


async def test_a_seeded_burst_in_a_normal_day_is_raised_named_and_posted(engine) -> None:
    mix = CityMix.load()
    tickets, matter, district = _the_tickets(mix)
    sessions = session_factory(engine)
    await _store(sessions, tickets)
    clock = [0.0]
    receiver = Receiver()
    async with receiver as url:
        job = _job(store_counts(lambda: sessions), clock, {"*": url})
        registry = CollectorRegistry()
        registry.register(BurstSeries(job))
        try:
            changes = await watch_day(job, clock, DAY)
            await asyncio.wait_for(job.drain(), 10)
        finally:
            await job.stop()
    started = {c.burst.key: c.at - BURST_AT for c in changes if c.state == "started"}
    assert set(started) == {matter, district}, "the burst's two keys, and no false alarm"
    assert 0 < started[matter] <= MATTER_WITHIN_S
    assert 0 < started[district] <= DISTRICT_WITHIN_S
    ended = {c.burst.key for c in changes if c.state == "ended"}
    assert ended == {matter, district}, "both end before the day does"

    # one alert and one clearing per burst, each naming it
    by_key = {(b["dimension"], b["key"], b["state"]): b for b in receiver.bodies}
    assert len(receiver.bodies) == 4 and len(by_key) == 4
    alert = by_key[("matter", matter.value, "started")]
    assert alert["name"] == load_catalogue(CONFIG_DIR).matters[matter.value].name
    assert alert["count"] >= 10 and alert["count"] >= 2 * alert["baseline_mean"]
    assert alert["baseline_days"] == BASELINE_DAYS and alert["p_value"] < 1e-7
    assert alert["window_s"] == 3600 and alert["ended_at"] is None
    clearing = by_key[("district", "tonglu", "ended")]
    assert clearing["name"] == "桐庐县" and clearing["ended_at"] is not None
    assert clearing["started_at"] == by_key[("district", "tonglu", "started")]["started_at"]
    assert not any(
        "caller" in k or "phone" in k or "ticket" == k for b in receiver.bodies for k in b
    )

    text = generate_latest(registry).decode()
    assert 'hotline_ticket_bursts_total{dimension="matter"} 1.0' in text
    assert 'hotline_ticket_bursts_total{dimension="district"} 1.0' in text
    assert 'hotline_ticket_bursts_active{dimension="matter"} 0.0' in text
    assert "hotline_early_warning_alerts_sent_total 4.0" in text

    # the same tickets counted in memory (as the false-alarm figures are): the same decisions
    clock = [0.0]
    memory = _job(MemoryCounts(tickets), clock, {})
    try:
        again = await watch_day(memory, clock, DAY)
    finally:
        await memory.stop()
    assert [(c.state, c.burst.key, c.at) for c in again] == [
        (c.state, c.burst.key, c.at) for c in changes
    ]


async def test_the_metric_shows_a_burst_while_it_lasts() -> None:
    """Checked at the burst's height, the gauge counts it, per dimension."""
    mix = CityMix.load()
    tickets, _matter, _district = _the_tickets(mix)
    clock = [BURST_AT + 45 * 60]
    job = _job(MemoryCounts(tickets), clock, {})
    registry = CollectorRegistry()
    registry.register(BurstSeries(job))
    try:
        await job.check_once()
    finally:
        await job.stop()
    assert registry.get_sample_value("hotline_ticket_bursts_active", {"dimension": "matter"}) == 1
    assert registry.get_sample_value("hotline_ticket_bursts_active", {"dimension": "district"}) == 1


@pytest.mark.slow
async def test_false_alarms_on_normal_days_stay_under_the_bound() -> None:
    """Fourteen normal days (the city's volume, each day and each matter's share varying
    more than chance alone): at most 0.5 false alarms a day with the default settings
    (``make bench`` counts 30 days)."""
    tickets, alarms = await false_alarms(date(2026, 10, 12), 14, seed=11)
    assert tickets > 14 * 8000
    assert len(alarms) <= 7, [(c.burst.key, c.latest.count, c.latest.expected) for c in alarms]
