"""Starting before Asterisk: ``hotline serve`` waits for it with back-off (healthy, not ready)
and connects when it comes up; a refused login is a configuration error that ends the process
with a message saying so."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from hotline.app import create_app
from hotline.runtime import ConfigurationError, Runtime
from pbx.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.e2e

EPOCH = 1_800_000_000.0
SECRET = "s3cret"
HOTLINE = Path(sys.executable).parent / "hotline"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def asterisk(port: int, secret: str = SECRET) -> Simulator:
    """The embedded PBX standing in for the Asterisk the backend is pointed at."""
    return Simulator(
        SimulatorConfig(seats=2, speed=100.0, epoch=EPOCH, secret=secret, auth_fail_delay_s=0.05)
    )


def settings(tmp_path: Path, port: int, secret: str = SECRET) -> Settings:
    return Settings(
        _env_file=None,
        ami_url=f"ami://hotline:{secret}@127.0.0.1:{port}",
        ami_backoff_base_s=0.05,
        ami_backoff_cap_s=0.2,
        spool_dir=tmp_path / "spool",
    )


def runtime(tmp_path: Path, port: int, secret: str = SECRET) -> Runtime:
    return Runtime(
        settings(tmp_path, port, secret),
        database_url=f"sqlite:///{tmp_path / 'start.db'}",
        agi_port=0,
    )


async def until(cond, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_serve_waits_for_asterisk_and_connects_when_it_comes_up(tmp_path) -> None:
    port = free_port()  # nothing listens there: connection refused
    rt = runtime(tmp_path, port)
    await rt.start()  # does not raise: Asterisk not up yet is an outage
    sim = asterisk(port)
    try:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://t"
        )
        async with client:
            assert (await client.get("/healthz")).status_code == 200
            r = await client.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"] == {"ami": False, "database": True}
            await asyncio.sleep(0.5)  # several attempts at the capped back-off
            assert not rt.link.connected
            await sim.start(host="127.0.0.1", port=port)
            await until(lambda: rt.link.ready)
            assert (await client.get("/readyz")).status_code == 200
            sim.core.caller_arrive("hotline", "13800001234", "张三", patience=100.0, talk=100.0)
            await until(lambda: "hotline" in rt.controller.calls.stats)
            metrics = (await client.get("/metrics")).text
            assert 'hotline_ami_connected{centre="city"} 1.0' in metrics
            assert 'hotline_ami_reconnects_total{centre="city"} 0.0' in metrics  # the first login
    finally:
        await rt.stop()
        await sim.stop()


async def test_wrong_secret_at_start_is_a_configuration_error(tmp_path) -> None:
    port = free_port()
    sim = asterisk(port)
    await sim.start(host="127.0.0.1", port=port)
    rt = runtime(tmp_path, port, secret="wrong")
    try:
        with pytest.raises(ConfigurationError, match=r"refused.*HOTLINE_AMI_URL.*manager\.conf"):
            await rt.start()
    finally:
        await rt.stop()
        await sim.stop()


class FakeServer:
    """What :meth:`Runtime.serve` needs of a uvicorn server."""

    def __init__(self) -> None:
        self.should_exit = False

    async def serve(self) -> None:
        while not self.should_exit:  # noqa: ASYNC110  (uvicorn polls should_exit too)
            await asyncio.sleep(0.01)


async def test_asterisk_coming_up_with_another_secret_stops_the_server(tmp_path) -> None:
    port = free_port()
    rt = runtime(tmp_path, port, secret="wrong")
    await rt.start()
    sim = asterisk(port)
    server = FakeServer()
    try:
        serving = asyncio.ensure_future(rt.serve(server))
        await asyncio.sleep(0.3)
        assert not serving.done()  # not up yet: waiting, not failing
        await sim.start(host="127.0.0.1", port=port)
        with pytest.raises(ConfigurationError, match="HOTLINE_AMI_URL"):
            await asyncio.wait_for(serving, 10)
        assert server.should_exit and rt.link.refused is not None
    finally:
        await rt.stop()
        await sim.stop()


# -- the command itself ------------------------------------------------------------------------


async def _spawn(tmp_path: Path, ami_port: int, http_port: int, secret: str = SECRET):
    env = {
        **os.environ,
        "HOTLINE_AMI_URL": f"ami://hotline:{secret}@127.0.0.1:{ami_port}",
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "HOTLINE_SPOOL_DIR": str(tmp_path / "spool"),
        "HOTLINE_AGI_PORT": "0",
        "HOTLINE_HTTP_PORT": str(http_port),
        "HOTLINE_AMI_BACKOFF_BASE_S": "0.05",
        "HOTLINE_AMI_BACKOFF_CAP_S": "0.3",
    }
    return await asyncio.create_subprocess_exec(
        str(HOTLINE),
        "serve",
        "--quiet",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_hotline_serve_before_asterisk(tmp_path) -> None:
    ami_port, http_port = free_port(), free_port()
    proc = await _spawn(tmp_path, ami_port, http_port)
    sim = asterisk(ami_port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            deadline = time.monotonic() + 60
            while True:  # the process starts (imports, migrations) and serves HTTP
                assert proc.returncode is None, "hotline serve exited"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "hotline serve did not come up"
                await asyncio.sleep(0.1)
            r = await client.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"]["ami"] is False
            await sim.start(host="127.0.0.1", port=ami_port)
            deadline = time.monotonic() + 20
            while (await client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "never ready after Asterisk came up"
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sim.stop()


async def test_hotline_serve_says_a_refused_login_is_a_configuration_error(tmp_path) -> None:
    ami_port = free_port()
    sim = asterisk(ami_port)
    await sim.start(host="127.0.0.1", port=ami_port)
    proc = await _spawn(tmp_path, ami_port, free_port(), secret="Wr0ng-s3cret")
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
        await sim.stop()
    text = stderr.decode()
    assert proc.returncode == 2, text
    assert "configuration error" in text and "HOTLINE_AMI_URL" in text
    assert "Traceback" not in text and "Wr0ng-s3cret" not in text  # secrets are never printed
