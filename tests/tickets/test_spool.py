"""The durable ticket spool: a database outage loses no ticket, even through kill -9, and
every ticket is written exactly once when the database answers again."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tickets import service
from tickets.db import make_engine, session_factory
from tickets.service import TicketDraft
from tickets.spool import Spool, draft_from_json, draft_to_json
from tickets.writer import TicketWriter

ROOT = Path(__file__).resolve().parents[2]


def draft(i: int) -> TicketDraft:
    t = datetime(2026, 11, 30, 8, tzinfo=UTC) + timedelta(seconds=i)
    return TicketDraft(
        caller_num=f"138{i:08d}",
        caller_name="张三",
        queue="hotline",
        seat="Agent 8001",
        linkedid=f"1800000000.{2 * i}",
        call_uniqueid=f"1800000000.{2 * i + 1}",
        joined_at=t,
        answered_at=t + timedelta(seconds=5),
        ended_at=t + timedelta(seconds=65),
        kind="consultation",
        resolved_on_call=i % 2 == 0,
    )


class DownDatabase:
    """A session factory whose every use fails, as an unreachable server does."""

    def __call__(self):
        raise ConnectionRefusedError("database unreachable (test)")


def test_draft_round_trips_through_json() -> None:
    d = draft(3)
    assert draft_from_json(draft_to_json(d)) == d


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    sp.append([draft(1), draft(2)])
    sp.close()
    with open(tmp_path / Spool.ACTIVE, "a", encoding="utf-8") as fh:
        fh.write(draft_to_json(draft(3))[:40])  # a crash in the middle of a write
    sp = Spool(tmp_path)
    sp.rotate()
    (batch,) = sp.batches()
    assert [d.call_uniqueid for d in sp.read(batch)] == [
        draft(1).call_uniqueid,
        draft(2).call_uniqueid,
    ]


async def count(url: str) -> int:
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as s:
            return await service.count_tickets(s)
    finally:
        await engine.dispose()


async def test_outage_spools_then_writes_each_ticket_exactly_once(migrated_url, tmp_path) -> None:
    spool_dir = tmp_path / "spool"
    ups: list[bool] = []
    w = TicketWriter(
        DownDatabase(), spool=Spool(spool_dir), on_db_up=ups.append, max_backoff_s=0.05
    )
    w.start()
    for i in range(30):
        w.submit(draft(i))
    for _ in range(200):
        if w.spooling and not w._queue:
            break
        await asyncio.sleep(0.01)
    assert w.spooling and ups and ups[-1] is False
    for i in range(30, 40):  # submitted during the outage: straight to disk
        w.submit(draft(i))
    assert w.spool.count() == 40
    await w.stop(timeout=0.2)
    # A crash after the commit but before the spool file is deleted: keep a copy to put back.
    keep = tmp_path / "keep"
    shutil.copytree(spool_dir, keep)

    engine = make_engine(migrated_url)
    try:
        w2 = TicketWriter(session_factory(engine), spool=Spool(spool_dir), on_db_up=ups.append)
        assert w2.spooling  # a spool left behind is written first
        w2.start()
        await w2.drain(10)
        assert ups[-1] is True and not w2.spooling and not Spool(spool_dir)
        await w2.stop()
        assert await count(migrated_url) == 40
        # the same spool again (the crash case): nothing is written twice
        shutil.rmtree(spool_dir)
        shutil.copytree(keep, spool_dir)
        w3 = TicketWriter(session_factory(engine), spool=Spool(spool_dir))
        w3.start()
        await w3.drain(10)
        await w3.stop()
        assert await count(migrated_url) == 40
        assert w3.written == 0
    finally:
        await engine.dispose()


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from tests.tickets.test_spool import DownDatabase, draft
    from tickets.spool import Spool
    from tickets.writer import TicketWriter

    async def main():
        w = TicketWriter(DownDatabase(), spool=Spool({spool!r}), max_backoff_s=0.05)
        w.start()
        for i in range(25):
            w.submit(draft(i))
        while not (w.spooling and not w._queue):
            await asyncio.sleep(0.01)
        for i in range(25, 50):
            w.submit(draft(i))  # fsynced before submit returns
        print("SPOOLED", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


@pytest.mark.e2e
async def test_kill_9_during_the_outage_loses_nothing_spooled(migrated_url, tmp_path) -> None:
    spool_dir = tmp_path / "spool"
    proc = subprocess.Popen(  # noqa: ASYNC220  (a child to kill -9)
        [sys.executable, "-c", CHILD.format(root=str(ROOT), spool=str(spool_dir))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert line.strip() == "SPOOLED"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    engine = make_engine(migrated_url)
    try:
        w = TicketWriter(session_factory(engine), spool=Spool(spool_dir))
        w.start()
        await w.drain(10)
        await w.stop()
    finally:
        await engine.dispose()
    assert await count(migrated_url) == 50
