"""``hotline serve``'s controller against a real Asterisk: Poisson callers with Chinese names
and patience go through our IVR (the real ``AGI()``) into ``Queue()``; some give up, some run
into the queue's timeout, the rest are answered by four seats. Afterwards the controller's
books equal Asterisk's own (``QueueStatus``, ``queue show``, queue_log), and every answered
call is exactly one ticket.

One traffic run (about 45 s) feeds every test of this module."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from hotline.runtime import Runtime
from pbx.gateway import QueueState
from pbx.private_asterisk import PrivateAsterisk

from .conftest import make_pbx, settings_for
from .people import NAMES, Caller, Driver, add_seats, call, queue_show, wait_quiet

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

SEATS = [8001, 8002, 8003, 8004]
QUEUE = "hotline"


@dataclass
class Run:
    pbx: PrivateAsterisk
    rt: Runtime
    callers: list[Caller]
    status: QueueState
    shown: dict[str, int]
    queue_log: list[list[str]]
    tickets: list[tuple]


def make_callers(rng: random.Random, n: int) -> list[Caller]:
    out = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        number = f"138{rng.randrange(10**8):08d}"
        talk = round(rng.uniform(2.0, 4.0), 1)
        if i % 4 == 3:  # waits for ever: only Queue()'s timeout ends the wait
            out.append(Caller(name, number, patience=None, talk=talk, maxwait=4))
        else:  # patience from the start of the call (the IVR takes about 3.5 s of it)
            patience = round(6.0 + rng.expovariate(1 / 8.0), 1)
            out.append(Caller(name, number, patience=patience, talk=talk))
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run(asterisk_install, ivr_config, tmp_path_factory):
    import asyncio

    tmp: Path = tmp_path_factory.mktemp("traffic")
    pbx = make_pbx(asterisk_install, tmp / "asterisk", ivr_config)
    pbx.start()
    rt = Runtime(settings_for(pbx, tmp, ivr_config))
    try:
        await rt.start()
        rng = random.Random(12345)
        callers = make_callers(rng, 16)
        async with Driver(pbx) as gw:
            await add_seats(gw, SEATS, QUEUE)
            for c in callers:
                await asyncio.sleep(rng.expovariate(1 / 1.2))
                await call(gw, c)
            await wait_quiet(gw, timeout=120)
            await rt.settle()
            status = await gw.queue_status(QUEUE)
        shown = queue_show(pbx, QUEUE)
        with sqlite3.connect(tmp / "tickets.db") as db:
            tickets = db.execute(
                "SELECT linkedid, call_uniqueid, caller_num, caller_name, queue, seat FROM tickets"
            ).fetchall()
        yield Run(pbx, rt, callers, status, shown, pbx.queue_log(), tickets)
    finally:
        await rt.stop()
        pbx.stop()


def log_events(run: Run) -> Counter:
    return Counter(row[4] for row in run.queue_log if len(row) > 4 and row[2] == QUEUE)


async def test_the_traffic_had_answers_abandons_and_timeouts(run: Run) -> None:
    events = log_events(run)
    assert events["CONNECT"] >= 3, events
    assert events["ABANDON"] >= 1, events
    assert events["EXITWITHTIMEOUT"] >= 1, events


async def test_counts_equal_asterisks_queue_status(run: Run) -> None:
    params = run.status.params[QUEUE]
    st = run.rt.controller.calls.stats[QUEUE]
    assert st.answered == params.completed
    assert st.abandoned == params.abandoned  # hang-ups and Queue() timeouts alike
    assert st.offered == st.answered + st.abandoned
    assert run.rt.controller.calls.waiting_count(QUEUE) == 0 == params.calls
    assert not run.rt.controller.calls.talking


async def test_counts_equal_queue_show_and_queue_log(run: Run) -> None:
    st = run.rt.controller.calls.stats[QUEUE]
    assert (run.shown["C"], run.shown["A"], run.shown["calls"]) == (st.answered, st.abandoned, 0)
    events = log_events(run)
    assert events["ENTERQUEUE"] == st.offered
    assert events["CONNECT"] == st.answered
    assert events["COMPLETEAGENT"] + events["COMPLETECALLER"] == st.answered
    assert events["ABANDON"] + events["EXITWITHTIMEOUT"] == st.abandoned


async def test_the_seat_board_equals_asterisks_members(run: Run) -> None:
    seats = run.rt.controller.seats.seats
    members = {m.interface: m for m in run.status.members if m.queue == QUEUE}
    assert set(seats) == set(members) == {f"Local/{n}@agents/n" for n in SEATS}
    for iface, m in members.items():
        seat = seats[iface]
        assert seat.name == m.member_name
        assert seat.call is None and seat.ringing_for is None
        assert not seat.paused_in and not m.paused
        assert seat.device_status == m.status
    taken = Counter(row[3] for row in run.queue_log if len(row) > 4 and row[4] == "CONNECT")
    assert {s.name: s.calls_taken for s in seats.values() if s.calls_taken} == dict(taken)


async def test_one_ticket_per_answered_call_with_the_callers_chinese_name(run: Run) -> None:
    st = run.rt.controller.calls.stats[QUEUE]
    assert len(run.tickets) == st.answered
    assert len({t[0] for t in run.tickets}) == len(run.tickets)  # one per call (Linkedid)
    # the caller's channel in Queue() is each ticket's call (queue_log's callid)
    connected = {row[1] for row in run.queue_log if len(row) > 4 and row[4] == "CONNECT"}
    assert {t[1] for t in run.tickets} == connected
    by_number = {c.number: c.name for c in run.callers}
    for _link, _uid, num, name, queue, seat in run.tickets:
        assert by_number[num] == name  # e.g. 张伟, whole, as UTF-8 on the wire
        assert queue == QUEUE and seat.startswith("座席")
