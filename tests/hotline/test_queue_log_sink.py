"""The queue_log sink: every row to the file, and to the table in write order, without ever
making a call wait for the database; rows are lost for the table while it fails, and it is
written to again once it answers (SQLite, and PostgreSQL with HOTLINE_TEST_DATABASE_URL)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.queue_log_sink import QueueLogSink
from metrics.models import QueueLog
from pbx.queue_log import QueueLogRow, format_line, parse_line, row_from_columns
from pbx.simulator import Simulator, SimulatorConfig
from pbx.simulator.desclock import DesClock
from tickets.db import make_engine, session_factory

EPOCH = 1_800_000_000.0


def _row(n: int) -> QueueLogRow:
    return QueueLogRow(
        0, EPOCH + n + 0.25, f"{EPOCH:.0f}.{n}", "hotline", "NONE", "ENTERQUEUE", ("", "138", "1")
    )


async def _table(engine: AsyncEngine) -> list[QueueLogRow]:
    async with engine.connect() as conn:
        result = await conn.execute(select(QueueLog.__table__).order_by(QueueLog.id))
        return [row_from_columns(**r._mapping) for r in result]


async def test_rows_go_to_the_file_and_to_the_table_in_order(engine, tmp_path) -> None:
    path = tmp_path / "queue_log"
    sink = QueueLogSink(session_factory(engine), path=path, batch_size=3)
    sink.start()
    rows = [_row(n) for n in range(10)]
    for r in rows:
        sink.write(r)
    await sink.drain(10)
    assert (sink.written, sink.lost, sink.pending) == (10, 0, 0)
    stored = await _table(engine)
    assert [r.callid for r in stored] == [r.callid for r in rows]  # ids follow write order
    assert [r.at for r in stored] == [r.at for r in rows]  # microseconds kept
    assert stored[0].data == ("", "138", "1")
    assert path.read_text(encoding="utf-8").splitlines() == [format_line(r) for r in rows]
    await sink.close()


async def test_rows_are_lost_for_the_table_while_it_fails_and_kept_in_the_file(
    engine, tmp_path
) -> None:
    path = tmp_path / "queue_log"
    now = [0.0]
    sink = QueueLogSink(session_factory(engine), path=path, retry_s=1.0, monotonic=lambda: now[0])
    sink.start()
    for n in range(3):
        sink.write(_row(n))
    await sink.drain(10)
    async with engine.begin() as conn:  # the table goes away: every insert fails
        await conn.execute(text("ALTER TABLE queue_log RENAME TO queue_log_away"))
    for n in range(3, 6):
        sink.write(_row(n))  # returns at once: nothing waits for the database
    await sink.drain(10)
    assert (sink.written, sink.lost, sink.db_up) == (3, 3, False)
    sink.write(_row(6))  # within retry_s of the failure: not even tried
    await sink.drain(10)
    assert sink.lost == 4
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE queue_log_away RENAME TO queue_log"))
    now[0] = 1.0
    for n in range(7, 9):
        sink.write(_row(n))
    await sink.drain(10)
    assert (sink.written, sink.lost, sink.db_up) == (5, 4, True)
    assert [r.callid for r in await _table(engine)] == [_row(n).callid for n in (0, 1, 2, 7, 8)]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [parse_line(x).callid for x in lines] == [_row(n).callid for n in range(9)]
    await sink.close()
    sink.write(_row(9))  # after close: nowhere
    assert sink.lost == 5


async def test_a_standalone_simulator_writes_its_queue_log_into_the_database(engine) -> None:
    """What a crash test does: a Simulator in the test process, its rows into a database."""
    sink = QueueLogSink(session_factory(engine))
    sink.start()
    clock = DesClock(EPOCH)
    cfg = SimulatorConfig(seats=1, epoch=EPOCH, ring_time_s=1.0, ivr_time_s=0.0)
    sim = Simulator(cfg, clock=clock, queue_log=sink.write)
    sim.core.caller_arrive("hotline", "13800000000", "张三", patience=None, talk=5.0)
    clock.run_until_idle()
    await sim.stop()
    await sink.close()
    stored = await _table(engine)
    assert [r.event for r in stored] == ["QUEUESTART", "ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    assert stored[2].agent == "Agent 8001" and stored[2].data[0] == "1"
    assert stored[3].data == ("1", "5", "1")


@pytest.mark.e2e
async def test_the_runtime_puts_the_embedded_pbx_queue_log_in_its_database(tmp_path) -> None:
    """``hotline simulate``: the rows of every call in the runtime's database, in the order of
    HOTLINE_QUEUE_LOG_FILE's lines, and as many outcomes as the controller counted."""
    from config.settings import Settings
    from hotline.simulation import run_simulation

    url = f"sqlite:///{tmp_path / 'h.db'}"
    path = tmp_path / "log" / "queue_log"
    settings = Settings(_env_file=None, queue_log_file=path)
    r = await run_simulation(
        settings,
        seats=5,
        calls=40,
        hours=0.05,
        speed=500.0,
        seed=3,
        talk_mean=60.0,
        patience_mean=60.0,
        wrapup=5.0,
        ring=2.0,
        database_url=url,
        progress=False,
    )
    engine = make_engine(url)
    try:
        stored = await _table(engine)
    finally:
        await engine.dispose()
    lines = [parse_line(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [format_line(x) for x in stored] == [format_line(x) for x in lines]
    events = Counter(x.event for x in stored)
    assert stored[0].event == "QUEUESTART" and events["ADDMEMBER"] == 5
    assert events["ENTERQUEUE"] == r["offered"]
    assert events["CONNECT"] == r["answered"]
    assert events["COMPLETEAGENT"] + events["COMPLETECALLER"] == r["answered"]
    assert events["ABANDON"] + events["EXITWITHTIMEOUT"] + events["EXITEMPTY"] == r["abandoned"]
