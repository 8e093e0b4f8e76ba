"""Desk benchmark: operators on WebSockets against the embedded PBX at a busy hour, measured
from the operators' side (issue 11, item 9).

Each step is the whole process (embedded PBX, IVR over FastAGI, AMI, controller, SQLite,
uvicorn) in a fresh Python process of its own (so its memory is its own), with one signed-in
operator per seat on the live stream (``/api/v1/me/stream``), the operators being one or two
*client processes* (``websockets`` and ``httpx``). Every call answered at a seat pops on that
operator's stream; the operator submits the call's draft over HTTP
(``POST /api/v1/me/drafts/{call}/submit`` with an ``Idempotency-Key``) 0.3 to 1.5 s later,
while the caller is on the line (150 s mean talk time: 15 s at the bench's speed, 10).

**The load**: a busy hour is 20 calls per operator per hour (150 s talk: 83 % occupied). The
embedded PBX's clock runs at 10 times the wall's, so the calls per second are ten busy hours'
(150 operators: 8.3 calls/s; 1,000: 55 calls/s), on one event loop that also runs the PBX, the
IVR and SQLite: the figures are an upper bound for a real busy hour, where the PBX is another
machine. (At 60 times, 150 operators bring 50 calls/s: pop p50 56 ms, p99 451 ms, once, on
this 2-core machine shared with other work; past the bend.) Each step records the machine's
1-minute load average before its calls (``load_avg_1m``): above the 2 cores, the figures
include waiting for a core.

**Screen pop, end to end**: from the moment the AMI reader read the bytes of the
``AgentConnect`` frame (``pbx.ami.AmiLink.received_at``, ``time.monotonic()`` taken in
``data_received``; the frame is decoded, translated and the controller's ``CallAnswered``
published in that same synchronous step) to the moment the client process has the pop in
hand (``time.monotonic()`` as ``websockets`` gives it the message, before it parses it).
Both are ``CLOCK_MONOTONIC``, one clock for every process of a Linux machine (not
``perf_counter``, whose origin is the process's own). The pop carries no timestamp of ours:
the bench subscribes to the controller's ``CallAnswered`` itself and keeps, per call
(Uniqueid, the pop's ``call``), the link's ``received_at`` at that instant, a record on the
server's side; the client reports the receive time per call; the bench joins the two. So
the public message stays as it is, and the figure includes everything the operator waits
for: the caller's earlier tickets (read from the store when the caller joined the queue),
the draft's hand-over, JSON, the socket, the client's own event loop.

Figures per step: ``screen_pop_p50_ms`` / ``screen_pop_p99_ms`` (above);
``submit_p50_ms`` / ``submit_p99_ms`` (the client's ``POST`` to its answer, ``perf_counter``
in the client); ``rss_per_operator_kb`` (the step process's RSS grown by connecting its
operators' streams, after ten warm-up streams, per operator, before any call); failures
(streams refused or closed; ``pops_lost``: calls answered a second or more before the step's
end whose pop never arrived; submits not answered 200 even after one retry with the same key).

And why a pop is late: ``screen_pop_send_p99_ms`` (the server's share: the notice to the
``send`` returning, ``hotline.desk.Desk.pop_latencies``); ``loop_lag_p50_ms`` /
``loop_lag_p99_ms`` (how late the server's event loop wakes a 10 ms sleep: the queue every
pop waits in); the collector's pauses during the calls (``gc_full_collections``,
``gc_full_max_ms``, ``gc_young_max_ms``; the step freezes what the start made, as ``hotline
serve`` does, unless ``--no-gc-freeze``); ``pops_waiting_for_store`` (the pops that waited for
the caller's earlier tickets, read from the store when the caller joined and not read yet at
the answer) and ``screen_pop_p99_ms_store_read_before`` (the p99 of the others).

``python -m bench.desk`` runs the steps of ``make bench`` (150 operators over 0.15 of a busy
hour, then 300, 600 and 1,000 over 0.05 each, every step at 20 calls per operator per hour:
the load grows with the operators; a step ends a few seconds after its last caller arrived)
and says where it bends: the first step whose pop p99 passes the 10 ms goal or that has
failures. ``--step --seats N --calls C --hours H`` runs one step.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["STEPS", "run"]

#: (operators, hours of traffic) per step of ``make bench``; 20 calls per operator per hour.
STEPS = ((150, 0.15), (300, 0.05), (600, 0.05), (1000, 0.05))
CALLS_PER_SEAT_HOUR = 20
#: The PBX's clock against the wall: 10 busy hours' calls per hour of wall time.
SPEED = 10.0
#: Seconds after the last arrival before the step ends (talk: 150 s mean, 15 s at SPEED).
GRACE_S = 4.0
#: The screen pop's goal (issue 11): p99 under 10 ms.
POP_GOAL_MS = 10.0
#: Streams per client process.
PER_CLIENT = 500
WARM = 10


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


# -- the operators (a client process) ---------------------------------------------------------


async def _clients() -> None:
    """Reads one JSON line (port, tokens, warm), opens ``warm`` streams and says ``warm``;
    on ``go`` opens the rest and says ``ready`` once each stream has its first message; on
    ``stop`` waits for its submits, closes and prints what it measured (one JSON line)."""
    import httpx
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()

    async def line() -> str:
        return await loop.run_in_executor(None, sys.stdin.readline)

    job = json.loads(await line())
    port, tokens, warm = job["port"], job["tokens"], job["warm"]
    url = f"ws://127.0.0.1:{port}/api/v1/me/stream"
    received: dict[str, float] = {}
    submit_ms: list[float] = []
    statuses: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    counts = {"messages": 0, "pops": 0}
    submits: set[asyncio.Task[None]] = set()
    rng = random.Random(len(tokens))
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        timeout=60.0,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )

    async def submit(token: str, call: str, n: int) -> None:
        await asyncio.sleep(rng.uniform(0.3, 1.5))  # the operator types while the caller talks
        body: dict[str, Any] = {"kind": "consultation", "description": "路灯不亮，已登记"}
        if n % 2:
            body["answer"] = "已告知办理渠道"
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{call}"}
        t = time.perf_counter()
        for attempt in (1, 2):
            try:
                r = await http.post(f"/api/v1/me/drafts/{call}/submit", json=body, headers=headers)
                break
            except httpx.TransportError as e:
                # e.g. a pooled connection the server closed as idle (uvicorn's keep-alive:
                # 5 s) just as this request went out: a desktop retries with the same key
                statuses[f"retried after {type(e).__name__}"] += 1
                if attempt == 2:
                    statuses[type(e).__name__] += 1
                    return
        submit_ms.append((time.perf_counter() - t) * 1000.0)
        statuses[str(r.status_code)] += 1

    async def one(token: str, opened: asyncio.Future[None]) -> None:
        try:
            offered: Any = ["bearer", token]
            async with connect(url, subprotocols=offered, max_queue=None, open_timeout=120) as ws:
                async for raw in ws:
                    at = time.monotonic()  # first: the moment the pop is in hand
                    counts["messages"] += 1
                    if not opened.done():
                        opened.set_result(None)
                    msg = json.loads(raw)
                    if msg.get("kind") == "connected":
                        received[msg["call"]] = at
                        counts["pops"] += 1
                        if msg.get("draft"):
                            task = loop.create_task(submit(token, msg["call"], counts["pops"]))
                            submits.add(task)
                            task.add_done_callback(submits.discard)
                code = ws.close_code
                closed[str(code)] += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:
            closed[type(e).__name__] += 1
        if not opened.done():
            opened.set_result(None)

    def open_streams(some: list[str]) -> list[asyncio.Future[None]]:
        futures = [loop.create_future() for _ in some]
        for token, fut in zip(some, futures, strict=True):
            streams.append(loop.create_task(one(token, fut)))
        return futures

    streams: list[asyncio.Task[None]] = []
    await asyncio.gather(*open_streams(tokens[:warm]))
    print("warm", flush=True)
    await line()  # go
    await asyncio.gather(*open_streams(tokens[warm:]))
    print("ready", flush=True)
    await line()  # stop
    if submits:
        await asyncio.wait(set(submits), timeout=60)
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    await http.aclose()
    print(
        json.dumps(
            {
                "received": received,
                "submit_ms": submit_ms,
                "statuses": statuses,
                "closed": closed,
                **counts,
            }
        ),
        flush=True,
    )


# -- one step (a process of its own) -----------------------------------------------------------


async def _step(
    seats: int, calls: int, hours: float, speed: float, gc_freeze: bool = True
) -> dict[str, Any]:
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
    from routing import notices as nt

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
    if gc_freeze:
        gc.freeze()  # as `hotline serve` does once started (hotline/cli/serve.py)
    assert rt.simulator is not None and rt.sessions is not None and rt.link is not None
    link = rt.link
    #: Uniqueid -> when the AMI reader read the frame that answered the call (see above).
    read_at: dict[str, float] = {}

    #: Diagnosis: the caller's earlier tickets, read from the store while they wait (the
    #: desk's task, looked up right after the desk made it), and the calls whose pop had to
    #: wait for that read because it was not done when the call was answered.
    reading: dict[str, asyncio.Future[Any]] = {}
    waited: set[str] = set()

    def joined(n: nt.CallJoined) -> None:
        found = rt.desk._joined.get(n.uniqueid)
        if found is not None and found.history is not None:
            reading[n.uniqueid] = found.history

    def answered(n: nt.CallAnswered) -> None:
        read_at[n.uniqueid] = link.received_at
        history = reading.pop(n.uniqueid, None)
        if history is None or not history.done():
            waited.add(n.uniqueid)

    rt.bus.subscribe(nt.CallJoined, joined, name="bench")
    rt.bus.subscribe(nt.CallAnswered, answered, name="bench")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(rt),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            ws="websockets-sansio",
            backlog=4096,
        )
    )
    serving = asyncio.ensure_future(server.serve())
    children: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(3000):
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        interfaces = [s.interface for s in rt.simulator.seats]
        # One password hash for every operator and tokens minted with the server's key: a
        # thousand argon2 hashes and sign-ins would take minutes. Signing in through the API
        # is the end-to-end test's (tests/hotline/test_desk_e2e.py).
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
        minted = AccessTokens(secret, time.time, ttl_s=86400.0)  # the app's people clock
        tokens = [minted.issue(u.id, u.username, Role.OPERATOR)[0] for u in users]
        slices = [tokens[i : i + PER_CLIENT] for i in range(0, len(tokens), PER_CLIENT)]
        for i, some in enumerate(slices):
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.desk",
                "--clients",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 26,  # the report: a line of every call's receive time
            )
            children.append(child)
            job = {"port": port, "tokens": some, "warm": WARM if i == 0 else 0}
            await _say(child, json.dumps(job))

        async def hear_all(word: str) -> None:
            for child in children:
                assert child.stdout is not None
                got = (await child.stdout.readline()).decode().strip()
                if got != word:
                    raise RuntimeError(f"a client said {got!r}, not {word!r}")

        await hear_all("warm")
        await asyncio.sleep(0.5)
        rss_before, streams_before = _rss_kb(), rt.desk.streams_open
        t_connect = time.perf_counter()
        for child in children:
            await _say(child, "go")
        await hear_all("ready")
        connect_s = time.perf_counter() - t_connect
        connected = rt.desk.streams_open
        await asyncio.sleep(0.5)
        rss_after = _rss_kb()
        sent_before = len(rt.desk.pop_latencies)
        load = os.getloadavg()[0]
        lag_ms: list[float] = []
        ticking = asyncio.ensure_future(_tick(lag_ms))
        gc_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        gc_started = [0.0]

        def gc_timed(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_ms[info["generation"]].append((time.perf_counter() - gc_started[0]) * 1000)

        gc.callbacks.append(gc_timed)
        t0 = time.perf_counter()
        # The callers arrive over ``hours``; those still on the line a few seconds after the
        # last arrival are dropped with the PBX (the tail of the talk times would add minutes).
        done = rt.simulator.run_traffic(TrafficSpec(calls=calls, hours=hours))
        await asyncio.wait({done}, timeout=hours * 3600.0 / speed + GRACE_S)
        sent = len(rt.desk.pop_latencies) - sent_before
        stop_at = time.monotonic()
        for child in children:
            await _say(child, "stop")
        reports = []
        for child in children:
            assert child.stdout is not None
            reports.append(json.loads((await child.stdout.readline()) or b"{}"))
        wall = time.perf_counter() - t0
        received: dict[str, float] = {}
        submit_ms: list[float] = []
        statuses: Counter[str] = Counter()
        closed: Counter[str] = Counter()
        for r in reports:
            received.update(r.get("received", {}))
            submit_ms += r.get("submit_ms", [])
            statuses.update(r.get("statuses", {}))
            closed.update(r.get("closed", {}))
        pop_ms = [(t - read_at[c]) * 1000.0 for c, t in received.items() if c in read_at]
        ready_ms = [
            (t - read_at[c]) * 1000.0
            for c, t in received.items()
            if c in read_at and c not in waited
        ]
        lost = sum(1 for c, t in read_at.items() if t < stop_at - 1.0 and c not in received)
        ticking.cancel()
        gc.callbacks.remove(gc_timed)
        send_ms = [x * 1000.0 for x in list(rt.desk.pop_latencies)[sent_before:]][:sent]
        submits_ok = statuses.get("200", 0)
        return {
            "operators": seats,
            "streams_connected": connected,
            "connect_s": round(connect_s, 1),
            "calls": calls,
            "hours": hours,
            "speed": speed,
            "load_avg_1m": round(load, 2),
            "pops_sent": len(send_ms),
            "pops_received": len(received),
            "pops_lost": lost,
            "screen_pop_p50_ms": _pct(pop_ms, 0.50),
            "screen_pop_p99_ms": _pct(pop_ms, 0.99),
            "screen_pop_max_ms": round(max(pop_ms), 3) if pop_ms else None,
            "screen_pop_mean_ms": round(statistics.fmean(pop_ms), 3) if pop_ms else None,
            "screen_pop_send_p99_ms": _pct(send_ms, 0.99),
            "pops_waiting_for_store": len(waited & received.keys()),
            "screen_pop_p99_ms_store_read_before": _pct(ready_ms, 0.99),
            "gc_frozen": gc_freeze,
            "gc_full_collections": len(gc_ms[2]),
            "gc_full_max_ms": round(max(gc_ms[2]), 1) if gc_ms[2] else None,
            "gc_young_max_ms": round(max(gc_ms[0] + gc_ms[1]), 1) if gc_ms[0] else None,
            "loop_lag_p50_ms": _pct(lag_ms, 0.50),
            "loop_lag_p99_ms": _pct(lag_ms, 0.99),
            "submits": len(submit_ms),
            "submits_ok": submits_ok,
            "submit_statuses": dict(statuses),
            "submit_p50_ms": _pct(submit_ms, 0.50),
            "submit_p99_ms": _pct(submit_ms, 0.99),
            "streams_closed": dict(closed),
            "failures": (seats - connected)
            + sum(closed.values())
            + lost
            + sum(n for k, n in statuses.items() if k != "200" and not k.startswith("retried")),
            "rss_per_operator_kb": round(
                (rss_after - rss_before) / max(1, connected - streams_before), 1
            ),
            "rss_mb": round(rss_after / 1024, 1),
            "wall_s": round(wall, 1),
        }
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
        server.should_exit = True
        await serving
        await rt.stop()


async def _tick(lag_ms: list[float]) -> None:
    """The server's event loop's lag: how late a 10 ms sleep wakes (what every pop waits
    behind when the loop is busy)."""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        lag_ms.append((time.perf_counter() - t - 0.01) * 1000.0)


async def _say(child: asyncio.subprocess.Process, line: str) -> None:
    assert child.stdin is not None
    child.stdin.write((line + "\n").encode())
    await child.stdin.drain()


# -- make bench ----------------------------------------------------------------------------------


def _run_step(seats: int, hours: float, speed: float = SPEED) -> dict[str, Any]:
    """One step in a fresh process; its JSON line."""
    calls = round(CALLS_PER_SEAT_HOUR * seats * hours)
    out = subprocess.run(
        [
            *(sys.executable, "-m", "bench.desk", "--step", "--seats", str(seats)),
            *("--calls", str(calls), "--hours", str(hours), "--speed", str(speed)),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _bends(steps: list[dict[str, Any]]) -> int | None:
    """The first step's operators whose pop p99 passes the goal or that has failures."""
    for s in steps:
        if s["failures"] or (s["screen_pop_p99_ms"] or 0.0) >= POP_GOAL_MS:
            return int(s["operators"])
    return None


def run(results: dict[str, Any], steps: tuple[tuple[int, float], ...] = STEPS) -> None:
    """``results["desk"]``: the first step's figures (150 operators), every step, and where
    it bends."""
    done = []
    for seats, hours in steps:
        s = _run_step(seats, hours)
        done.append(s)
        print(
            f"desk, {s['operators']} operators, {s['calls']} calls over {s['hours']} h at "
            f"{s['speed']:g}x: screen pop p50 {s['screen_pop_p50_ms']} ms, p99 "
            f"{s['screen_pop_p99_ms']} ms (server's share p99 {s['screen_pop_send_p99_ms']} ms); "
            f"submit p50 {s['submit_p50_ms']} ms, p99 {s['submit_p99_ms']} ms; "
            f"{s['rss_per_operator_kb']} kB per operator; failures {s['failures']}; "
            f"{s['wall_s']} s",
            flush=True,
        )
    first = done[0]
    keys = (
        "operators",
        "screen_pop_p50_ms",
        "screen_pop_p99_ms",
        "submit_p50_ms",
        "submit_p99_ms",
        "rss_per_operator_kb",
    )
    results["desk"] = {
        **{k: first[k] for k in keys},
        "screen_pop_goal_p99_ms": POP_GOAL_MS,
        "bends_at_operators": _bends(done),
        "steps": done,
    }
    bend = results["desk"]["bends_at_operators"]
    print(f"desk: bends at {bend} operators" if bend else "desk: no bend up to the last step")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--step", action="store_true", help="one step (else make bench's steps)")
    p.add_argument("--seats", type=int, default=150)
    p.add_argument("--calls", type=int, default=450)
    p.add_argument("--hours", type=float, default=0.15)
    p.add_argument("--speed", type=float, default=SPEED)
    p.add_argument(
        "--no-gc-freeze", action="store_true", help="one step without `hotline serve`'s gc.freeze()"
    )
    p.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.clients:
        asyncio.run(_clients())
        return
    if a.step:
        import logging

        logging.disable(logging.WARNING)
        print(
            json.dumps(asyncio.run(_step(a.seats, a.calls, a.hours, a.speed, not a.no_gc_freeze)))
        )
        return
    results: dict[str, Any] = {}
    run(results)
    print(json.dumps(results["desk"], indent=2, ensure_ascii=False))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "desk.json").write_text(json.dumps(results["desk"], indent=2) + "\n")


if __name__ == "__main__":
    main()
