"""The ``centre`` label on every live series the backend exposes.

The "1 + 7" platform runs a controller per centre, all scraped by one Prometheus as one job:
each series must say which centre it is from, and the controller knows (``HOTLINE_CENTRE``),
so it says so itself rather than each scrape target being labelled by hand in Prometheus's
configuration. prometheus-client has no constant labels for a whole registry (only per
metric, and the series here come from custom collectors: the live view, the ticket series,
the bursts, the IVR's counters, the link's), so :class:`CentreLabelled` wraps the registry at
exposition: ``generate_latest(CentreLabelled(registry, centre))``. The registry itself is
unchanged (its ``get_sample_value`` reads the series without the label). The label's values
are the codes of config/centres.yaml: bounded. A series that already has a ``centre`` label
keeps its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client.metrics_core import Metric

__all__ = ["LABEL", "CentreLabelled"]

LABEL = "centre"


class _Collects(Protocol):
    def collect(self) -> Iterator[Metric]: ...


class CentreLabelled:
    """What ``registry`` collects, each sample with ``centre="<centre>"`` added."""

    def __init__(self, registry: _Collects, centre: str) -> None:
        self._registry = registry
        self.centre = centre

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = [
                s if LABEL in s.labels else s._replace(labels={LABEL: self.centre, **s.labels})
                for s in family.samples
            ]
            yield out
