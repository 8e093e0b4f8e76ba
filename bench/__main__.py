"""``make bench`` (``python -m bench``): the controller's throughput, memory and lag.

1. Record a stream of at least 200,000 AMI events from the embedded PBX (a busy day, raw
   bytes exactly as the AMI server sends them).
2. A separate sender process serves those bytes over loopback TCP as fast as it can; the
   receiver is, in turn, (a) the whole controller: our codec, the link's frame path, the typed
   translation, the live state and its counters, and (b) panoramisk 1.4's own protocol parsing
   the same bytes into messages and doing nothing else. Events per second of each, their
   ratio, and the receiver's peak resident memory before and after.
3. The sender paces the stream at a steady 2,000 events/s, stamping each event's
   ``Timestamp`` with the moment it leaves; the controller records, for each event it applies,
   now - Timestamp: the lag p50/p99.

Results: one line of text per figure, and ``bench/results/bench-<time>.json``.
Options: ``--events N`` (default 200000), ``--lag-seconds S`` (default 10), ``--rate R``
(default 2000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
EPOCH = 1_800_000_000.0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- 1. the stream --------------------------------------------------------------------------
async def record(min_events: int, path: Path) -> int:
    from pbx.simulator import Simulator, SimulatorConfig, TrafficSpec
    from pbx.simulator.recorder import Recorder

    sim = Simulator(SimulatorConfig(seats=150, speed=1_000_000.0, epoch=EPOCH, seed=11))
    await sim.start(port=0)
    rec = Recorder(sim, ami=path)
    calls = 500
    try:
        while rec.events < min_events:
            await sim.run_traffic(
                TrafficSpec(calls=calls, hours=calls / 1200.0, start_at=sim.clock.now())
            )
    finally:
        rec.close()
        await sim.stop()
    return rec.events


# -- the sender (a separate process) ---------------------------------------------------------
def serve(path: str, rate: float, port_file: str) -> None:
    data = Path(path).read_bytes()
    srv = socket.create_server(("127.0.0.1", 0))
    Path(port_file).write_text(str(srv.getsockname()[1]))
    while True:
        conn, _ = srv.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if rate <= 0:
                conn.sendall(data)
            else:
                paced(conn, data, rate)
            try:
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1)
            except OSError:
                pass
        if rate > 0:
            return


def paced(conn: socket.socket, data: bytes, rate: float) -> None:
    head, _, body = data.partition(b"\r\n")
    conn.sendall(head + b"\r\n")
    frames = body.split(b"\r\n\r\n")
    start = time.time()
    sent = 0
    batch: list[bytes] = []
    for f in frames:
        if not f:
            continue
        lines = f.split(b"\r\n")
        now = time.time()
        lines = [
            b"Timestamp: %.6f" % now if line.startswith(b"Timestamp: ") else line for line in lines
        ]
        batch.append(b"\r\n".join(lines) + b"\r\n\r\n")
        sent += 1
        due = start + sent / rate
        if len(batch) >= 4 or due - time.time() > 0.001:
            conn.sendall(b"".join(batch))
            batch.clear()
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
    if batch:
        conn.sendall(b"".join(batch))


def start_sender(path: Path, rate: float) -> tuple[subprocess.Popen, int]:
    port_file = Path(tempfile.mktemp(prefix="bench-port-"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "--serve",
            str(path),
            "--rate",
            str(rate),
            "--port-file",
            str(port_file),
        ]
    )
    for _ in range(500):
        if port_file.exists() and port_file.read_text():
            port = int(port_file.read_text())
            port_file.unlink()
            return proc, port
        time.sleep(0.01)
    proc.kill()
    raise RuntimeError("sender did not start")


# -- 2. the receivers ----------------------------------------------------------------------------
async def run_controller(port: int, expect: int, lag: list[float] | None = None) -> float:
    from agents.operator import SimulatedOperator
    from hotline.controller import Controller
    from pbx.ami import AmiLink, _Protocol

    tickets = 0

    def on_ticket(d: object) -> None:
        nonlocal tickets
        tickets += 1

    c = Controller(operator=SimulatedOperator(resolve_share=0.57, seed=0), on_ticket=on_ticket)
    handle = c.handle
    if lag is not None:
        wall = time.time

        def on_event(e) -> None:
            handle(e)
            lag.append(wall() - e.at)
    else:
        on_event = handle
    link = AmiLink(host="127.0.0.1", port=port, username="b", secret="", on_event=on_event)
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    class P(_Protocol):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if link.events_received >= expect and not done.done():
                done.set_result(None)

        def connection_lost(self, exc: Exception | None) -> None:
            if not done.done():
                done.set_result(None)

    t0 = time.perf_counter()
    transport, _ = await loop.create_connection(lambda: P(link, 64 * 1024), "127.0.0.1", port)
    await done
    elapsed = time.perf_counter() - t0
    transport.close()
    if link.events_received < expect:
        raise RuntimeError(f"controller got {link.events_received} of {expect} events")
    return elapsed


async def run_panoramisk(port: int, expect: int) -> float:
    from panoramisk.ami_protocol import AMIProtocol

    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0

    class Factory:
        save_stream = None
        forgetable_actions = ()
        awaiting_actions = ()

        def dispatch(self, message):
            return []

        def connection_lost(self, exc):
            pass

    class P(AMIProtocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self.factory = Factory()
            self.encoding = "utf8"

        def handle_message(self, message):
            nonlocal count
            count += 1
            if count >= expect and not done.done():
                done.set_result(None)

        def connection_lost(self, exc):
            if not done.done():
                done.set_result(None)

    t0 = time.perf_counter()
    transport, _ = await loop.create_connection(P, "127.0.0.1", port)
    await done
    elapsed = time.perf_counter() - t0
    transport.close()
    if count < expect * 0.99:
        raise RuntimeError(f"panoramisk got {count} of {expect} messages")
    return elapsed


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


async def main(args: argparse.Namespace) -> dict:
    import logging

    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    stream = tmp / "stream.ami"
    n = await record(args.events, stream)
    size_mb = stream.stat().st_size / 1e6
    print(f"stream: {n} events, {size_mb:.1f} MB recorded from the embedded PBX", flush=True)

    runs = []
    rss_before = rss_mb()
    for _ in range(args.repeat):
        sender, port = start_sender(stream, 0)
        try:
            t_pan = await run_panoramisk(port, n)
            t_ctl = await run_controller(port, n)
        finally:
            sender.kill()
            sender.wait()
        runs.append((n / t_ctl, n / t_pan))
    rss_after = rss_mb()
    ctl = max(r[0] for r in runs)
    pan = max(r[1] for r in runs)

    lag: list[float] = []
    lag_events = int(args.rate * args.lag_seconds)
    lag_stream = tmp / "lag.ami"
    data = stream.read_bytes()
    cut = 0
    for _ in range(lag_events + 1):
        cut = data.find(b"\r\n\r\n", cut) + 4
    lag_stream.write_bytes(data[:cut])
    sender, port = start_sender(lag_stream, args.rate)
    try:
        await run_controller(port, lag_events, lag)
    finally:
        sender.kill()
        sender.wait()
    stamped = [x * 1000.0 for x in lag]
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "events": n,
        "stream_mb": round(size_mb, 1),
        "controller_events_per_s": round(ctl),
        "panoramisk_parse_events_per_s": round(pan),
        "ratio": round(ctl / pan, 3),
        "peak_rss_mb_before": round(rss_before, 1),
        "peak_rss_mb": round(rss_after, 1),
        "lag_rate_events_per_s": args.rate,
        "lag_events": len(stamped),
        "lag_p50_ms": round(pct(stamped, 50), 3),
        "lag_p99_ms": round(pct(stamped, 99), 3),
    }
    print(f"controller: {result['controller_events_per_s']} events/s (whole path, one core)")
    print(f"panoramisk parse only: {result['panoramisk_parse_events_per_s']} events/s")
    print(f"ratio controller / panoramisk parse: {result['ratio']}")
    print(f"peak RSS: {result['peak_rss_mb_before']} MB before, {result['peak_rss_mb']} MB after")
    print(
        f"lag at {args.rate:g} events/s over {len(stamped)} events: "
        f"p50 {result['lag_p50_ms']} ms, p99 {result['lag_p99_ms']} ms"
    )
    return result


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {out}")


def cli() -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--rate", type=float, default=2000.0)
    p.add_argument("--lag-seconds", type=float, default=10.0)
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port-file", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.rate if args.rate else 0, args.port_file)
        return
    result = asyncio.run(main(args))
    # The IVR's FastAGI figures and the simulator's calls per second (their own event loops).
    from bench import (
        agi,
        backfill,
        desk,
        early_warning,
        knowledge,
        metrics_scrape,
        report,
        routing_help,
        sim,
        ticket_flow,
    )

    metrics_scrape.run(result)  # one /metrics scrape at 1,000 seats in 8 queues
    agi.run(result)
    sim.run(result)
    backfill.run(result)
    knowledge.run(result)
    routing_help.run(result)
    ticket_flow.run(result)
    early_warning.run(result)  # false alarms a normal day, delay to raise a seeded burst
    report.run(result)  # the monthly KPI report of 400,000 calls on PostgreSQL
    desk.run(result)  # operators on WebSockets: screen pop, submit, memory, where it bends
    write(result)


if __name__ == "__main__":
    cli()
