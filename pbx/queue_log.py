"""Asterisk's queue_log: one row per queue event, its two shapes (file line, database row).

Asterisk writes every queue event (a caller joined, was answered, hung up, a member was
added or paused...) to the queue_log, as a line of its file and, with ``res_config_pgsql``,
as a row of the ``queue_log`` table (the layout of Asterisk's contrib schema). It is the
durable record the controller reads back for what happened while it was away
(``hotline.backfill``) and what reports over days count (``metrics.call_history``).

File line: ``time|callid|queuename|agent|event|data1|data2|...`` with ``time`` in whole Unix
seconds. Table row: ``id, time, callid, queuename, agent, event, data1 .. data5, data``
with ``time`` a naive UTC timestamp (microseconds; ``queue_log_realtime_use_gmt = yes``) and
``data`` the pipe-joined fields Asterisk falls back to when it started without the database
(README, "queue_log"). Both become one :class:`QueueLogRow`.

Hand-written because it is Asterisk's own format, a dozen lines of rules; pure (no I/O).
A line or row that cannot be read raises :class:`QueueLogError` naming what is wrong; a
reader counts and skips it (one bad row never stops a backfill).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "CALL_EVENTS",
    "QueueLogError",
    "QueueLogRow",
    "columns",
    "format_line",
    "parse_line",
    "row_from_columns",
]

#: The events that belong to a caller's stay in a queue (the others are about members or
#: Asterisk itself: ADDMEMBER, PAUSE, QUEUESTART...).
CALL_EVENTS = frozenset(
    {
        "ENTERQUEUE",
        "CONNECT",
        "COMPLETEAGENT",
        "COMPLETECALLER",
        "ABANDON",
        "EXITWITHTIMEOUT",
        "EXITEMPTY",
        "EXITWITHKEY",
        "RINGNOANSWER",
        "RINGCANCELED",
        "BLINDTRANSFER",
        "ATTENDEDTRANSFER",
    }
)
#: Column widths of Asterisk's contrib table (a longer value does not fit).
_WIDTH = {"callid": 80, "queuename": 256, "agent": 80, "event": 32}
_DATA_WIDTH = 100


class QueueLogError(ValueError):
    """A queue_log line or row that cannot be read; ``reason`` is a short label for counting."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    """One queue_log event. ``at`` is Unix seconds (UTC); ``id`` the table's id (write
    order), or the line number for a file; ``data`` the event's fields, data1 first."""

    id: int
    at: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...] = ()

    def field(self, n: int) -> str:
        """``data<n>`` (1-based), ``""`` when absent."""
        return self.data[n - 1] if 0 < n <= len(self.data) else ""

    def number(self, n: int) -> float | None:
        """``data<n>`` as a non-negative number, ``None`` when absent or not a number."""
        text = self.field(n)
        try:
            value = float(text)
        except ValueError:
            return None
        return value if value >= 0 and value == value and value != float("inf") else None


def _check(row: QueueLogRow, where: str) -> QueueLogRow:
    if not row.event or not row.event.replace("_", "").isalnum() or not row.event.isupper():
        raise QueueLogError("bad_event", f"{where}: event {row.event!r} is not an event name")
    if not row.callid:
        raise QueueLogError("no_callid", f"{where}: {row.event} has an empty callid")
    if row.event in CALL_EVENTS and row.queue in ("", "NONE"):
        raise QueueLogError("no_queue", f"{where}: {row.event} names no queue")
    return row


def parse_line(line: str, lineno: int = 0) -> QueueLogRow:
    """One line of Asterisk's queue_log file (``lineno`` becomes the row's id)."""
    where = f"line {lineno}"
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5:
        raise QueueLogError("short", f"{where}: {len(parts)} fields, at least 5 expected")
    stamp, callid, queue, agent, event, *data = parts
    try:
        at = float(stamp)
    except ValueError:
        at = -1.0
    if not at >= 0 or at == float("inf"):
        raise QueueLogError("bad_time", f"{where}: time {stamp[:40]!r} is not Unix seconds")
    while data and data[-1] == "":
        data.pop()
    return _check(QueueLogRow(lineno, at, callid, queue, agent, event, tuple(data)), where)


def row_from_columns(
    id: int,
    time: datetime | None,
    callid: str | None,
    queuename: str | None,
    agent: str | None,
    event: str | None,
    data1: str | None = None,
    data2: str | None = None,
    data3: str | None = None,
    data4: str | None = None,
    data5: str | None = None,
    data: str | None = None,
) -> QueueLogRow:
    """One row of the ``queue_log`` table. ``time`` naive is UTC (the column has no zone).
    Fields in ``data`` (the fallback column) are used when data1 .. data5 are all empty."""
    where = f"queue_log id {id}"
    if time is None:
        raise QueueLogError("bad_time", f"{where}: no time")
    at = (time if time.tzinfo else time.replace(tzinfo=UTC)).timestamp()
    fields = [data1 or "", data2 or "", data3 or "", data4 or "", data5 or ""]
    if not any(fields) and data:
        fields = data.split("|")
    while fields and fields[-1] == "":
        fields.pop()
    return _check(
        QueueLogRow(id, at, callid or "", queuename or "", agent or "", event or "", tuple(fields)),
        where,
    )


def format_line(row: QueueLogRow) -> str:
    """The file line Asterisk writes for ``row`` (whole seconds), without the newline.

    >>> row = QueueLogRow(1, 1795966554.2, "1.1", "q", "Agent 8001", "CONNECT", ("1", "1.2", "1"))
    >>> format_line(row)
    '1795966554|1.1|q|Agent 8001|CONNECT|1|1.2|1'
    """
    return "|".join((str(int(row.at)), row.callid, row.queue, row.agent, row.event, *row.data))


def columns(row: QueueLogRow) -> dict[str, object]:
    """The table's columns for ``row`` (``time`` naive UTC, data1 .. data5, no ``id``), cut
    to the widths of Asterisk's table as its INSERT would be refused otherwise."""
    data = [d[:_DATA_WIDTH] for d in row.data[:5]]
    data += [""] * (5 - len(data))
    return {
        "time": datetime.fromtimestamp(row.at, UTC).replace(tzinfo=None),
        "callid": row.callid[: _WIDTH["callid"]],
        "queuename": row.queue[: _WIDTH["queuename"]],
        "agent": row.agent[: _WIDTH["agent"]],
        "event": row.event[: _WIDTH["event"]],
        **{f"data{i + 1}": v for i, v in enumerate(data)},
    }
