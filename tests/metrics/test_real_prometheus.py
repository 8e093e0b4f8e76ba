"""A real Prometheus server (Debian's binary, from scripts/install-promtool.sh) scrapes a real
`hotline serve` with the embedded PBX, loads the shipped rules, evaluates the recording rule,
and fires `HotlineCallerWaitingLong` once one overwhelmed seat leaves a caller waiting over
two minutes (simulated at 60x), all checked through Prometheus's HTTP API."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.hotline.test_app import promtool
from tests.hotline.test_startup import free_port

pytestmark = pytest.mark.e2e

RULES = Path(__file__).resolve().parents[2] / "metrics" / "prometheus" / "rules.yml"
HOTLINE = Path(sys.executable).parent / "hotline"


def prometheus() -> str:
    found = shutil.which("prometheus")
    local = Path(__file__).resolve().parents[2] / ".venv" / "tools" / "prometheus"
    tool = found or (str(local) if local.exists() else None)
    if tool is None or promtool() is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus missing in CI: scripts/install-promtool.sh should provide it")
        pytest.skip("prometheus not installed (scripts/install-promtool.sh installs it)")
    return tool


async def _until(check, within: float, what: str):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await check()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(1.0)


async def test_prometheus_scrapes_serve_evaluates_the_rules_and_an_alert_fires(
    tmp_path: Path,
) -> None:
    binary = prometheus()
    http_port, prom_port = free_port(), free_port()
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "HOTLINE_SPOOL_DIR": str(tmp_path / "spool"),
        "HOTLINE_AGI_PORT": "0",
        "HOTLINE_HTTP_PORT": str(http_port),
        # one seat, callers every few seconds who wait for ever: the queue grows
        "HOTLINE_SIM_SEATS": "1",
        "HOTLINE_SIM_SPEED": "60",
        "HOTLINE_SIM_SEED": "3",
        "HOTLINE_SIM_CALLS_PER_HOUR": "600",
        "HOTLINE_SIM_TALK_MEAN_S": "600",
        "HOTLINE_SIM_PATIENCE_MEAN_S": "100000",
        "HOTLINE_SIM_OPERATORS": "false",
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: hotline\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{http_port}']\n",
        "utf-8",
    )
    serve = await asyncio.create_subprocess_exec(
        str(HOTLINE), "serve", env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    prom = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{prom_port}/api/v1"
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:

            async def get(path: str, **params: str) -> dict | None:
                try:
                    r = await client.get(f"{api}/{path}", params=params)
                except httpx.HTTPError:
                    return None
                return r.json()["data"] if r.status_code == 200 else None

            async def target_up() -> bool:
                data = await get("targets")
                return bool(data) and any(t["health"] == "up" for t in data["activeTargets"])

            await _until(target_up, 60, "Prometheus scraping hotline serve")
            rules = await get("rules")
            assert rules is not None
            names = {r["name"] for g in rules["groups"] for r in g["rules"]}
            assert {"queue:hotline_answer_ratio:rate5m", "HotlineCallerWaitingLong"} <= names
            assert all(r["health"] != "err" for g in rules["groups"] for r in g["rules"])

            async def recorded() -> list:
                data = await get("query", query="queue:hotline_answer_ratio:rate5m")
                return data["result"] if data else []

            (sample,) = await _until(recorded, 60, "the recording rule's answer rate")
            assert sample["metric"]["queue"] == "hotline" and 0 <= float(sample["value"][1]) <= 1

            async def firing() -> list:
                data = await get("alerts")
                return [
                    a
                    for a in (data or {}).get("alerts", [])
                    if a["labels"]["alertname"] == "HotlineCallerWaitingLong"
                    and a["state"] == "firing"
                ]

            (alert,) = await _until(firing, 90, "HotlineCallerWaitingLong firing")
            assert alert["labels"]["queue"] == "hotline"
            waited = await get("query", query="hotline_queue_longest_wait_seconds")
            assert waited and float(waited["result"][0]["value"][1]) > 120
    finally:
        for proc in (prom, serve):
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
        for proc in (prom, serve):
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
