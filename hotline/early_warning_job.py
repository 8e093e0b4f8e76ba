"""The early-warning job of ``hotline serve`` (预警): every ``HOTLINE_EARLY_WARNING_INTERVAL_S``
it counts the tickets of the last ``HOTLINE_EARLY_WARNING_WINDOW_S`` by matter and by district
(:func:`tickets.burst_counts.count_tickets`), and, for the keys with enough tickets to matter
(or in a burst already), the same window on the baseline days: the
``HOTLINE_EARLY_WARNING_BASELINE_DAYS`` earlier days of today's kind (working day or rest day,
by the Chinese calendar, hotline time) that the store has tickets for. The rule
(:mod:`tickets.bursts`) judges each key; its tracker says which bursts started and ended.

**One alert per burst.** A started burst is POSTed once to ``HOTLINE_EARLY_WARNING_WEBHOOKS``
(by dimension, ``"*"`` for both), and its end once, after it; both through the webhook
poster the escalations use (:mod:`hotline.webhooks`: retried, never blocking the checks).
The body::

    {"alert": "ticket_burst", "state": "started" | "ended", "dimension": "matter" | "district",
     "key": "ZJ-001", "name": "建筑工地夜间施工噪声扰民", "window_start", "window_end",
     "window_s", "count", "baseline_mean", "baseline_days", "ratio", "p_value",
     "started_at", "ended_at"}

counts and codes only: no ticket, no caller. The bursts are kept in memory: after a restart
a burst still going on is announced again.

The metrics (``metrics/burst_series.py``) read :attr:`EarlyWarningJob.tracker`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from config.calendar import day_kind
from config.catalogue import Catalogue
from config.settings import Settings
from config.traffic import HOTLINE_TZ
from hotline.webhooks import PostingJob
from tickets.burst_counts import Counts
from tickets.bursts import Change, Dimension, Judgement, Key, Rule, Tracker, baseline_dates, judge

__all__ = ["EarlyWarningJob", "early_warning_job", "names_from"]

log = logging.getLogger(__name__)

DAY = timedelta(days=1)


def names_from(catalogue: Catalogue) -> dict[Key, str]:
    """The Chinese names the alerts carry: a matter's, and a district's short name (萧山区)."""
    names = {Key(Dimension.MATTER, m.code): m.name for m in catalogue.matters.values()}
    for d in catalogue.departments.values():
        if d.kind == "district":
            names[Key(Dimension.DISTRICT, d.code)] = d.aliases[0] if d.aliases else d.name
    return names


def early_warning_job(
    s: Settings,
    counts: Callable[[], AbstractAsyncContextManager[Counts | None]],
    now: Callable[[], float],
    catalogue: Catalogue,
) -> EarlyWarningJob:
    """The job as the ``HOTLINE_EARLY_WARNING_*`` settings say (``counts``: the store's,
    :func:`tickets.burst_counts.store_counts`)."""
    return EarlyWarningJob(
        counts,
        now,
        {k: url.get_secret_value() for k, url in s.early_warning_webhooks.items()},
        rule=Rule(
            min_count=s.early_warning_min_count,
            min_ratio=s.early_warning_min_ratio,
            alpha=s.early_warning_alpha,
            clear_alpha=s.early_warning_clear_alpha,
        ),
        window_s=s.early_warning_window_s,
        baseline_days=s.early_warning_baseline_days,
        interval_s=s.early_warning_interval_s,
        names=names_from(catalogue),
        timeout_s=s.escalation_timeout_s,
    )


class EarlyWarningJob(PostingJob):
    what = "early-warning check"

    def __init__(
        self,
        counts: Callable[[], AbstractAsyncContextManager[Counts | None]],
        now: Callable[[], float],
        webhooks: Mapping[str, str],
        *,
        rule: Rule | None = None,
        window_s: float = 3600.0,
        baseline_days: int = 14,
        interval_s: float = 300.0,
        names: Mapping[Key, str] | None = None,
        kind: Callable[[date], str] = day_kind,
        timeout_s: float = 5.0,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # The poster's deliveries are keyed by (key, started_at, state).
        super().__init__(
            interval_s=interval_s,
            timeout_s=timeout_s,
            first_backoff_s=first_backoff_s,
            max_backoff_s=max_backoff_s,
            transport=transport,
        )
        self._counts = counts
        self._now = now
        self.webhooks = dict(webhooks)
        self.tracker = Tracker(rule or Rule())
        self.window = timedelta(seconds=window_s)
        self.baseline_days = baseline_days
        self.names = dict(names or {})
        self._kind = kind
        #: The judgements of the last check (the keys with enough tickets, or in a burst).
        self.latest: list[Judgement] = []

    async def run_once(self) -> list[Change]:
        return await self.check_once()

    async def check_once(self) -> list[Change]:
        """Count, judge, and hand the alerts of the bursts that started or ended over."""
        at = self._now()
        end = datetime.fromtimestamp(at, UTC)
        start = end - self.window
        async with self._counts() as store:
            if store is None:
                return []
            current = await store.count([(start, end)])
            wanted = self.tracker.candidates(current)
            if not wanted:
                self.latest = []
                return self.tracker.update(at, [])
            today = end.astimezone(HOTLINE_TZ).date()
            dates = baseline_dates(today, self.baseline_days, self._kind)
            running = await store.ran([_local_day(d) for d in dates])
            backs = [(today - d).days * DAY for d, ran in zip(dates, running, strict=True) if ran]
            if not backs:  # no baseline yet (a new store): nothing can be judged
                return []
            baseline = await store.count([(start - b, end - b) for b in backs], wanted)
        rule = self.tracker.rule
        self.latest = [
            judge(rule, k, current.get(k, 0), baseline.get(k, 0), len(backs))
            for k in sorted(wanted)
        ]
        changes = self.tracker.update(at, self.latest)
        for change in changes:
            self._announce(change, start, end)
        return changes

    def _announce(self, change: Change, start: datetime, end: datetime) -> None:
        burst, j = change.burst, change.latest
        key = burst.key
        url = self.webhooks.get(key.dimension) or self.webhooks.get("*")
        body: dict[str, Any] = {
            "alert": "ticket_burst",
            "state": change.state,
            "dimension": key.dimension,
            "key": key.value,
            "name": self.names.get(key),
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "window_s": self.window.total_seconds(),
            "count": j.count,
            "baseline_mean": round(j.expected, 3),
            "baseline_days": j.baseline_days,
            "ratio": round(j.count / j.expected, 3) if j.expected else None,
            "p_value": j.p_value,
            "started_at": _iso(burst.started_at),
            "ended_at": _iso(change.at) if change.state == "ended" else None,
        }
        what = f"early warning ({change.state}) of a burst on {key.dimension} {key.value}"
        log.warning(
            "burst %s on %s %s: %d tickets in %.0f min, usual %.1f",
            change.state,
            key.dimension,
            key.value,
            j.count,
            self.window.total_seconds() / 60,
            j.expected,
        )
        alert = (key, burst.started_at)
        self.poster.post(
            (*alert, change.state),
            url,
            body,
            what,
            after=self.poster.delivering((*alert, "started")) if change.state == "ended" else None,
        )


def _local_day(d: date) -> tuple[datetime, datetime]:
    """A date's day in hotline time, as UTC ``[start, end)``."""
    start = datetime.combine(d, time(0), tzinfo=HOTLINE_TZ).astimezone(UTC)
    return start, start + DAY


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()
