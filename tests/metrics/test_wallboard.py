"""The supervisors' Grafana wallboard: the committed JSON is what metrics/grafana/wallboard.py
builds, the provisioning files point at it and at the data source its panels ask for, and
every panel's query finds data in a real Prometheus scraping `hotline serve` (with tickets
overdue, due soon and awaiting a callback seeded in its database)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics.grafana.wallboard import DATASOURCE_UID, JSON_PATH, build, encode
from tests.metrics.real_prometheus import RULES, SCRAPE_S, scraped_serve, until
from tests.metrics.test_prometheus_rules import exported_series
from tests.tickets.calls import DISPATCHER, answered, replied, ticket_numbers
from tickets import lifecycle as lc
from tickets import workflow
from tickets.db import make_engine, session_factory, upgrade
from tickets.deadlines import deadline

PROVISIONING = JSON_PATH.parents[1] / "provisioning"
#: What the test puts for the dashboard's variables and Grafana's own: the window of the
#: windowed figures fits a test of a minute, the rate interval is Grafana's 4 scrapes.
WINDOW = "1m"
RATE_INTERVAL = f"{4 * SCRAPE_S}s"


def committed() -> dict[str, Any]:
    return json.loads(JSON_PATH.read_text("utf-8"))


def targets(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of every panel."""
    return [
        (p["title"], t["expr"]) for p in board["panels"] if p["type"] != "row" for t in p["targets"]
    ]


def test_the_committed_dashboard_is_what_the_code_builds() -> None:
    assert JSON_PATH.read_text("utf-8") == encode(build()), (
        "metrics/grafana/dashboards/hotline-wallboard.json is stale: run `make wallboard`"
    )


def test_every_query_reads_the_provisioned_data_source_and_known_variables() -> None:
    (source,) = yaml.safe_load(
        (PROVISIONING / "datasources" / "hotline-prometheus.yml").read_text("utf-8")
    )["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "prometheus"
    board = committed()
    queries = [t for p in board["panels"] if p["type"] != "row" for t in p["targets"]]
    assert len(queries) >= 30
    assert {q["datasource"]["uid"] for q in queries} == {DATASOURCE_UID}
    variables = {v["name"] for v in board["templating"]["list"]}
    assert variables == {"centre", "queue", "window"}
    used = {name for _, expr in targets(board) for name in re.findall(r"\$(\w+)", expr)}
    assert used == variables | {"__rate_interval"}
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "hotline.yml").read_text("utf-8"))[
        "providers"
    ]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")
    assert JSON_PATH.parent.name == "dashboards" and JSON_PATH.suffix == ".json"


def test_every_series_the_panels_read_is_exported_or_recorded() -> None:
    exprs = " ".join(expr for _, expr in targets(committed()))
    read = set(re.findall(r"\b(?:hotline|queue:hotline)_[a-z0-9_:]+\b", exprs))
    rules = RULES.read_text("utf-8")
    recorded = set(re.findall(r"record:\s*(\S+)", rules))
    assert "queue:hotline_answer_ratio:rate5m" in read
    missing = sorted(read - exported_series() - recorded)
    assert not missing, f"series the panels read that /metrics lacks: {missing}"


async def _seed(database_url: str) -> None:
    """Tickets the wallboard shows: one overdue at water (a working day's limit, dispatched
    30 days ago), one due soon at housing (the same limit, dispatched on the latest earlier
    day that leaves it due soon now), one replied (a callback pending)."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        soon = next(
            at
            for at in (now - timedelta(days=d) for d in range(1, 30))
            if deadline(at, workflow.Limit(1), now).due_soon
        )
        for i, (department, at) in enumerate(
            [("water", now - timedelta(days=30)), ("housing", soon)]
        ):
            (number,) = await ticket_numbers(sessions, answered(at, prefix=f"179500000{i}"))
            async with sessions() as s:
                await workflow.take_step(
                    s, number, lc.Step.DISPATCH, DISPATCHER, at,
                    workflow.StepData(department=department, limit=workflow.Limit(1)),
                )  # fmt: skip
        (number,) = await ticket_numbers(sessions, answered(now, prefix="1795000009"))
        await replied(sessions, [number], now)
    finally:
        await engine.dispose()


def _expand(expr: str, values: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda m: values[m.group(1)], expr)


def _has_a_number(result: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(float(s["value"][1])) for s in result)


@pytest.mark.e2e
async def test_every_panel_finds_data_in_a_real_prometheus(tmp_path: Path) -> None:
    env = {
        # more callers than six seats answer: waits, answers and abandons of both kinds
        "HOTLINE_SIM_SEATS": "6",
        "HOTLINE_SIM_SPEED": "60",
        "HOTLINE_SIM_SEED": "5",
        "HOTLINE_SIM_BREAKS_PER_HOUR": "6",
        "HOTLINE_SUPERVISION_INTERVAL_S": "1",
    }
    board = committed()
    (centre_variable,) = [v for v in board["templating"]["list"] if v["name"] == "centre"]
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", centre_variable["query"]).groups()
    async with scraped_serve(tmp_path, env, before=_seed) as api:

        async def known(name: str) -> list[str]:
            return list(await api.get(f"label/{name}/values", **{"match[]": metric}) or [])

        async def centres() -> list[str]:
            return await known(label)

        async def queues() -> list[str]:
            return await known("queue")

        def every(found: list[str]) -> str:
            return "(" + "|".join(map(re.escape, found)) + ")"

        found_centres = await until(centres, 30, "the centres")
        assert found_centres == ["city"]  # the backend's own label: its default centre
        values = {
            # Grafana's "All" of a multi-value variable: every value, as a regex
            "centre": every(found_centres),
            "queue": every(await until(queues, 30, "the queues")),
            "window": WINDOW,
            "__rate_interval": RATE_INTERVAL,
        }
        pending = {(title, _expand(expr, values)) for title, expr in targets(board)}

        async def all_found() -> bool:
            for title, expr in sorted(pending):
                if _has_a_number(await api.query(expr)):
                    pending.discard((title, expr))
            return not pending

        try:
            await until(all_found, 45, "every panel's data")
        except AssertionError:
            missing = "\n".join(f"  {title}: {expr}" for title, expr in sorted(pending))
            pytest.fail(f"panels whose query found no data:\n{missing}")
