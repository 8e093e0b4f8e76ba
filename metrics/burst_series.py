"""Prometheus series of the early warning (``hotline/early_warning_job.py``), as of its last
check: read from the job's tracker at scrape time, never a query per scrape.

* ``hotline_ticket_bursts_active{dimension}``: bursts of tickets going on now, on one matter
  (``dimension="matter"``) or in one district (``"district"``); both always present;
* ``hotline_ticket_bursts_total{dimension}``: bursts started since the process started;
* ``hotline_early_warning_alerts_sent_total``, ``hotline_early_warning_attempts_failed_total``:
  the webhook's deliveries (a burst's start and its end are one each) and failed posts.

Labels are bounded: ``dimension`` is ``matter`` or ``district``. Which matter or district is
in the webhook's alert, not in a label (a catalogue of 7,000 matters would be 7,000 series).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tickets.bursts import Dimension

__all__ = ["BurstSeries"]


class BurstSeries(Collector):
    """``job``: the early-warning job (``tracker``, ``poster``)."""

    def __init__(self, job: Any) -> None:
        self._job = job

    def collect(self) -> Iterator[Metric]:
        tracker, poster = self._job.tracker, self._job.poster
        active = GaugeMetricFamily(
            "hotline_ticket_bursts_active",
            "Bursts of tickets on one matter or in one district going on (last check).",
            labels=["dimension"],
        )
        started = CounterMetricFamily(
            "hotline_ticket_bursts",
            "Bursts of tickets on one matter or in one district started.",
            labels=["dimension"],
        )
        now = tracker.active_by_dimension()
        for d in Dimension:
            active.add_metric([d.value], now.get(d.value, 0))
            started.add_metric([d.value], tracker.started.get(d.value, 0))
        yield active
        yield started
        yield CounterMetricFamily(
            "hotline_early_warning_alerts_sent",
            "Early-warning alerts (a burst's start or end) delivered to the webhook.",
            value=poster.sent,
        )
        yield CounterMetricFamily(
            "hotline_early_warning_attempts_failed",
            "Early-warning webhook posts that failed (each retried).",
            value=poster.failed_attempts,
        )
