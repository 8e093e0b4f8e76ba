"""What became of each caller's stay in a queue, told by Asterisk's queue_log (pure, no I/O).

The controller's live books come from AMI events; while it is away only the queue_log keeps
the record (DESIGN, principle 9). :class:`StayFolder` reads queue_log rows in write order
(``id``) and gives back every *answered* stay once it has ended, with what its ticket needs:
the caller's number and name (``ENTERQUEUE``), the member and the hold time (``CONNECT``),
the talk time and who hung up (``COMPLETEAGENT`` / ``COMPLETECALLER``, or a transfer).

Rules (Asterisk 20's rows, README "queue_log"):

* A stay is keyed by ``callid`` (the caller's channel in ``Queue()``); one channel is in one
  queue at a time, so a new ``ENTERQUEUE`` for an open callid ends the old stay unanswered.
* ``ABANDON``, ``EXITWITHTIMEOUT``, ``EXITEMPTY``, ``EXITWITHKEY`` end a stay unanswered.
* ``QUEUESTART`` (Asterisk started again) ends every open stay: an answered one was cut off
  by the restart and still gets its ticket, ended at the restart (the latest it can have
  ended; the rows do not say when the line died).
* Rows may start in the middle of a stay (a file, or a table read from a cursor): a
  ``CONNECT`` without its ``ENTERQUEUE`` joined ``hold`` seconds before; an end without its
  ``CONNECT`` was answered ``talk`` seconds before the end.
* :meth:`StayFolder.low_water` is the smallest id of a row of a stay still open: a reader
  that stops now must start again there (the cursor) so that the stay is read whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pbx.queue_log import QueueLogRow

__all__ = [
    "ANSWERED_ENDS",
    "HOLD_FIELD",
    "TALK_FIELD",
    "UNANSWERED_ENDS",
    "AnsweredStay",
    "StayFolder",
]

#: The data field (1-based) of a ``CONNECT`` (and of ``COMPLETE*``) that holds the hold time.
HOLD_FIELD = 1
#: The data field of each answered end that holds the talk time (a transfer's data1 is its
#: target, so its times come one field later).
TALK_FIELD = {"COMPLETEAGENT": 2, "COMPLETECALLER": 2, "BLINDTRANSFER": 3, "ATTENDEDTRANSFER": 3}
#: Rows that end an answered stay (the call left the queue member).
ANSWERED_ENDS = frozenset(TALK_FIELD)
#: Rows that end a stay nobody answered.
UNANSWERED_ENDS = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"})


@dataclass(frozen=True, slots=True)
class AnsweredStay:
    """A caller's stay in a queue that a member answered and that has ended. Times are Unix
    seconds as the queue_log has them; ``ended_by`` is the row that ended it (``QUEUESTART``
    for a call cut off by an Asterisk restart)."""

    callid: str
    queue: str
    member: str
    caller_num: str
    caller_name: str
    joined_at: float
    answered_at: float
    ended_at: float
    hold_s: float
    talk_s: float
    ended_by: str
    first_id: int
    last_id: int


@dataclass(slots=True)
class _Stay:
    queue: str
    first_id: int
    joined_at: float | None = None
    caller_num: str = ""
    caller_name: str = ""
    member: str = ""
    answered_at: float | None = None
    hold_s: float | None = None


class StayFolder:
    """Folds queue_log rows (in id order) into ended answered stays; see the module's rules.

    ``anomalies`` counts rows that do not fit a stay (``end_without_stay``: a stay's end with
    nothing before it and no figures to rebuild it; ``reentered``: an ``ENTERQUEUE`` for a
    callid still open). They are counted and skipped, never raised.
    """

    def __init__(self) -> None:
        self._open: dict[str, _Stay] = {}
        self.anomalies: Counter[str] = Counter()

    @property
    def open_count(self) -> int:
        return len(self._open)

    def low_water(self) -> int | None:
        """The smallest id of a row of a stay still open, ``None`` when none is open."""
        return min((s.first_id for s in self._open.values()), default=None)

    def drop_open_before(self, at: float) -> int:
        """Forget stays open since before ``at`` (their end row will never come: Asterisk died
        without a restart we can see); returns how many. Keeps :meth:`low_water` moving."""
        stale = [k for k, s in self._open.items() if (s.joined_at or s.answered_at or at) < at]
        for k in stale:
            del self._open[k]
        return len(stale)

    def feed(self, row: QueueLogRow) -> list[AnsweredStay]:
        """Take one row; return the answered stays it ended (usually none, one at an end,
        every open answered stay at a ``QUEUESTART``)."""
        event = row.event
        if event == "QUEUESTART":
            ended = [self._ended(k, s, row, None) for k, s in self._open.items()]
            self._open.clear()
            return [e for e in ended if e is not None]
        if event == "ENTERQUEUE":
            if row.callid in self._open:
                self.anomalies["reentered"] += 1
            self._open[row.callid] = _Stay(
                queue=row.queue,
                first_id=row.id,
                joined_at=row.at,
                caller_num=row.field(2),
                caller_name=row.field(4),
            )
            return []
        if event == "CONNECT":
            stay = self._open.get(row.callid)
            if stay is None or stay.queue != row.queue:
                stay = self._open[row.callid] = _Stay(queue=row.queue, first_id=row.id)
            stay.member = row.agent
            stay.answered_at = row.at
            stay.hold_s = row.number(HOLD_FIELD)
            return []
        if event in ANSWERED_ENDS:
            stay = self._open.pop(row.callid, None)
            if stay is None or stay.queue != row.queue:
                stay = _Stay(queue=row.queue, first_id=row.id, member=row.agent)
            done = self._ended(row.callid, stay, row, self._talk(row))
            if done is None:
                self.anomalies["end_without_stay"] += 1
            return [done] if done is not None else []
        if event in UNANSWERED_ENDS:
            self._open.pop(row.callid, None)
        return []

    @staticmethod
    def _talk(row: QueueLogRow) -> float | None:
        """Talk seconds of an end row (:data:`TALK_FIELD`)."""
        return row.number(TALK_FIELD[row.event])

    @staticmethod
    def _ended(
        callid: str, stay: _Stay, row: QueueLogRow, talk: float | None
    ) -> AnsweredStay | None:
        answered = stay.answered_at
        if answered is None:
            if talk is None or row.event == "QUEUESTART":
                return None  # never answered (or nothing to rebuild the answer from)
            answered = row.at - talk
        ended = max(row.at, answered)
        hold = stay.hold_s
        if hold is None and row.event in ("COMPLETEAGENT", "COMPLETECALLER"):
            hold = row.number(HOLD_FIELD)
        joined = stay.joined_at
        if joined is None:
            joined = answered - (hold or 0.0)
        joined = min(joined, answered)
        if hold is None:
            hold = answered - joined
        return AnsweredStay(
            callid=callid,
            queue=stay.queue,
            member=stay.member or (row.agent if row.agent != "NONE" else ""),
            caller_num=stay.caller_num,
            caller_name=stay.caller_name,
            joined_at=joined,
            answered_at=answered,
            ended_at=ended,
            hold_s=hold,
            talk_s=talk if talk is not None else ended - answered,
            ended_by=row.event,
            first_id=stay.first_id,
            last_id=row.id,
        )
