"""Early warning on simulated days of tickets: false alarms per normal day and the delay to
detect a seeded burst, through the job of ``hotline serve`` (``hotline/early_warning_job.py``)
with its default settings, checking at its interval through each day.

**A normal day of tickets** (:func:`ticket_day`): the city's volume and hourly profile for the
day's kind (working day, weekend, holiday; ``config/traffic.yaml``: 14,000 on a working day),
arrivals a Poisson process within each hour; the district of each ticket drawn from the IVR's
district shares of the same file; its matter from the catalogue (``config/matters.csv``) with
a long-tailed popularity (weight ``1 / (rank + 5)`` over a seeded order: the most asked matter
about 4% of tickets). Real days vary more than Poisson: each day's volume is scaled by a
normal factor (sd 8%) and each matter's share by a gamma factor (sd 20%), so the baseline's
noise is not flattered.

**A burst** (:func:`burst_tickets`): ``size`` more tickets on one matter in one district,
spread evenly over ``minutes`` from a given time (a water main bursting in Fuyang).

Figures (``run(results)`` adds ``results["early_warning"]``; ``python -m bench.early_warning``
alone): false alarms per normal day over ``DAYS`` days (bursts started on days with no
injected burst), and the detection delay (from the burst's first ticket to the check that
raises it) of seeded bursts at several hours, per dimension. A figure, not a test.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from config.catalogue import load_catalogue
from config.settings import CONFIG_DIR
from config.traffic import HOTLINE_TZ, TrafficModel, load_traffic
from tickets.burst_counts import Window
from tickets.bursts import Change, Dimension, Key

__all__ = [
    "CityMix",
    "MemoryCounts",
    "SimTicket",
    "burst_tickets",
    "run",
    "ticket_day",
    "watch_day",
]

#: Normal days whose false alarms are counted.
DAYS = 30
#: The seeded bursts: tickets in 30 minutes, on one matter in Tonglu, at these hours.
BURST_SIZE = 60
BURST_HOURS = (7.5, 10.5, 15.25, 20.0)
#: Days of history before the first counted day (the baseline needs 14 of today's kind).
WARMUP_DAYS = 28


@dataclass(frozen=True, slots=True)
class SimTicket:
    at: float  # UTC epoch seconds
    matter: str
    district: str


@dataclass(frozen=True)
class CityMix:
    """What a day of tickets looks like in the city (module text)."""

    model: TrafficModel
    districts: tuple[str, ...]
    district_weights: tuple[float, ...]
    matters: tuple[str, ...]
    matter_weights: tuple[float, ...]

    @classmethod
    def load(cls, config_dir: Path = CONFIG_DIR, seed: int = 0) -> CityMix:
        model = load_traffic(config_dir)
        shares = model.ivr["district"]
        matters = sorted(load_catalogue(config_dir).matters)
        random.Random(f"{seed}/matter-order").shuffle(matters)
        return cls(
            model,
            tuple(shares),
            tuple(shares.values()),
            tuple(matters),
            tuple(1.0 / (rank + 5) for rank in range(1, len(matters) + 1)),
        )

    def matter_of_rank(self, rank: int) -> str:
        """The matter that is the ``rank``-th most asked (1 the most)."""
        return self.matters[rank - 1]


def _local_midnight(on: date) -> float:
    return datetime(on.year, on.month, on.day, tzinfo=HOTLINE_TZ).timestamp()


def ticket_day(on: date, mix: CityMix, seed: int | str) -> list[SimTicket]:
    """A normal day of the city's tickets (module text), sorted by time."""
    rng = random.Random(f"{seed}/{on.isoformat()}")
    _kind, profile, calls = mix.model.day(on)
    volume = max(0.5, rng.gauss(1.0, 0.08))
    hourly = mix.model.hourly_calls(profile, calls * volume)
    weights = [w * rng.gammavariate(25.0, 1 / 25.0) for w in mix.matter_weights]
    m_cum = list(_cumulative(weights))
    d_cum = list(_cumulative(mix.district_weights))
    midnight = _local_midnight(on)
    out: list[SimTicket] = []
    for hour, n in enumerate(hourly):
        if n <= 0:
            continue
        t, end = midnight + hour * 3600.0, midnight + (hour + 1) * 3600.0
        rate = n / 3600.0
        while True:
            t += rng.expovariate(rate)
            if t >= end:
                break
            matter = mix.matters[bisect.bisect_left(m_cum, rng.random() * m_cum[-1])]
            district = mix.districts[bisect.bisect_left(d_cum, rng.random() * d_cum[-1])]
            out.append(SimTicket(t, matter, district))
    return out


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def burst_tickets(
    start: float, minutes: float, size: int, matter: str, district: str
) -> list[SimTicket]:
    """``size`` tickets on ``matter`` in ``district``, evenly over ``minutes`` from ``start``."""
    step = minutes * 60.0 / size
    return [SimTicket(start + i * step, matter, district) for i in range(size)]


class MemoryCounts:
    """The job's counts (:class:`tickets.burst_counts.Counts`) from tickets held in memory:
    what the store's query answers, for simulated months in seconds."""

    def __init__(self, tickets: Sequence[SimTicket] = ()) -> None:
        self._times: dict[Key, list[float]] = defaultdict(list)
        self._all: list[float] = []
        self.add(tickets)

    def add(self, tickets: Sequence[SimTicket]) -> None:
        touched: set[Key] = set()
        for t in tickets:
            for key in (Key(Dimension.MATTER, t.matter), Key(Dimension.DISTRICT, t.district)):
                self._times[key].append(t.at)
                touched.add(key)
            self._all.append(t.at)
        for key in touched:
            self._times[key].sort()
        self._all.sort()

    def __call__(self) -> contextlib.AbstractAsyncContextManager[MemoryCounts]:
        return self._open()

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[MemoryCounts]:
        yield self

    async def count(
        self, windows: Sequence[Window], only: Collection[Key] | None = None
    ) -> Counter[Key]:
        out: Counter[Key] = Counter()
        keys = self._times if only is None else [k for k in only if k in self._times]
        for a, b in windows:
            ta, tb = a.timestamp(), b.timestamp()
            for key in keys:
                times = self._times[key]
                n = bisect.bisect_left(times, tb) - bisect.bisect_left(times, ta)
                if n:
                    out[key] += n
        return out

    async def ran(self, days: Sequence[Window]) -> list[bool]:
        return [
            bisect.bisect_left(self._all, b.timestamp())
            > bisect.bisect_left(self._all, a.timestamp())
            for a, b in days
        ]


async def watch_day(job: Any, clock: list[float], on: date) -> list[Change]:
    """Run ``job``'s check through the day ``on`` (hotline time) at its interval, the clock
    ``clock[0]`` set to each check's time; every change of every check."""
    changes: list[Change] = []
    t, end = _local_midnight(on), _local_midnight(on + timedelta(days=1))
    t += job.interval_s
    while t <= end:
        clock[0] = t
        changes.extend(await job.check_once())
        t += job.interval_s
    return changes


def _job(counts: MemoryCounts, clock: list[float]) -> Any:
    from config.settings import Settings
    from hotline.early_warning_job import early_warning_job

    return early_warning_job(
        Settings(_env_file=None), counts, lambda: clock[0], load_catalogue(CONFIG_DIR)
    )


async def false_alarms(first: date, days: int, seed: int | str) -> tuple[int, list[Change]]:
    """Bursts started over ``days`` normal days from ``first`` (after the warm-up history)."""
    mix = CityMix.load(seed=0)
    counts = MemoryCounts()
    for back in range(WARMUP_DAYS, 0, -1):
        counts.add(ticket_day(first - timedelta(days=back), mix, seed))
    clock = [0.0]
    job = _job(counts, clock)
    started: list[Change] = []
    tickets = 0
    try:
        for i in range(days):
            on = first + timedelta(days=i)
            day = ticket_day(on, mix, seed)
            tickets += len(day)
            counts.add(day)
            started += [c for c in await watch_day(job, clock, on) if c.state == "started"]
    finally:
        await job.stop()
    return tickets, started


async def detection(
    on: date, hour: float, seed: int | str, *, size: int = BURST_SIZE, minutes: float = 30.0
) -> dict[str, Any]:
    """One seeded burst (``size`` tickets on the 50th most asked matter in Tonglu over
    ``minutes`` from ``hour`` o'clock): the delay to each dimension's alert, and any other
    alert of that day."""
    mix = CityMix.load(seed=0)
    matter, district = mix.matter_of_rank(50), "tonglu"
    counts = MemoryCounts()
    for back in range(WARMUP_DAYS, 0, -1):
        counts.add(ticket_day(on - timedelta(days=back), mix, seed))
    start = _local_midnight(on) + hour * 3600.0
    counts.add(ticket_day(on, mix, seed))
    counts.add(burst_tickets(start, minutes, size, matter, district))
    clock = [0.0]
    job = _job(counts, clock)
    try:
        changes = await watch_day(job, clock, on)
    finally:
        await job.stop()
    found = {Key(Dimension.MATTER, matter), Key(Dimension.DISTRICT, district)}
    delays = {
        c.burst.key.dimension: c.at - start
        for c in changes
        if c.state == "started" and c.burst.key in found
    }
    others = [c for c in changes if c.state == "started" and c.burst.key not in found]
    return {
        "matter_delay_s": delays.get("matter"),
        "district_delay_s": delays.get("district"),
        "others": len(others),
    }


async def _figures() -> dict[str, Any]:
    t0 = time.perf_counter()
    first = date(2026, 9, 1)
    tickets, alarms = await false_alarms(first, DAYS, seed=7)
    normal_s = time.perf_counter() - t0
    runs = []
    for i, hour in enumerate(BURST_HOURS):
        runs.append(await detection(date(2026, 11, 2 + i), hour, seed=100 + i))
    out: dict[str, Any] = {
        "normal_days": DAYS,
        "normal_tickets": tickets,
        "false_alarms": len(alarms),
        "false_alarms_per_day": round(len(alarms) / DAYS, 3),
        "false_alarm_keys": sorted(
            {f"{c.burst.key.dimension}:{c.burst.key.value}" for c in alarms}
        ),
        "normal_days_wall_s": round(normal_s, 1),
    }
    for dim in ("matter", "district"):
        delays = [r[f"{dim}_delay_s"] for r in runs]
        seen = [d for d in delays if d is not None]
        out[f"{dim}_detected"] = f"{len(seen)}/{len(delays)}"
        out[f"{dim}_delay_median_min"] = round(statistics.median(seen) / 60, 1) if seen else None
        out[f"{dim}_delay_max_min"] = round(max(seen) / 60, 1) if seen else None
    out["burst_hours"] = list(BURST_HOURS)
    out["matter_delays_min"] = [_minutes(r["matter_delay_s"]) for r in runs]
    out["district_delays_min"] = [_minutes(r["district_delay_s"]) for r in runs]
    out["burst_day_other_alerts"] = sum(r["others"] for r in runs)
    return out


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def run(results: dict[str, Any]) -> dict[str, Any]:
    fig = asyncio.run(_figures())
    results["early_warning"] = fig
    print(
        f"early warning: {fig['false_alarms_per_day']} false alarms a normal day "
        f"({fig['false_alarms']} in {fig['normal_days']} days, {fig['normal_tickets']} tickets); "
        f"a burst of {BURST_SIZE} tickets in 30 min on one matter in Tonglu at "
        f"{', '.join(f'{h:g}' for h in BURST_HOURS)} h raised on the matter "
        f"{fig['matter_detected']} (minutes {fig['matter_delays_min']}), on the district "
        f"{fig['district_detected']} (minutes {fig['district_delays_min']})"
    )
    return fig


if __name__ == "__main__":
    import json
    import logging

    logging.disable(logging.WARNING)
    print(json.dumps(run({}), indent=2, ensure_ascii=False))
