"""The HTTP face over a running backend with the embedded PBX."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig, TrafficSpec
from tests.agents.signin import sign_in
from tickets.api import mask_number
from tickets.numbers import make_number

pytestmark = pytest.mark.e2e

REQUIRED = {
    "hotline_calls_offered_total",
    "hotline_calls_answered_total",
    "hotline_calls_abandoned_total",
    "hotline_seats",
    "hotline_queue_waiting_calls",
    "hotline_answer_ratio",
    "hotline_instant_resolution_ratio",
}


@pytest_asyncio.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime(
        Settings(_env_file=None),
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        simulation=SimulatorConfig(seats=8, speed=600.0, seed=5, ring_time_s=2.0, wrapup_s=5.0),
        agi_port=0,
    )
    await rt.start()
    yield rt
    await rt.stop()


@pytest_asyncio.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        await sign_in(c, runtime.sessions, Role.OPERATOR)
        yield c


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_change_while_callers_arrive(runtime: Runtime, client: httpx.AsyncClient):
    first = (await client.get("/metrics")).text
    names = {k[0] for k in samples(first)}
    assert "hotline_seats" in names
    assert samples(first)[("hotline_seats", (("state", "ready"),))] == 8
    runtime.simulator.run_traffic(
        TrafficSpec(calls=None, calls_per_hour=600.0, patience_mean_s=60.0, talk_mean_s=120.0)
    )
    await asyncio.sleep(1.5)  # 15 simulated minutes
    second = (await client.get("/metrics")).text
    s2 = samples(second)
    assert REQUIRED <= {k[0] for k in s2}
    offered = s2[("hotline_calls_offered_total", (("queue", "hotline"),))]
    assert offered > 0
    # no phone number anywhere in the metrics text (the simulated ones are 138 + 8 digits)
    assert not re.search(r"138[\d*]{8}", second)
    assert sum(v for (n, _), v in s2.items() if n == "hotline_seats") == 8


async def test_health_ready_and_problem_details(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"ami": True, "database": True}
    r = await client.get("/api/v1/tickets/12345")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "check digit" in r.json()["detail"]
    r = await client.get(f"/api/v1/tickets/{make_number(9_999_999)}")  # valid, not stored
    assert r.status_code == 404 and r.json()["title"] == "Not Found"
    r = await client.get("/api/v1/tickets", params={"limit": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "limit"


async def test_readyz_503_when_link_down(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await runtime.link.close()
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["ami"] is False and "ami" in r.json()["detail"]
    text = (await client.get("/metrics")).text
    assert samples(text)[("hotline_ami_connected", ())] == 0


async def test_answered_calls_become_tickets_with_the_api(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    done = runtime.simulator.run_traffic(
        TrafficSpec(calls=20, hours=0.05, patience_mean_s=600.0, talk_mean_s=30.0)
    )
    await asyncio.wait_for(done, 30)
    await runtime.settle()
    rows = (await client.get("/api/v1/tickets", params={"limit": 100})).json()
    assert len(rows) == runtime.controller.calls.totals().answered > 0
    t = rows[0]
    assert t["channel"] == "phone" and "*" in t["caller"]
    # every caller went through the IVR over FastAGI before the queue
    s = samples((await client.get("/metrics")).text)
    ivr = surveys = 0.0
    for (n, labels), v in s.items():
        if n == "hotline_ivr_sessions_total":
            if dict(labels)["menu"] == "survey":
                surveys += v
            else:
                ivr += v
    assert ivr == 20
    # and the callers whose operator hung up answered the survey after the call
    assert 0 < surveys < 20
    one = (await client.get(f"/api/v1/tickets/{t['number']}")).json()
    assert one["linkedid"] == t["linkedid"]


def test_mask_number() -> None:
    assert mask_number("13800001234") == "138****1234"
    assert mask_number("5550005") == "5**0005"
    assert mask_number("110") == "***"


def promtool() -> str | None:
    found = shutil.which("promtool")
    local = Path(__file__).resolve().parents[2] / ".venv" / "tools" / "promtool"
    return found or (str(local) if local.exists() else None)


async def test_promtool_check_metrics(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tool = promtool()
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI: scripts/install-promtool.sh should provide it")
        pytest.skip("promtool not installed (scripts/install-promtool.sh installs it)")
    done = runtime.simulator.run_traffic(TrafficSpec(calls=10, hours=0.02))
    await asyncio.wait_for(done, 30)
    text = (await client.get("/metrics")).text
    proc = await asyncio.create_subprocess_exec(
        tool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(text.encode())
    assert proc.returncode == 0, out.decode()
