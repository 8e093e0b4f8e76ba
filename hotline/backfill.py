"""Backfill: the ticket of every call answered and ended while the controller was away, from
Asterisk's queue_log, exactly once.

The live path writes a ticket when the controller sees a call end. A call it never saw end
(answered before a crash and ended during the gap, or wholly inside the gap, or whose draft
was still in memory at a ``kill -9``) is found in the queue_log: Asterisk wrote its
``ENTERQUEUE``, ``CONNECT`` and ``COMPLETE*`` rows whatever happened to us.
:class:`routing.logged_calls.StayFolder` turns rows into answered stays; this module reads
the rows, decides which stays still lack a ticket, and writes those.

Exactly once, by three rules:

1. a stay the running controller knows (talking now, or drafted by the live path in this
   process: ``seen``) is the live path's, never the backfill's;
2. a stay with a ticket already stored is skipped: same ``call_uniqueid`` with an
   ``answered_at`` inside the stay (between its join and its end, one second of slack: the
   live path stamps times from AMI events, the queue_log from its own rows, and a file has
   whole seconds only), or with a ``joined_at`` within two seconds of the stay's join (a
   call the live path saw join and then lost in an AMI drop, answered and gone by the
   resync, has the resync's time as its answer: :meth:`routing.calls.CallBoard.settle`).
   A channel is in one queue at a time, so two stays of one channel never overlap, and an
   answered stay lasts longer than two seconds;
3. the ticket writer is drained first, so drafts spooled by a crashed process are in the
   database before rule 2 looks.

Backfilled tickets are ``unclassified`` and awaiting routing (nobody classified the call)
and carry the callid as their ``linkedid`` (the queue_log has no Linkedid).

Several centres' Asterisks may write the one ``queue_log`` table. A controller reads only its
centre's rows: with ``systemname`` set to the centre's code (pbx/asterisk/asterisk.conf), each
callid begins with ``<centre>-`` (:mod:`metrics.centre_rows`; an Asterisk without one writes
bare ``<epoch>.<n>`` callids, which are the default centre's). Rule 2 looks at the tickets of
its own centre only: another centre's Asterisk may have numbered a call alike.

The cursor (``queue_log_cursors``, one row per centre and source) is the id up to which every stay
is settled: below the first row of any stay still open (:meth:`StayFolder.low_water`), so that an
open stay is read whole next time; a stay open for longer than ``stale_after_s`` (its Asterisk died
without a restart row) stops holding it. A first run (no cursor) starts at the newest row: calls
from before this controller ever ran are not its tickets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.centres import DEFAULT_CENTRE
from hotline.queue_log_restore import restore_rows
from metrics.centre_rows import centre_rows
from metrics.models import QueueLog, QueueLogCursor
from pbx.queue_log import QueueLogError, QueueLogRow, parse_line, row_from_columns
from routing.logged_calls import AnsweredStay, StayFolder
from tickets.models import Kind, Ticket
from tickets.service import TicketDraft, store_tickets

__all__ = ["Backfill", "BackfillReport", "backfill_file", "draft_of"]

log = logging.getLogger(__name__)

#: Rows read per query and stays checked per ticket lookup.
PAGE = 5000
#: Slack around a stay when matching a stored ticket's answer time (seconds).
SLACK_S = 1.0
#: Slack when matching a stored ticket's join time to a stay's (seconds): AMI event against
#: row, a join estimated from a resync's whole-second ``Wait``, a file's whole seconds.
JOIN_SLACK_S = 2.0
_TABLE = QueueLog.__table__
_CURSORS = QueueLogCursor.__table__
_TICKETS = Ticket.__table__
_COLUMNS = [
    _TABLE.c.id,
    _TABLE.c.time,
    _TABLE.c.callid,
    _TABLE.c.queuename,
    _TABLE.c.agent,
    _TABLE.c.event,
    _TABLE.c.data1,
    _TABLE.c.data2,
    _TABLE.c.data3,
    _TABLE.c.data4,
    _TABLE.c.data5,
    _TABLE.c.data,
]


@dataclass
class BackfillReport:
    """What one backfill run did. ``malformed`` counts rows skipped, by reason."""

    rows: int = 0
    stays: int = 0
    written: int = 0
    already_ticketed: int = 0
    seen_live: int = 0
    open_left: int = 0
    stale_dropped: int = 0
    #: Rows put back into the table from a file (``backfill_file``).
    rows_restored: int = 0
    settled_id: int = 0
    seconds: float = 0.0
    malformed: Counter[str] = field(default_factory=Counter)
    anomalies: Counter[str] = field(default_factory=Counter)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(at: datetime | None) -> float | None:
    """A stored time as Unix seconds (SQLite gives naive UTC back)."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def draft_of(stay: AnsweredStay, centre: str = DEFAULT_CENTRE) -> TicketDraft:
    """The ticket of an answered stay found only in ``centre``'s queue_log rows."""
    return TicketDraft(
        centre=centre,
        caller_num=stay.caller_num,
        caller_name=stay.caller_name,
        queue=stay.queue,
        seat=stay.member,
        linkedid=stay.callid,
        call_uniqueid=stay.callid,
        joined_at=_utc(stay.joined_at),
        answered_at=_utc(stay.answered_at),
        ended_at=_utc(stay.ended_at),
        kind=Kind.UNCLASSIFIED.value,
        resolved_on_call=False,
    )


async def _newest_id(session: AsyncSession) -> int | None:
    """The queue_log's newest id, ``None`` while the table is empty."""
    return (await session.execute(select(func.max(_TABLE.c.id)))).scalar()


async def _unticketed(
    session: AsyncSession, stays: list[AnsweredStay], centre: str
) -> list[AnsweredStay]:
    """The stays without a stored ticket of ``centre`` (rule 2 of the module's docstring)."""
    if not stays:
        return []
    stored: dict[str, list[tuple[float | None, float | None]]] = {}
    ids = sorted({s.callid for s in stays})
    for start in range(0, len(ids), 1000):
        rows = await session.execute(
            select(_TICKETS.c.call_uniqueid, _TICKETS.c.answered_at, _TICKETS.c.joined_at).where(
                _TICKETS.c.call_uniqueid.in_(ids[start : start + 1000]),
                _TICKETS.c.centre == centre,
            )
        )
        for uid, answered, joined in rows:
            stored.setdefault(uid, []).append((_ts(answered), _ts(joined)))

    def ticketed(s: AnsweredStay) -> bool:
        return any(
            (a is not None and s.joined_at - SLACK_S <= a <= s.ended_at + SLACK_S)
            or (j is not None and abs(j - s.joined_at) <= JOIN_SLACK_S)
            for a, j in stored.get(s.callid, ())
        )

    return [s for s in stays if not ticketed(s)]


async def _write(
    sessions: async_sessionmaker[AsyncSession],
    stays: list[AnsweredStay],
    report: BackfillReport,
    centre: str,
) -> None:
    report.stays += len(stays)
    async with sessions() as session:
        missing = await _unticketed(session, stays, centre)
        report.already_ticketed += len(stays) - len(missing)
        drafts = []
        for s in missing:
            try:
                drafts.append(draft_of(s, centre))
            except ValueError as e:  # a field too long for the ticket: counted, not fatal
                report.malformed["ticket_" + str(e).split(":", 1)[0]] += 1
        if drafts:
            report.written += len(await store_tickets(session, drafts))


class Backfill:
    """Backfills from the ``queue_log`` table the rows of one centre's Asterisk (``centre``
    and ``source`` name its cursor; the rows are those :mod:`metrics.centre_rows` gives).

    ``seen(callid)`` says whether the running controller knows the call (rule 1);
    ``on_report`` gets each run's :class:`BackfillReport` (metrics, logs).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        source: str = "default",
        centre: str = DEFAULT_CENTRE,
        seen: Callable[[str], bool] = lambda callid: False,
        stale_after_s: float = 6 * 3600.0,
        page: int = PAGE,
    ) -> None:
        self._sessions = sessions
        self.source = source
        self.centre = centre
        self._own = centre_rows(_TABLE.c.callid, centre)
        self._cursor_key = (_CURSORS.c.centre == centre) & (_CURSORS.c.source == source)
        self._seen = seen
        self._stale_after = stale_after_s
        self._page = page
        self.runs = 0
        self.last: BackfillReport | None = None

    async def queue_log_fed(self) -> bool:
        """Whether Asterisk writes its queue_log into the table (it holds a row): then the
        backfill can be trusted with every call the controller could not see end."""
        async with self._sessions() as session:
            return await _newest_id(session) is not None

    async def _cursor(self) -> int | None:
        async with self._sessions() as session:
            got = await session.execute(select(_CURSORS.c.settled_id).where(self._cursor_key))
            return got.scalar_one_or_none()

    async def _save_cursor(self, settled: int, *, new: bool) -> None:
        async with self._sessions() as session, session.begin():
            if new:
                await session.execute(
                    _CURSORS.insert().values(
                        centre=self.centre, source=self.source, settled_id=settled
                    )
                )
            else:
                await session.execute(
                    _CURSORS.update()
                    .where(self._cursor_key)
                    .values(settled_id=settled, updated_at=func.now())
                )

    async def run(self) -> BackfillReport:
        """Read every row after the cursor, write the missing tickets, move the cursor."""
        started = time.perf_counter()
        report = BackfillReport()
        cursor = await self._cursor()
        if cursor is None:
            async with self._sessions() as session:
                newest = await _newest_id(session) or 0
            await self._save_cursor(newest, new=True)
            report.settled_id = newest
            log.info(
                "queue_log %s of %s: first run, reading from id %d on",
                self.source,
                self.centre,
                newest,
            )
            return self._done(report, started)
        folder = StayFolder()
        after = cursor
        newest_at = 0.0
        while True:
            async with self._sessions() as session:
                rows = (
                    await session.execute(
                        select(*_COLUMNS)
                        .where(_TABLE.c.id > after, self._own)
                        .order_by(_TABLE.c.id)
                        .limit(self._page)
                    )
                ).all()
            if not rows:
                break
            ended: list[AnsweredStay] = []
            for r in rows:
                report.rows += 1
                try:
                    row = row_from_columns(*r)
                except QueueLogError as e:
                    report.malformed[e.reason] += 1
                    continue
                newest_at = max(newest_at, row.at)
                ended.extend(folder.feed(row))
            after = rows[-1][0]
            await self._write(ended, report)
            report.stale_dropped += folder.drop_open_before(newest_at - self._stale_after)
            low = folder.low_water()
            settled = after if low is None else low - 1
            if settled > cursor:
                await self._save_cursor(settled, new=False)
                cursor = settled
        report.settled_id = cursor
        report.open_left = folder.open_count
        report.anomalies = folder.anomalies
        return self._done(report, started)

    async def _write(self, ended: list[AnsweredStay], report: BackfillReport) -> None:
        unseen = [s for s in ended if not self._seen(s.callid)]
        report.seen_live += len(ended) - len(unseen)
        await _write(self._sessions, unseen, report, self.centre)

    def _done(self, report: BackfillReport, started: float) -> BackfillReport:
        report.seconds = time.perf_counter() - started
        self.runs += 1
        self.last = report
        if report.written or report.malformed:
            log.warning(
                "queue_log %s: %d tickets written for calls answered while we were away "
                "(%d rows read, %d already had theirs, %d malformed rows skipped)",
                self.source,
                report.written,
                report.rows,
                report.already_ticketed,
                sum(report.malformed.values()),
            )
        return report


def _file_rows(lines: Iterable[str], report: BackfillReport) -> Iterator[QueueLogRow]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        report.rows += 1
        try:
            yield parse_line(line, n)
        except QueueLogError as e:
            report.malformed[e.reason] += 1


async def backfill_file(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    since: datetime | None = None,
    restore: bool = True,
    centre: str = DEFAULT_CENTRE,
) -> BackfillReport:
    """The tickets of the answered calls in a queue_log *file* that have none yet (for a gap
        during which the database was down too, so the table missed the rows). With ``restore``
        the rows the table lacks are put back first (:mod:`hotline.queue_log_restore`), so the
        durable history counts them. Only rows at or after ``since`` (when given) count. The file
    is ``centre``'s Asterisk's: its tickets are that centre's.
        Idempotent: run it twice, nothing more is written the second time."""
    started = time.perf_counter()
    report = BackfillReport()
    floor = since.timestamp() if since is not None else float("-inf")
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8", errors="replace")
    rows = [r for r in _file_rows(text.splitlines(), report) if r.at >= floor]
    if restore:
        report.rows_restored = await restore_rows(sessions, rows)
    folder = StayFolder()
    batch: list[AnsweredStay] = []
    for row in rows:
        batch.extend(folder.feed(row))
        if len(batch) >= PAGE:
            await _write(sessions, batch, report, centre)
            batch = []
    await _write(sessions, batch, report, centre)
    report.open_left = folder.open_count
    report.anomalies = folder.anomalies
    report.seconds = time.perf_counter() - started
    return report
