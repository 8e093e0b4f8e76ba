"""Prometheus series over the live state.

The counters and gauges below are read from the controller's state at scrape time (a custom
``Collector``, the pattern client_python recommends for state that already lives elsewhere),
so metrics keep no second copy of anything. ``collect()`` is synchronous and only reads.

Labels are bounded: ``queue`` (configured queues), ``state`` (the seat states). Never a caller,
a ticket or an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agents.seats import SEAT_STATES, SeatBoard
from routing.calls import CallBoard
from tickets.service import TicketDraft

__all__ = ["LinkMetrics", "LiveCollector", "make_registry"]


class LiveView(Protocol):
    calls: CallBoard
    seats: SeatBoard
    resolved_on_call: int

    @property
    def instant_resolution_ratio(self) -> float: ...


class LiveCollector(Collector):
    def __init__(self, view: LiveView, now: Callable[[], float]) -> None:
        self._view = view
        self._now = now
        #: Ticket drafts published by the controller (:meth:`ticket_drafted`).
        self.tickets_drafted = 0

    def collect(self) -> Iterator[Metric]:
        calls = self._view.calls
        offered = CounterMetricFamily(
            "hotline_calls_offered", "Callers that joined a queue.", labels=["queue"]
        )
        answered = CounterMetricFamily(
            "hotline_calls_answered", "Offered calls connected to an operator.", labels=["queue"]
        )
        abandoned = CounterMetricFamily(
            "hotline_calls_abandoned",
            "Offered calls that left the queue unanswered (hung up or timed out).",
            labels=["queue"],
        )
        waiting = GaugeMetricFamily(
            "hotline_queue_waiting_calls", "Callers waiting in the queue now.", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "hotline_queue_longest_wait_seconds",
            "How long the caller waiting longest has waited (0 with none).",
            labels=["queue"],
        )
        now = self._now()
        ratio = GaugeMetricFamily(
            "hotline_answer_ratio", "Answered / offered calls since start.", labels=["queue"]
        )
        for queue in sorted(calls.stats):
            st = calls.stats[queue]
            offered.add_metric([queue], st.offered)
            answered.add_metric([queue], st.answered)
            abandoned.add_metric([queue], st.abandoned)
            waiting.add_metric([queue], calls.waiting_count(queue))
            longest.add_metric([queue], calls.longest_wait_s(queue, now))
            if st.answer_ratio is not None:  # not defined before the first offered call
                ratio.add_metric([queue], st.answer_ratio)
        yield offered
        yield answered
        yield abandoned
        yield waiting
        yield longest
        yield ratio
        seats = GaugeMetricFamily(
            "hotline_seats", "Logged-in operator seats by state.", labels=["state"]
        )
        counts = self._view.seats.counts(now)
        for state in SEAT_STATES:
            seats.add_metric([state], counts[state])
        yield seats
        yield GaugeMetricFamily(
            "hotline_instant_resolution_ratio",
            "Tickets resolved during the call / answered calls that have ended.",
            value=self._view.instant_resolution_ratio,
        )
        yield CounterMetricFamily(
            "hotline_tickets_drafted",
            "Answered calls that ended and became a ticket draft.",
            value=self.tickets_drafted,
        )

    def ticket_drafted(self, draft: TicketDraft) -> None:
        """Subscriber of the controller's ticket drafts (counted here, the one place)."""
        self.tickets_drafted += 1


class LinkMetrics:
    """Series about the AMI link and the ticket writer, updated by the code that does the work."""

    def __init__(self, registry: CollectorRegistry, live: LiveCollector | None = None) -> None:
        #: The series read from the live state (it subscribes to the ticket drafts).
        self.live = live
        self.ami_connected = Gauge(
            "hotline_ami_connected",
            "1 while logged in to Asterisk's manager.",
            registry=registry,
        )
        self.ami_reconnects = Counter(
            "hotline_ami_reconnects", "Logins after the first one.", registry=registry
        )
        self.frames_rejected = Counter(
            "hotline_ami_frames_rejected",
            "AMI frames that could not be used, by reason.",
            ["reason"],
            registry=registry,
        )
        self.tickets_written = Counter(
            "hotline_tickets_written", "Tickets stored in the database.", registry=registry
        )
        self.ticket_write_errors = Counter(
            "hotline_ticket_write_errors",
            "Failed attempts to write tickets (they are retried).",
            registry=registry,
        )
        self.db_up = Gauge(
            "hotline_db_up", "1 while the last database operation succeeded.", registry=registry
        )
        self.backfill_runs = Counter(
            "hotline_backfill_runs",
            "Backfills from Asterisk's queue_log (at start and after each resync), by result.",
            ["result"],
            registry=registry,
        )
        self.backfill_tickets = Counter(
            "hotline_backfill_tickets",
            "Tickets written from the queue_log for calls answered while the controller was away.",
            registry=registry,
        )
        self.queue_log_rows_malformed = Counter(
            "hotline_queue_log_rows_malformed",
            "queue_log rows the backfill could not read and skipped, by reason.",
            ["reason"],
            registry=registry,
        )
        self.subscriber_errors = Counter(
            "hotline_subscriber_errors",
            "Exceptions raised by subscribers of the controller's notices, by subscriber.",
            ["subscriber"],
            registry=registry,
        )


def make_registry(
    view: LiveView, now: Callable[[], float]
) -> tuple[CollectorRegistry, LinkMetrics]:
    registry = CollectorRegistry()
    live = LiveCollector(view, now)
    registry.register(live)
    return registry, LinkMetrics(registry, live)
