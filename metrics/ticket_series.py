"""Prometheus series of the tickets' lifecycle, as of the supervision job's last scan
(``hotline/supervision_job.py``, every ``HOTLINE_SUPERVISION_INTERVAL_S``): read from that
scan at scrape time, never a query per scrape (a scrape must stay cheap however many tickets
the store holds).

* ``hotline_tickets{state}``: tickets in each lifecycle state (every state named);
* ``hotline_tickets_due_soon{department}``, ``hotline_tickets_overdue{department}``: running
  tickets (dispatched, accepted, extension asked) with a working day (or hour) or less left,
  and past their due time, per lead department (only departments with such a ticket);
* ``hotline_tickets_callbacks_pending``: tickets replied and not yet called back;
* ``hotline_escalations_sent_total``, ``hotline_escalation_attempts_failed_total``.

Labels are bounded: ``state`` (the lifecycle's states), ``department`` (the catalogue's codes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tickets.lifecycle import State
from tickets.supervision import Level

__all__ = ["TicketSeries"]


class TicketSeries(Collector):
    """``job``: the supervision job (``by_state``, ``latest`` flags, ``sent``,
    ``failed_attempts``)."""

    def __init__(self, job: Any) -> None:
        self._job = job

    def collect(self) -> Iterator[Metric]:
        job = self._job
        by_state = GaugeMetricFamily(
            "hotline_tickets", "Tickets in each lifecycle state (last scan).", labels=["state"]
        )
        for state, n in sorted(job.by_state.items()):
            by_state.add_metric([state], n)
        yield by_state
        soon, late = Counter[str](), Counter[str]()
        for f in job.latest:
            (late if f.level is Level.OVERDUE else soon)[f.department] += 1
        for name, what, counts in (
            ("hotline_tickets_due_soon", "Running tickets due within a working day.", soon),
            ("hotline_tickets_overdue", "Running tickets past their due time.", late),
        ):
            family = GaugeMetricFamily(name, what + " (last scan)", labels=["department"])
            for dept, n in sorted(counts.items()):
                family.add_metric([dept], n)
            yield family
        yield GaugeMetricFamily(
            "hotline_tickets_callbacks_pending",
            "Tickets replied and not yet called back (last scan).",
            value=job.by_state.get(State.REPLIED.value, 0),
        )
        yield CounterMetricFamily(
            "hotline_escalations_sent",
            "Escalations delivered to a department's webhook.",
            value=job.sent,
        )
        yield CounterMetricFamily(
            "hotline_escalation_attempts_failed",
            "Webhook deliveries that failed (each retried).",
            value=job.failed_attempts,
        )
