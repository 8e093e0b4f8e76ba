"""An Asterisk restart in the middle of traffic: the controller's books still equal
Asterisk's own, by the README's rules ("Restart or short drop?" and "callers cut off by an
Asterisk restart"): a caller waiting at the restart is abandoned, one talking is answered and
its ticket is written; Asterisk's counters start again at zero in the new process, so its own
record over both processes is the queue_log."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter

import pytest

from .people import NAMES, Caller, Driver, add_seats, call, eventually, queue_show, wait_quiet

pytestmark = pytest.mark.asterisk

Q = "hotline"
SEATS = [8001, 8002, 8003]


async def test_books_equal_asterisks_own_across_a_restart_mid_traffic(
    pbx, runtime, tmp_path
) -> None:
    rng = random.Random(2026)
    callers = [
        Caller(
            NAMES[i],
            f"139{rng.randrange(10**8):08d}",
            patience=rng.uniform(8, 16),
            talk=rng.uniform(4, 8),
        )
        for i in range(12)
    ]
    async with Driver(pbx) as gw:
        await add_seats(gw, SEATS, Q)
        for c in callers[:7]:
            await call(gw, c)
            await asyncio.sleep(rng.expovariate(1 / 0.8))
        # callers now wait in the queue and talk to seats: restart (as `core stop now` and a
        # start do; persistentmembers = no, so the seats log in again afterwards)
        calls = runtime.controller.calls
        await eventually(
            lambda: calls.talking and calls.waiting_count(Q), 20, "callers talking and waiting"
        )
        await asyncio.to_thread(pbx.restart)
        await eventually(lambda: runtime.ami_connected, 30, "the controller back")
        await eventually(lambda: gw.link.ready, 30, "the driver back")
        await add_seats(gw, SEATS, Q)
        for c in callers[7:]:
            await call(gw, c)
            await asyncio.sleep(rng.expovariate(1 / 0.8))
        await wait_quiet(gw, 90)
        await runtime.settle()
        params = (await gw.queue_status(Q)).params[Q]

    rows = [r for r in pbx.queue_log() if len(r) > 4]
    starts = [i for i, r in enumerate(rows) if r[4] == "QUEUESTART"]
    assert len(starts) == 2, "one start, one restart"
    events = Counter(r[4] for r in rows if r[2] == Q)
    after = Counter(r[4] for r in rows[starts[1] :] if r[2] == Q)
    abandoned = events["ABANDON"] + events["EXITWITHTIMEOUT"] + events["EXITEMPTY"]
    st = runtime.controller.calls.stats[Q]
    c = runtime.controller
    assert c.restarts == 1
    assert (st.offered, st.answered, st.abandoned) == (
        events["ENTERQUEUE"],
        events["CONNECT"],
        abandoned,
    )
    assert st.offered == st.answered + st.abandoned
    # the new process's own counters are its part of the books
    assert params.completed == after["COMPLETEAGENT"] + after["COMPLETECALLER"]
    assert params.abandoned == after["ABANDON"] + after["EXITWITHTIMEOUT"]
    shown = queue_show(pbx, Q)
    assert (shown["C"], shown["A"]) == (params.completed, params.abandoned)
    # one ticket per answered call, those cut off by the restart included
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        uids = [u for (u,) in db.execute("SELECT call_uniqueid FROM tickets")]
    assert len(uids) == len(set(uids)) == st.answered
    assert set(uids) == {r[1] for r in rows if r[4] == "CONNECT"}
