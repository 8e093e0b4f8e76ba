"""``python -m bench.phones``: the load this machine carries with real SIP phones.

A private Asterisk (``pbx/private_asterisk.py``, the shipped configuration plus seat peers
``seat8001..`` and one caller peer), ``hotline serve``'s runtime following it, and pyVoIP
phones (``pbx/phones.py``): N seats in queue ``hotline`` and one caller phone placing N calls
at once through the IVR, each talking ``--talk`` seconds, for each N of ``--steps``
(``5,10,20``). For each step: the calls answered, the most calls talking at one time (the
controller's seat board), the CPU of Asterisk and of our process (controller, IVR, and the
phones' threads, which dominate) over the step, the calls per minute it carried, and whether
the controller's books still equal Asterisk's ``QueueStatus`` with one ticket per answered
call. It stops at the first step whose books disagree or whose calls are not all answered.

Results: a JSON line per step, and ``bench/results/phones-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from config.settings import Settings
from hotline.runtime import Runtime
from pbx.gateway import AmiGateway
from pbx.phones import CallerPhone, SeatPhone
from pbx.private_asterisk import PrivateAsterisk, find_asterisk, free_port

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _udp() -> int:
    return free_port(socket.SOCK_DGRAM)


def _peers(n: int) -> str:
    seats = "".join(f"\n[seat{8001 + i}](seat)\nsecret = x\n" for i in range(2, n))
    return (
        seats
        + '\n[caller2001](seat)\ncontext = callers\ncallerid = "市民" <13900002001>\n'
        + ("secret = x\ncall-limit = 1000\n")
    )


async def run(steps: list[int], talk_s: float, tmp: Path) -> list[dict[str, object]]:
    import yaml

    install = find_asterisk()
    if install is None:
        raise SystemExit("no Asterisk found: make asterisk")
    top = max(steps)
    config = tmp / "config"
    import shutil

    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py"))
    menus = yaml.safe_load((config / "ivr.yaml").read_text("utf-8"))
    menus["hours"]["workday"] = menus["hours"]["restday"] = None
    menus["timeouts"].update(digit_ms=500, retries=0)
    (config / "ivr.yaml").write_text(yaml.safe_dump(menus, allow_unicode=True), "utf-8")
    sounds = yaml.safe_load((config / "sounds.yaml").read_text("utf-8"))["sounds"]
    pbx = PrivateAsterisk(
        install, tmp / "asterisk", agi_port=free_port(), extra_sip=_peers(top), sounds=sounds
    )
    pbx.start()
    settings = Settings(
        _env_file=None,
        ami_url=pbx.ami_url,
        database_url=f"sqlite:///{tmp / 'tickets.db'}",
        spool_dir=tmp / "spool",
        config_dir=config,
        agi_port=pbx.agi_port,
    )
    rt = Runtime(settings)
    phones: list[SeatPhone | CallerPhone] = []
    results: list[dict[str, object]] = []
    rtp = 41000 + 20 * random.randrange(200)
    try:
        await rt.start()
        gw = AmiGateway(rt.link)  # type: ignore[arg-type]
        seats: list[SeatPhone] = []
        caller = CallerPhone(
            "127.0.0.1", pbx.sip_port, "caller2001", pbx.sip_secrets["caller2001"],
            sip_port=_udp(), rtp_ports=(rtp, rtp + 4 * top + 19),
        )  # fmt: skip
        await asyncio.to_thread(caller.start)
        phones.append(caller)
        rtp += 4 * top + 20
        answered_before = 0
        for n in steps:
            while len(seats) < n:
                peer = f"seat{8001 + len(seats)}"
                seat = SeatPhone(
                    "127.0.0.1", pbx.sip_port, peer, pbx.sip_secrets[peer], sip_port=_udp(),
                    rtp_ports=(rtp, rtp + 9), talk_s=talk_s, ring_s=0.5,
                )  # fmt: skip
                rtp += 10
                await asyncio.to_thread(seat.start)
                phones.append(seat)
                seats.append(seat)
                iface = f"SIP/{peer}"
                await gw.add_member("hotline", iface, member_name=peer, state_interface=iface)
            await asyncio.sleep(11)  # the last step's wrap-up (queues.conf: 10 s)
            a0, o0, t0 = _cpu_of(pbx.proc.pid), _own_cpu(), time.monotonic()  # type: ignore[union-attr]
            outcomes: list[str] = []

            def one(out: list[str] = outcomes) -> None:
                out.append(caller.dial("12345", patience_s=talk_s + 30))

            threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
            for t in threads:
                t.start()
                await asyncio.sleep(0.05)
            peak = 0
            while any(t.is_alive() for t in threads) and time.monotonic() - t0 < talk_s + 90:
                board = rt.controller.seats.seats.values()
                peak = max(peak, sum(1 for x in board if x.call is not None))
                await asyncio.sleep(0.25)
            wall = time.monotonic() - t0
            a1, o1 = _cpu_of(pbx.proc.pid), _own_cpu()  # type: ignore[union-attr]
            await rt.settle()
            status = await gw.queue_status("hotline")
            st = rt.controller.calls.stats["hotline"]
            with sqlite3.connect(tmp / "tickets.db") as db:
                tickets = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
            answered = st.answered - answered_before
            answered_before = st.answered
            books = (
                st.answered == status.params["hotline"].completed
                and st.abandoned == status.params["hotline"].abandoned
                and tickets == st.answered
            )
            r = {
                "calls": n,
                "answered": answered,
                "peak_talking": peak,
                "wall_s": round(wall, 1),
                "calls_per_minute": round(answered / wall * 60, 1),
                "asterisk_cpu_pct": round(100 * (a1 - a0) / wall, 1),
                "our_process_cpu_pct": round(100 * (o1 - o0) / wall, 1),
                "books_exact": books,
                "caller_outcomes": {k: outcomes.count(k) for k in set(outcomes)},
            }
            print(json.dumps(r, ensure_ascii=False), flush=True)
            results.append(r)
            if not books or answered < n:
                break
    finally:
        for p in phones:
            await asyncio.to_thread(p.stop)
        await rt.stop()
        pbx.stop()
    return results


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.phones", description=__doc__)
    p.add_argument("--steps", default="5,10,20", help="concurrent calls per step")
    p.add_argument("--talk", type=float, default=15.0, help="talk time of every call, s")
    args = p.parse_args()
    steps = [int(x) for x in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as d:
        results = asyncio.run(run(steps, args.talk, Path(d)))
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    f = out / f"phones-{time.strftime('%Y%m%d-%H%M%S')}.json"
    f.write_text(json.dumps({"cpus": os.cpu_count(), "steps": results}, indent=1), "utf-8")
    print(f"results in {f}")


if __name__ == "__main__":
    main()
