"""Every series the backend exposes carries its centre (metrics/centre_label.py): what the
registry collects, custom collectors included, with ``centre`` added; the registry itself
unchanged; a series with a centre of its own keeps it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from metrics.centre_label import CentreLabelled


class _Custom:
    def collect(self):
        fam = GaugeMetricFamily("hotline_custom", "A custom collector's.", labels=["queue"])
        fam.add_metric(["hotline"], 3.0)
        yield fam
        own = GaugeMetricFamily("hotline_of_a_centre", "Names its own.", labels=["centre"])
        own.add_metric(["linan"], 1.0)
        yield own


def test_every_series_gets_the_centre_and_the_registry_is_unchanged() -> None:
    registry = CollectorRegistry()
    Counter("hotline_things", "Things.", ["reason"], registry=registry).labels("x").inc(2)
    Gauge("hotline_up", "Up.", registry=registry).set(1)
    registry.register(_Custom())
    text = generate_latest(CentreLabelled(registry, "xiaoshan")).decode()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    assert got[("hotline_things_total", (("centre", "xiaoshan"), ("reason", "x")))] == 2
    assert got[("hotline_up", (("centre", "xiaoshan"),))] == 1
    assert got[("hotline_custom", (("centre", "xiaoshan"), ("queue", "hotline")))] == 3
    assert got[("hotline_of_a_centre", (("centre", "linan"),))] == 1
    assert all(dict(labels).get("centre") for _, labels in got)
    assert 'hotline_up{centre="xiaoshan"} 1.0' in text
    assert registry.get_sample_value("hotline_up") == 1  # the registry has no label added
    assert "# HELP hotline_things_total Things." in text
    assert "# TYPE hotline_things_total counter" in text
