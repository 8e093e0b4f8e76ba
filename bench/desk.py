"""Desk benchmark: 150 operators on WebSockets against the embedded PBX at a busy hour.

``python -m bench.desk`` (``--seats 150 --calls 3000 --hours 1 --speed 60``): the whole
process (embedded PBX, IVR over FastAGI, AMI, controller, SQLite, uvicorn) with one signed-in
operator per seat, each on the live stream (``/api/v1/me/stream``) from a separate client
process (so the server's memory is the server's). Figures, not a test:

* ``screen_pop_p50_ms`` / ``screen_pop_p99_ms``: from the controller's ``CallAnswered``
  notice, published in the same synchronous step that decodes the ``AgentConnect`` frame just
  read from the AMI socket, to the pop's ``send`` on the WebSocket returning
  (``hotline.desk.Desk.pop_latencies``);
* ``rss_per_operator_kb``: the server process's RSS grown by connecting the operators' streams
  (their sockets, buffers and handler tasks), per operator, before any call;
* ``pops_sent`` / ``pops_received``, ``answered``, and the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["run"]


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _clients(port: int) -> None:
    """The client process: tokens from stdin (one JSON list), one stream each; runs until
    stdin closes, then prints what it received."""
    from websockets.asyncio.client import connect

    tokens = json.loads(sys.stdin.readline())
    received = {"connected": 0, "messages": 0, "failed": 0}
    url = f"ws://127.0.0.1:{port}/api/v1/me/stream"

    async def one(token: str) -> None:
        try:
            async with connect(url, subprotocols=["bearer", token], max_queue=None) as ws:  # type: ignore[arg-type]
                async for raw in ws:
                    received["messages"] += 1
                    if '"kind": "connected"' in str(raw):
                        received["connected"] += 1
        except Exception:
            received["failed"] += 1

    tasks = [asyncio.ensure_future(one(t)) for t in tokens]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(received), flush=True)


async def _bench(seats: int, calls: int, hours: float, speed: float) -> dict[str, Any]:
    import secrets

    import uvicorn

    from agents.access_tokens import AccessTokens
    from agents.models import User
    from agents.passwords import hash_password
    from agents.roles import Role
    from config.settings import Settings
    from hotline.app import create_app
    from hotline.runtime import Runtime
    from pbx.simulator import SimulatorConfig, TrafficSpec

    tmp = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    secret = secrets.token_urlsafe(48)
    rt = Runtime(
        Settings(
            _env_file=None,
            spool_dir=tmp / "spool",
            draft_sweep_s=5.0,
            token_secret=secret,
            access_token_ttl_s=86400.0,
        ),
        database_url=f"sqlite:///{tmp / 'desk.db'}",
        simulation=SimulatorConfig(seats=seats, speed=speed, seed=1, ivr=True),
        agi_port=0,
        durable=False,
    )
    await rt.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(rt), host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio"
        )
    )
    serving = asyncio.ensure_future(server.serve())
    child: asyncio.subprocess.Process | None = None
    try:
        for _ in range(3000):
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        assert rt.simulator is not None and rt.sessions is not None
        interfaces = [s.interface for s in rt.simulator.seats]
        # One password hash for every operator, and tokens minted with the server's key: 150
        # argon2 hashes and sign-ins would take minutes, while the PBX's clock (the tokens'
        # clock) runs at ``speed``. Signing in through the API is the end-to-end test's.
        one_hash = hash_password("bench password long enough")
        async with rt.sessions() as session:
            users = [
                User(
                    username=f"op{i + 1}",
                    display_name=f"op{i + 1}",
                    role=str(Role.OPERATOR),
                    password_hash=one_hash,
                    seat=iface,
                    active=True,
                    created_at=datetime.now(UTC),
                )
                for i, iface in enumerate(interfaces)
            ]
            session.add_all(users)
            await session.commit()
        minted = AccessTokens(secret, lambda: rt.now(), ttl_s=86400.0)
        tokens = [minted.issue(u.id, u.username, Role.OPERATOR)[0] for u in users]
        rss_before = _rss_kb()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.desk",
            "--clients",
            str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write((json.dumps(tokens) + "\n").encode())
        await child.stdin.drain()
        await child.stdout.readline()  # "ready"
        for _ in range(1200):
            if rt.desk.streams_open >= len(interfaces):
                break
            await asyncio.sleep(0.05)
        connected = rt.desk.streams_open
        await asyncio.sleep(0.5)
        rss_after = _rss_kb()
        t0 = time.perf_counter()
        await rt.simulator.run_traffic(TrafficSpec(calls=calls, hours=hours))
        await rt.settle()
        wall = time.perf_counter() - t0
        await asyncio.sleep(0.5)
        child.stdin.close()
        received = json.loads((await child.stdout.readline()) or b"{}")
        lat = [x * 1000.0 for x in rt.desk.pop_latencies]
        return {
            "seats": seats,
            "streams_connected": connected,
            "calls": calls,
            "speed": speed,
            "answered": rt.controller.calls_ended,
            "pops_sent": len(lat),
            "pops_received": received.get("connected"),
            "messages_received": received.get("messages"),
            "streams_failed": received.get("failed"),
            "screen_pop_p50_ms": round(_pct(lat, 0.50) or 0.0, 3) if lat else None,
            "screen_pop_p99_ms": round(_pct(lat, 0.99) or 0.0, 3) if lat else None,
            "screen_pop_mean_ms": round(statistics.fmean(lat), 3) if lat else None,
            "rss_per_operator_kb": round((rss_after - rss_before) / max(1, connected), 1),
            "rss_mb": round(rss_after / 1024, 1),
            "wall_s": round(wall, 1),
        }
    finally:
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
        server.should_exit = True
        await serving
        await rt.stop()


def run(results: dict[str, Any], **kw: Any) -> None:
    results["desk"] = asyncio.run(_bench(**kw))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seats", type=int, default=150)
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--speed", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.clients:
        asyncio.run(_clients(a.clients))
        return
    results: dict[str, Any] = {}
    run(results, seats=a.seats, calls=a.calls, hours=a.hours, speed=a.speed)
    print(json.dumps(results["desk"], ensure_ascii=False))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "desk.json").write_text(json.dumps(results["desk"], indent=2) + "\n")


if __name__ == "__main__":
    main()
