"""Put back into the ``queue_log`` table the rows Asterisk kept only in its file.

While the database is down Asterisk's ``res_config_pgsql`` loses every queue_log row (it does
not buffer); its file keeps them (``queue_log_to_file = yes``). The durable call history
(:mod:`metrics.call_history`) reads the table, so after such a gap ``hotline backfill
--queue-log FILE`` restores the missing rows as well as the tickets.

Which rows are missing: a file row matches a table row with the same callid, queue, agent,
event and data, written less than two seconds apart (the file has whole seconds; the table's
time is taken a moment apart, possibly across a second's boundary). Each table row matches
one file row at most, so a call's repeated events (two RINGNOANSWER) count as two. Restored
rows are appended (new ids, after the rows already there): the backfill's cursor reads them
as new, and its ticket check keeps their calls to one ticket each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.models import QueueLog
from pbx.queue_log import QueueLogError, QueueLogRow, columns, row_from_columns

__all__ = ["restore_rows"]

_T = QueueLog.__table__
_Key = tuple[str, str, str, str, tuple[str, ...]]
#: Rows per INSERT.
_BATCH = 2000
#: A file row's whole second and the table's time, taken a moment apart (seconds).
_SLACK_S = 2.0


def _key(row: QueueLogRow) -> _Key:
    return (row.callid, row.queue, row.agent, row.event, row.data[:5])


async def _stored(session: AsyncSession, first: float, last: float) -> dict[_Key, list[float]]:
    lo = datetime.fromtimestamp(first, UTC).replace(tzinfo=None) - timedelta(seconds=2)
    hi = datetime.fromtimestamp(last, UTC).replace(tzinfo=None) + timedelta(seconds=2)
    stored: dict[_Key, list[float]] = {}
    result = await session.stream(select(*_T.c).where(_T.c.time >= lo, _T.c.time <= hi))
    async for r in result:
        try:
            row = row_from_columns(*r)
        except QueueLogError:
            continue
        stored.setdefault(_key(row), []).append(row.at)
    return stored


async def restore_rows(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[QueueLogRow]
) -> int:
    """Insert the ``rows`` (read from a file, in file order) that the table lacks; returns
    how many. Idempotent: a second run finds them all and inserts nothing."""
    if not rows:
        return 0
    async with sessions() as session:
        stored = await _stored(session, min(r.at for r in rows), max(r.at for r in rows))
        missing = []
        for row in rows:
            times = stored.get(_key(row))
            hit = None
            if times:
                hit = next((i for i, t in enumerate(times) if abs(t - row.at) < _SLACK_S), None)
            if hit is None:
                missing.append(columns(row))
            else:
                del times[hit]
        for start in range(0, len(missing), _BATCH):
            await session.execute(insert(_T), missing[start : start + _BATCH])
        await session.commit()
    return len(missing)
