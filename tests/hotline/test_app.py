"""The HTTP face over a running backend with the embedded PBX."""

from __future__ import annotations

import asyncio
import collections
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
    """The series by name and labels but ``centre``, which every one carries: this
    controller's (the default centre)."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            labels = dict(s.labels)
            assert labels.pop("centre", None) == "city", s
            out[(s.name, tuple(sorted(labels.items())))] = s.value
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
    # no phone number anywhere in the metrics text (the simulated ones are 138 + 8 digits),
    # sample values aside (a ratio's digits, 0.1388888888888889, are not one)
    named = [ln if ln.startswith("#") else ln.rsplit(" ", 1)[0] for ln in second.splitlines()]
    assert not re.search(r"138[\d*]{8}", "\n".join(named))
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


#: The supervisors' live series (README, "Definitions"), each with a value after
#: :func:`busy_spell`.
LIVE_SERIES = {
    "hotline_calls_abandoned_total",
    "hotline_calls_abandoned_short_total",
    "hotline_calls_completed_total",
    "hotline_calls_answered_in_service_level_total",
    "hotline_calls_abandoned_in_service_level_total",
    "hotline_calls_answer_wait_seconds_total",
    "hotline_calls_handle_seconds_total",
    "hotline_queue_waiting_calls_by_priority",
    "hotline_queue_longest_wait_seconds",
    "hotline_queue_service_level_ratio",
    "hotline_queue_service_level2_ratio",
    "hotline_queue_average_speed_of_answer_seconds",
    "hotline_queue_average_handle_seconds",
    "hotline_service_level_threshold_seconds",
    "hotline_short_abandon_threshold_seconds",
    "hotline_seats_paused",
    "hotline_seat_state_seconds_total",
    "hotline_instant_resolution_ratio",
    "hotline_ivr_sessions_total",
}


async def busy_spell(runtime: Runtime) -> dict[tuple[str, tuple], float]:
    """Two seats paused (lunch, after-call work), more callers than the other six answer
    (some hang up, one is let go by Queue()'s maximum wait); then the six go to a meeting
    and callers wait, until two priorities are among them. The /metrics samples once the
    controller has every event."""
    assert runtime.gateway is not None and runtime.simulator is not None
    await runtime.gateway.pause_member("Local/8001@agents/n", True, reason="lunch")
    await runtime.gateway.pause_member("Local/8002@agents/n", True, reason="after_call_work")
    done = runtime.simulator.run_traffic(
        TrafficSpec(calls=40, hours=0.05, patience_mean_s=60.0, talk_mean_s=60.0, seed=3)
    )
    core = runtime.simulator.core
    core.caller_arrive("hotline", "13800009999", "王五", patience=None, talk=5.0, maxwait=2.0)
    await asyncio.wait_for(done, 60)
    for seat in range(8003, 8009):
        await runtime.gateway.pause_member(f"Local/{seat}@agents/n", True, reason="meeting")
    waiting = core.queues["hotline"].callers
    for n in range(40):  # they wait, each with the priority its IVR menu choice gives,
        core.caller_arrive("hotline", f"138000099{n:02d}", "赵六", patience=None, talk=5.0)
        await asyncio.sleep(0.05)
        if n >= 5 and len({c.priority for c in waiting}) > 1:  # until two priorities wait
            break
    await runtime.settle()
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return samples((await c.get("/metrics")).text)


async def test_live_series_agree_with_asterisks_own_counters(runtime: Runtime) -> None:
    """Through ``hotline serve``'s /metrics: the embedded PBX keeps app_queue's counters
    (callscompleted, callscompletedinsl, callsabandoned, callsabandonedinsl); the series give
    the same numbers, and the paused seats and the waiting caller's priority show."""
    s = await busy_spell(runtime)
    q = runtime.simulator.core.queues["hotline"]
    hq = (("queue", "hotline"),)
    assert q.completed > 0 and q.abandoned > 0 and 0 < q.completed_in_sl < q.completed
    assert s[("hotline_calls_completed_total", hq)] == q.completed
    assert s[("hotline_calls_answered_in_service_level_total", hq)] == q.completed_in_sl
    assert s[("hotline_calls_abandoned_in_service_level_total", hq)] == q.abandoned_in_sl
    abandoned = {
        dict(labels)["reason"]: v
        for (n, labels), v in s.items()
        if n == "hotline_calls_abandoned_total"
    }
    assert sum(abandoned.values()) == q.abandoned
    assert abandoned["timeout"] == 1 and abandoned["caller"] == q.abandoned - 1
    assert s[("hotline_queue_service_level_ratio", hq)] == pytest.approx(
        q.servicelevel_perf() / 100
    )
    assert s[("hotline_queue_service_level2_ratio", hq)] == pytest.approx(
        q.servicelevel_perf2() / 100
    )
    assert s[("hotline_seats_paused", (("reason", "lunch"),))] == 1
    assert s[("hotline_seats_paused", (("reason", "after_call_work"),))] == 1
    assert s[("hotline_seats_paused", (("reason", "meeting"),))] == 6
    # their priorities: the QUEUE_PRIO the IVR set, as Queue() read it
    wanted = collections.Counter(str(c.priority) for c in q.callers)
    assert len(wanted) > 1 and sum(wanted.values()) >= 6
    got = {
        dict(labels)["priority"]: v
        for (n, labels), v in s.items()
        if n == "hotline_queue_waiting_calls_by_priority" and v
    }
    assert got == wanted
    st = runtime.controller.calls.stats["hotline"]
    assert s[("hotline_queue_average_handle_seconds", hq)] > st.talk_s / st.completed > 0


async def test_promtool_check_metrics(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tool = promtool()
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI: scripts/install-promtool.sh should provide it")
        pytest.skip("promtool not installed (scripts/install-promtool.sh installs it)")
    await busy_spell(runtime)
    text = (await client.get("/metrics")).text
    valued = {n for (n, _), v in samples(text).items() if v > 0}
    assert LIVE_SERIES <= valued, LIVE_SERIES - valued
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
