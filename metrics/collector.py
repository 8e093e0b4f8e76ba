"""Prometheus series over the live state.

The counters and gauges below are read from the controller's state at scrape time (a custom
``Collector``, the pattern client_python recommends for state that already lives elsewhere),
so metrics keep no second copy of anything: the counters are kept where the events are
applied (``routing.calls.QueueStats``, ``agents.seats.SeatBoard``), and each figure's one
definition is there (and in the README's "Definitions"). ``collect()`` is synchronous and
only reads (the seats' census also moves the moment up to which their time is counted).

Per queue: offered, answered, abandoned by reason (``caller``, ``timeout``, ``unknown``),
short abandons, completed, answered and abandoned within the service level, the waits of
answered calls, handle seconds (talk + after-call work); waiting now (also by priority), the
longest wait now; the answer ratio, service level and SL2, average speed of answer and
average handle time (each absent while it divides by nothing, as is the instant-resolution
ratio before an answered call ended). Seats: by state, paused by
reason, seconds in each state. The service-level and short-abandon thresholds. The
instant-resolution ratio and the ticket drafts.

Labels are bounded: ``queue`` (configured queues), ``state`` (the seat states), ``reason``
(the abandon reasons; the configured pause codes, ``none`` for a pause without a reason and
``other`` for a reason not configured), ``priority`` (the queue priorities the IVR's menus
give). Never a caller, a ticket or an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agents.seats import SEAT_STATES, SeatBoard
from routing.calls import ABANDON_REASONS, CallBoard
from tickets.service import TicketDraft

__all__ = ["LinkMetrics", "LiveCollector", "make_registry"]

#: ``hotline_seats_paused``'s reason for a pause Asterisk reports with no reason, and for a
#: reason that is not a configured pause code (a pause made outside the backend).
NO_REASON, OTHER_REASON = "none", "other"


class LiveView(Protocol):
    calls: CallBoard
    seats: SeatBoard
    resolved_on_call: int
    calls_ended: int

    @property
    def instant_resolution_ratio(self) -> float: ...


def _counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class LiveCollector(Collector):
    def __init__(
        self, view: LiveView, now: Callable[[], float], pause_codes: Collection[str] = ()
    ) -> None:
        self._view = view
        self._now = now
        #: The configured pause codes (``hotline_seats_paused``'s reasons besides the two
        #: fallbacks).
        self.pause_reasons = tuple(sorted(set(pause_codes) - {NO_REASON, OTHER_REASON}))
        #: Priorities seen waiting per queue: their series stay, at 0, when none waits.
        self._priorities: dict[str, set[int]] = {}
        #: Ticket drafts published by the controller (:meth:`ticket_drafted`).
        self.tickets_drafted = 0

    def collect(self) -> Iterator[Metric]:
        calls = self._view.calls
        now = self._now()
        census = self._view.seats.census(now)
        q = ["queue"]
        offered = _counter("hotline_calls_offered", "Callers that joined a queue.", q)
        answered = _counter("hotline_calls_answered", "Offered calls connected to an operator.", q)
        abandoned = _counter(
            "hotline_calls_abandoned",
            "Offered calls that left the queue unanswered, by reason: caller (hung up), "
            "timeout (the queue let the caller go), unknown (not seen leaving).",
            ["queue", "reason"],
        )
        short = _counter(
            "hotline_calls_abandoned_short",
            "Abandoned calls whose wait was under the short-abandon threshold (also abandoned).",
            q,
        )
        completed = _counter(
            "hotline_calls_completed", "Answered calls that ended (app_queue's completed).", q
        )
        answered_sl = _counter(
            "hotline_calls_answered_in_service_level",
            "Completed calls answered within the service-level threshold (callscompletedinsl).",
            q,
        )
        abandoned_sl = _counter(
            "hotline_calls_abandoned_in_service_level",
            "Abandoned calls that left within the service-level threshold (callsabandonedinsl).",
            q,
        )
        answer_wait = _counter(
            "hotline_calls_answer_wait_seconds",
            "Waits (join to answer) of answered calls, summed.",
            q,
        )
        handle = _counter(
            "hotline_calls_handle_seconds",
            "Talk of completed calls plus their seats' after-call work so far, summed.",
            q,
        )
        waiting = _gauge("hotline_queue_waiting_calls", "Callers waiting in the queue now.", q)
        by_priority = _gauge(
            "hotline_queue_waiting_calls_by_priority",
            "Callers waiting in the queue now, by queue priority.",
            ["queue", "priority"],
        )
        longest = _gauge(
            "hotline_queue_longest_wait_seconds",
            "How long the caller waiting longest has waited (0 with none).",
            q,
        )
        ratio = _gauge("hotline_answer_ratio", "Answered / offered calls since start.", q)
        sl = _gauge(
            "hotline_queue_service_level_ratio",
            "Completed calls answered within the threshold / completed calls (servicelevelperf).",
            q,
        )
        sl2 = _gauge(
            "hotline_queue_service_level2_ratio",
            "(Completed calls answered + abandoned calls left) within the threshold / "
            "(completed + abandoned) (servicelevelperf2).",
            q,
        )
        asa = _gauge(
            "hotline_queue_average_speed_of_answer_seconds",
            "Waits of answered calls / answered calls.",
            q,
        )
        aht = _gauge(
            "hotline_queue_average_handle_seconds",
            "Handle seconds (talk + after-call work) / completed calls.",
            q,
        )
        after_call = census.after_call_seconds
        for queue in sorted(calls.stats):
            st = calls.stats[queue]
            lq = [queue]
            offered.add_metric(lq, st.offered)
            answered.add_metric(lq, st.answered)
            for reason, n in zip(ABANDON_REASONS, st.abandoned_by_reason(), strict=True):
                abandoned.add_metric([queue, reason], n)
            short.add_metric(lq, st.abandoned_short)
            completed.add_metric(lq, st.completed)
            answered_sl.add_metric(lq, st.completed_in_sl)
            abandoned_sl.add_metric(lq, st.abandoned_in_sl)
            answer_wait.add_metric(lq, st.answer_wait_s)
            handled_s = st.talk_s + after_call.get(queue, 0.0)
            handle.add_metric(lq, handled_s)
            waiting.add_metric(lq, calls.waiting_count(queue))
            counts = calls.waiting_by_priority(queue)
            seen = self._priorities.setdefault(queue, {0})
            seen.update(counts)
            for prio in sorted(seen):
                by_priority.add_metric([queue, str(prio)], counts.get(prio, 0))
            longest.add_metric(lq, calls.longest_wait_s(queue, now))
            # a ratio over no calls is not defined: absent, never 0
            for family, value in (
                (ratio, st.answer_ratio),
                (sl, st.service_level_ratio),
                (sl2, st.service_level2_ratio),
                (asa, st.average_speed_of_answer_s),
                (aht, handled_s / st.completed if st.completed else None),
            ):
                if value is not None:
                    family.add_metric(lq, value)
        yield from (offered, answered, abandoned, short, completed, answered_sl, abandoned_sl)
        yield from (answer_wait, handle, waiting, by_priority, longest, ratio, sl, sl2, asa, aht)
        yield GaugeMetricFamily(
            "hotline_service_level_threshold_seconds",
            "The service-level threshold (HOTLINE_SERVICE_LEVEL_S, app_queue's servicelevel).",
            value=calls.service_level_s,
        )
        yield GaugeMetricFamily(
            "hotline_short_abandon_threshold_seconds",
            "An abandon after a shorter wait is a short abandon (HOTLINE_SHORT_ABANDON_S).",
            value=calls.short_abandon_s,
        )
        seats = _gauge("hotline_seats", "Logged-in operator seats by state.", ["state"])
        seconds = _counter(
            "hotline_seat_state_seconds",
            "Seat-seconds spent in each state (rate: seats in it on average).",
            ["state"],
        )
        for state in SEAT_STATES:
            seats.add_metric([state], census.states[state])
            seconds.add_metric([state], census.state_seconds[state])
        yield seats
        yield seconds
        paused = _gauge(
            "hotline_seats_paused",
            "Paused seats by pause reason (configured codes; none; other).",
            ["reason"],
        )
        by_reason = dict.fromkeys((*self.pause_reasons, NO_REASON, OTHER_REASON), 0)
        for reason, n in census.paused.items():
            key = reason if reason in by_reason else NO_REASON if not reason else OTHER_REASON
            by_reason[key] += n
        for reason, n in by_reason.items():
            paused.add_metric([reason], n)
        yield paused
        resolution = GaugeMetricFamily(
            "hotline_instant_resolution_ratio",
            "Tickets resolved during the call / answered calls that have ended.",
        )
        if self._view.calls_ended:  # not defined before an answered call ended: absent
            resolution.add_metric([], self._view.instant_resolution_ratio)
        yield resolution
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
    view: LiveView, now: Callable[[], float], pause_codes: Collection[str] = ()
) -> tuple[CollectorRegistry, LinkMetrics]:
    """The runtime's registry with the live series (``pause_codes``: the configured codes,
    ``hotline_seats_paused``'s reasons) and the link's."""
    registry = CollectorRegistry()
    live = LiveCollector(view, now, pause_codes)
    registry.register(live)
    return registry, LinkMetrics(registry, live)
