"""The backfill from the queue_log (hotline.backfill): every answered call that ended while the
controller was away gets its ticket, exactly once; bad rows are counted and skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from hotline.backfill import Backfill, backfill_file
from metrics.models import QueueLog, QueueLogCursor
from pbx.queue_log import QueueLogRow, columns, format_line
from tests.traces import traces_dir
from tickets.models import Ticket
from tickets.service import TicketDraft, store_tickets

T0 = 1_800_000_000.0


def row(at: float, callid: str, event: str, *data: str, agent: str = "NONE") -> QueueLogRow:
    return QueueLogRow(0, T0 + at, callid, "hotline", agent, event, data)


def answered(callid: str, at: float, num: str = "13900000001") -> list[QueueLogRow]:
    """One call: joins at ``at``, answered 5 s later, talks 30 s."""
    return [
        row(at, callid, "ENTERQUEUE", "", num, "1"),
        row(at + 5, callid, "CONNECT", "5", callid + "0", "1", agent="Agent 8001"),
        row(at + 35, callid, "COMPLETECALLER", "5", "30", "1", agent="Agent 8001"),
    ]


async def put(session, rows) -> None:
    await session.execute(insert(QueueLog.__table__), [columns(r) for r in rows])
    await session.commit()


async def tickets(session) -> list[tuple]:
    got = await session.execute(
        select(
            Ticket.call_uniqueid, Ticket.caller_num, Ticket.seat, Ticket.kind, Ticket.status
        ).order_by(Ticket.id)
    )
    return [tuple(r) for r in got]


@pytest.fixture
def sessions(engine):
    from tickets.db import session_factory

    return session_factory(engine)


async def test_first_run_starts_at_the_newest_row_then_writes_what_came_after(
    session, sessions
) -> None:
    await put(session, answered("1.1", 0))  # before this controller ever ran: not ours
    bf = Backfill(sessions, source="pbx1")
    first = await bf.run()
    assert first.written == 0 and first.settled_id == 3
    await put(session, [*answered("1.5", 100, "13900000005"), *answered("1.9", 110)])
    rep = await bf.run()
    assert rep.written == 2 and rep.rows == 6 and not rep.malformed
    assert await tickets(session) == [
        ("1.5", "13900000005", "Agent 8001", "unclassified", "awaiting_routing"),
        ("1.9", "13900000001", "Agent 8001", "unclassified", "awaiting_routing"),
    ]
    again = await bf.run()
    assert again.rows == 0 and again.written == 0
    cursor = await session.scalar(select(QueueLogCursor.settled_id))
    assert cursor == 9


async def test_a_call_with_a_live_ticket_or_seen_live_is_never_written_twice(
    session, sessions
) -> None:
    bf = Backfill(sessions, source="pbx1", seen=lambda callid: callid == "2.3")
    await bf.run()
    rows = [*answered("2.1", 0), *answered("2.2", 10), *answered("2.3", 20)]
    await put(session, rows)
    # the live path stored 2.1 with its own (AMI) times: 0.4 s off the queue_log's
    live = TicketDraft(
        caller_num="13900000001",
        caller_name="",
        queue="hotline",
        seat="Agent 8001",
        linkedid="2.0",
        call_uniqueid="2.1",
        joined_at=datetime.fromtimestamp(T0 + 0.2, UTC),
        answered_at=datetime.fromtimestamp(T0 + 5.4, UTC),
        ended_at=datetime.fromtimestamp(T0 + 35.3, UTC),
        kind="complaint",
        resolved_on_call=False,
    )
    await store_tickets(session, [live])
    rep = await bf.run()
    assert (rep.written, rep.already_ticketed, rep.seen_live) == (1, 1, 1)
    assert [t[0] for t in await tickets(session)] == ["2.1", "2.2"]


async def test_an_open_call_holds_the_cursor_until_it_ends(session, sessions) -> None:
    bf = Backfill(sessions, source="pbx1")
    await bf.run()
    start = answered("3.1", 0)
    await put(session, [*start[:2], *answered("3.2", 1)])
    rep = await bf.run()
    assert rep.written == 1 and rep.open_left == 1 and rep.settled_id == 0
    await put(session, [start[2]])
    rep = await bf.run()
    assert rep.written == 1 and rep.settled_id == 6
    assert sorted(t[0] for t in await tickets(session)) == ["3.1", "3.2"]


async def test_a_live_ticket_stamped_at_a_resync_still_counts_in_a_later_process(
    session, sessions
) -> None:
    """A caller waiting when the AMI link dropped, answered and gone by the resync: the live
    path writes its ticket with the resync's time as its answer (``CallBoard.settle``: it
    cannot know better), after the stay's end. An older caller still talking holds the
    cursor below that stay; a later process (after a restart) reads it again and must find
    the ticket by its join, not write a second one."""
    bf = Backfill(sessions, source="pbx1", seen=lambda callid: callid == "6.2")
    await bf.run()
    older, limbo = answered("6.1", 0), answered("6.2", 10, "13900000062")
    await put(session, [*older[:2], *limbo])  # 6.1 talks on; 6.2 ended at +45
    live = TicketDraft(
        caller_num="13900000062",
        caller_name="",
        queue="hotline",
        seat="",
        linkedid="6.2",
        call_uniqueid="6.2",
        joined_at=datetime.fromtimestamp(T0 + 10.1, UTC),  # QueueCallerJoin, before the drop
        answered_at=datetime.fromtimestamp(T0 + 60, UTC),  # the resync
        ended_at=datetime.fromtimestamp(T0 + 60, UTC),
        kind="consultation",
        resolved_on_call=False,
    )
    await store_tickets(session, [live])
    rep = await bf.run()  # this process drafted 6.2 itself
    assert (rep.written, rep.seen_live, rep.open_left, rep.settled_id) == (0, 1, 1, 0)
    await put(session, older[2:])
    later = await Backfill(sessions, source="pbx1").run()  # a new process: nothing seen
    assert (later.written, later.already_ticketed) == (1, 1)
    assert sorted(t[0] for t in await tickets(session)) == ["6.1", "6.2"]


async def test_malformed_rows_are_counted_and_skipped_and_the_rest_is_written(
    session, sessions
) -> None:
    bf = Backfill(sessions, source="pbx1")
    await bf.run()
    good = answered("4.1", 0)
    await put(session, good[:1])
    await session.execute(
        insert(QueueLog.__table__),
        [
            {"time": None, "callid": "5.1", "queuename": "hotline", "event": "ENTERQUEUE"},
            {
                "time": datetime(2027, 1, 1),
                "callid": "",
                "queuename": "hotline",
                "event": "CONNECT",
            },
            {"time": datetime(2027, 1, 1), "callid": "5.2", "queuename": "q", "event": "garbage!"},
            {"time": datetime(2027, 1, 1), "callid": "5.3", "queuename": "", "event": "ABANDON"},
        ],
    )
    await session.commit()
    await put(session, good[1:])
    rep = await bf.run()
    assert rep.written == 1
    assert dict(rep.malformed) == {"bad_time": 1, "no_callid": 1, "bad_event": 1, "no_queue": 1}


async def test_rows_in_the_fallback_data_column_are_read(session, sessions) -> None:
    """Asterisk started while the database was down writes every field pipe-joined in
    ``data`` (README, "queue_log")."""
    bf = Backfill(sessions, source="pbx1")
    await bf.run()
    t = datetime(2027, 3, 1, 8, 0, 0)
    base = {"callid": "5.1", "queuename": "hotline"}
    await session.execute(
        insert(QueueLog.__table__),
        [
            {**base, "time": t, "agent": "NONE", "event": "ENTERQUEUE", "data": "|13900000009|1"},
            {
                **base,
                "time": t + timedelta(seconds=4),
                "agent": "Agent 8002",
                "event": "CONNECT",
                "data": "4|5.2|1",
            },
            {
                **base,
                "time": t + timedelta(seconds=64),
                "agent": "Agent 8002",
                "event": "COMPLETEAGENT",
                "data": "4|60|1",
            },
        ],
    )
    await session.commit()
    rep = await bf.run()
    assert rep.written == 1
    assert await tickets(session) == [
        ("5.1", "13900000009", "Agent 8002", "unclassified", "awaiting_routing")
    ]


async def test_file_import_writes_the_answered_calls_once(session, sessions, tmp_path) -> None:
    """``hotline backfill --queue-log FILE``: the recorded Asterisk file of the wrapup
    scenario, with a malformed line added; twice."""
    text = (traces_dir() / "wrapup.queue_log").read_text("utf-8")
    f = tmp_path / "queue_log"
    f.write_text(text + "not|a|row\n" + format_line(row(0, "9.9", "ENTERQUEUE", "", "1")) + "\n")
    rep = await backfill_file(sessions, f)
    connects = sum(1 for line in text.splitlines() if "|CONNECT|" in line)
    assert rep.written == connects == 5
    assert dict(rep.malformed) == {"short": 1}
    assert rep.open_left == 1
    again = await backfill_file(sessions, f)
    assert again.written == 0 and again.already_ticketed == connects
    assert await session.scalar(select(func.count()).select_from(Ticket)) == connects


def test_the_backfill_command_prints_what_it_wrote_and_refuses_a_time_without_zone(
    tmp_path, monkeypatch
) -> None:
    import json

    from typer.testing import CliRunner

    from hotline.cli import app

    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 't.db'}")
    log = traces_dir() / "wrapup.queue_log"
    runner = CliRunner()
    first = runner.invoke(app, ["backfill", "--queue-log", str(log)])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["tickets_written"] == 5
    second = runner.invoke(app, ["backfill", "--queue-log", str(log)])
    assert json.loads(second.stdout)["already_ticketed"] == 5
    bad = runner.invoke(app, ["backfill", "--queue-log", str(log), "--since", "2026-11-30"])
    assert bad.exit_code == 2 and "no time zone" in bad.output


async def test_file_import_puts_back_only_the_rows_the_table_lacks(
    session, sessions, tmp_path
) -> None:
    """The table kept the first and last calls (times with microseconds, a moment after the
    file's whole seconds); the middle ones were lost with the database. The import restores
    exactly those, and the history then counts every call; a second import adds nothing."""
    from metrics.call_history import call_history

    calls = [answered(f"6.{i}", i * 50.0) for i in range(6)]
    kept = [
        QueueLogRow(0, r.at + 0.7, r.callid, r.queue, r.agent, r.event, r.data)
        for c in (calls[0], calls[5])
        for r in c
    ]
    await put(session, kept)
    f = tmp_path / "queue_log"
    f.write_text("".join(format_line(r) + "\n" for c in calls for r in c), "utf-8")
    rep = await backfill_file(sessions, f)
    assert rep.rows_restored == 12 and rep.written == 6
    start = datetime.fromtimestamp(T0, UTC)
    (month,) = await call_history(
        session, start=start - timedelta(days=1), end=start + timedelta(days=1), by="month"
    )
    assert (month.offered, month.answered, month.completed) == (6, 6, 6)
    again = await backfill_file(sessions, f)
    assert again.rows_restored == 0 and again.written == 0
    assert await session.scalar(select(func.count()).select_from(QueueLog)) == 18
