"""Prometheus series of the IVR, registered on a registry passed in (``register_ivr_metrics``).

* ``hotline_ivr_sessions_total{menu,exit}``: finished FastAGI sessions, by the menu node they
  ended in (a node of ``config/ivr.yaml``, ``announcement``, ``start`` or ``survey``) and the
  exit (``queue``, ``fallback``, ``self_service``, ``hangup``, ``error``, ``survey``,
  ``survey_none``). Both label sets are bounded by the configuration.
* ``hotline_ivr_self_service_ratio``: IVR sessions (not surveys) that ended ``self_service``
  / all finished IVR sessions. Its one definition: a call is answered by the IVR alone when
  the caller heard what they called for (a ticket's progress, an announcement they left on)
  or chose "end the call", and never reached a queue.
* ``hotline_calls_overflowed_total{from_queue,to_queue,reason}``: callers the IVR sent to
  another centre's queue than the one they were bound for (overflow between centres,
  ``config/overflow.yaml``; the definition is :mod:`routing.overflow`'s), counted when the
  session hands them to the queue; ``reason`` is ``longest_wait`` or ``no_ready_seat``.
* ``hotline_ivr_active_sessions``: sessions running now.
* ``hotline_ivr_command_seconds``: from sending an AGI command to its answer (for a real
  caller this includes the prompt and their thinking time).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["IvrMetrics", "register_ivr_metrics"]

SURVEY_EXITS = frozenset({"survey", "survey_none"})


class _RatioCollector(Collector):
    def __init__(self, metrics: IvrMetrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "hotline_ivr_self_service_ratio",
            "IVR sessions that ended served by the IVR alone / finished IVR sessions.",
            value=self._m.self_service_ratio,
        )


class IvrMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sessions = Counter(
            "hotline_ivr_sessions",
            "Finished FastAGI sessions by the menu they ended in and how they ended.",
            ["menu", "exit"],
            registry=self.registry,
        )
        self.overflowed = Counter(
            "hotline_calls_overflowed",
            "Callers the IVR sent to another centre's queue than the one they were bound for.",
            ["from_queue", "to_queue", "reason"],
            registry=self.registry,
        )
        self.active = Gauge(
            "hotline_ivr_active_sessions", "FastAGI sessions running now.", registry=self.registry
        )
        self.command_seconds = Histogram(
            "hotline_ivr_command_seconds",
            "Time from sending an AGI command to receiving its answer.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 15, 60),
            registry=self.registry,
        )
        self.ivr_finished = 0
        self.self_served = 0
        self.registry.register(_RatioCollector(self))

    def finished(self, menu: str, exit_: str) -> None:
        self.sessions.labels(menu=menu, exit=exit_).inc()
        if exit_ not in SURVEY_EXITS and menu != "survey":
            self.ivr_finished += 1
            if exit_ == "self_service":
                self.self_served += 1

    @property
    def self_service_ratio(self) -> float:
        return self.self_served / self.ivr_finished if self.ivr_finished else 0.0


def register_ivr_metrics(registry: CollectorRegistry) -> IvrMetrics:
    """The IVR's series on ``registry`` (e.g. the runtime's, from ``make_registry``)."""
    return IvrMetrics(registry)
