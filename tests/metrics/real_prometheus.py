"""A real Prometheus server (Debian's binary, from scripts/install-promtool.sh) on a free port,
scraping a real ``hotline serve`` with the embedded PBX every second and loading the shipped
rules; the tests ask it through its HTTP API (:class:`PrometheusApi`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from tests.hotline.test_app import promtool
from tests.hotline.test_startup import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "metrics" / "prometheus" / "rules.yml"
#: The shipped Prometheus configuration (it loads RULES).
CONFIG = ROOT / "metrics" / "prometheus" / "prometheus.yml"
HOTLINE = Path(sys.executable).parent / "hotline"
#: Prometheus's scrape and rule-evaluation interval here.
SCRAPE_S = 1

T = TypeVar("T")


def prometheus() -> str:
    found = shutil.which("prometheus")
    local = ROOT / ".venv" / "tools" / "prometheus"
    tool = found or (str(local) if local.exists() else None)
    if tool is None or promtool() is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus missing in CI: scripts/install-promtool.sh should provide it")
        pytest.skip("prometheus not installed (scripts/install-promtool.sh installs it)")
    return tool


async def until(check: Callable[[], Awaitable[T]], within: float, what: str) -> T:
    """``check()``'s first true answer, asked every second; fails after ``within`` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await check()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(1.0)


class PrometheusApi:
    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self._client = client
        self.base = base

    async def get(self, path: str, **params: Any) -> Any:
        """The ``data`` of ``GET /api/v1/{path}``; None while Prometheus does not answer 200."""
        try:
            r = await self._client.get(f"{self.base}/{path}", params=params)
        except httpx.HTTPError:
            return None
        return r.json()["data"] if r.status_code == 200 else None

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` now (empty while it has none)."""
        data = await self.get("query", query=expr)
        return list(data["result"]) if data else []


@asynccontextmanager
async def scraped_serve(
    tmp_path: Path,
    env: dict[str, str],
    before: Callable[[str], Awaitable[None]] | None = None,
) -> AsyncIterator[PrometheusApi]:
    """``hotline serve`` (its ``HOTLINE_*`` settings: ``env`` over a scratch SQLite database,
    spool and free ports) scraped by Prometheus with the shipped rules, once Prometheus sees
    the target up. ``before(database_url)`` runs before the backend starts (to seed it)."""
    binary = prometheus()
    http_port, prom_port = free_port(), free_port()
    database_url = f"sqlite:///{tmp_path / 'serve.db'}"
    if before is not None:
        await before(database_url)
    full_env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_SPOOL_DIR": str(tmp_path / "spool"),
        "HOTLINE_AGI_PORT": "0",
        "HOTLINE_HTTP_PORT": str(http_port),
        **env,
    }
    # The shipped configuration, its intervals shortened and its target this backend's port.
    shipped = yaml.safe_load(CONFIG.read_text("utf-8"))
    shipped["global"] = {"scrape_interval": f"{SCRAPE_S}s", "evaluation_interval": f"{SCRAPE_S}s"}
    shipped["rule_files"] = [str(CONFIG.parent / f) for f in shipped["rule_files"]]
    (job,) = shipped["scrape_configs"]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{http_port}"]}]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(shipped), "utf-8")
    serve = await asyncio.create_subprocess_exec(
        str(HOTLINE), "serve", env=full_env, stdout=asyncio.subprocess.DEVNULL,
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
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            api = PrometheusApi(client, f"http://127.0.0.1:{prom_port}/api/v1")

            async def target_up() -> bool:
                data = await api.get("targets")
                return bool(data) and any(t["health"] == "up" for t in data["activeTargets"])

            await until(target_up, 60, "Prometheus scraping hotline serve")
            yield api
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
