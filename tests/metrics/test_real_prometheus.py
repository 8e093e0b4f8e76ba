"""A real Prometheus server (Debian's binary, from scripts/install-promtool.sh) scrapes a real
`hotline serve` with the embedded PBX, loads the shipped rules, evaluates the recording rule,
and fires `HotlineCallerWaitingLong` once one overwhelmed seat leaves a caller waiting over
two minutes (simulated at 60x), all checked through Prometheus's HTTP API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.metrics.real_prometheus import scraped_serve, until

pytestmark = pytest.mark.e2e


async def test_prometheus_scrapes_serve_evaluates_the_rules_and_an_alert_fires(
    tmp_path: Path,
) -> None:
    env = {
        # one seat, callers every few seconds who wait for ever: the queue grows
        "HOTLINE_SIM_SEATS": "1",
        "HOTLINE_SIM_SPEED": "60",
        "HOTLINE_SIM_SEED": "3",
        "HOTLINE_SIM_CALLS_PER_HOUR": "600",
        "HOTLINE_SIM_TALK_MEAN_S": "600",
        "HOTLINE_SIM_PATIENCE_MEAN_S": "100000",
        "HOTLINE_SIM_OPERATORS": "false",
    }
    async with scraped_serve(tmp_path, env) as api:
        rules = await api.get("rules")
        assert rules is not None
        names = {r["name"] for g in rules["groups"] for r in g["rules"]}
        assert {"queue:hotline_answer_ratio:rate5m", "HotlineCallerWaitingLong"} <= names
        assert all(r["health"] != "err" for g in rules["groups"] for r in g["rules"])

        async def recorded() -> list:
            return await api.query("queue:hotline_answer_ratio:rate5m")

        (sample,) = await until(recorded, 60, "the recording rule's answer rate")
        assert sample["metric"]["queue"] == "hotline" and 0 <= float(sample["value"][1]) <= 1

        async def firing() -> list:
            data = await api.get("alerts")
            return [
                a
                for a in (data or {}).get("alerts", [])
                if a["labels"]["alertname"] == "HotlineCallerWaitingLong" and a["state"] == "firing"
            ]

        (alert,) = await until(firing, 90, "HotlineCallerWaitingLong firing")
        assert alert["labels"]["queue"] == "hotline"
        waited = await api.query("hotline_queue_longest_wait_seconds")
        assert waited and float(waited[0]["value"][1]) > 120
