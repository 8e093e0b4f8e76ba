"""The embedded PBX's queue_log: the rows Asterisk 20 writes, at the same moments, with the
same fields, handed to one optional hook (``queue_log``; None = off).

Asterisk writes a queue_log row for every queue event (README, "queue_log"), and the
controller reads them back for what happened while it was away; the embedded PBX writes the
same rows so that the default set-up exercises the same path. Where and with which fields is
copied from ``apps/app_queue.c`` (its ``ast_queue_log`` calls) and checked against the
recordings (``tests/recordings/NAME.queue_log``):

* times are whole seconds subtracted as app_queue does (``time(NULL) - qe->start``: both
  truncated first), ring times in ms for RINGNOANSWER/RINGCANCELED, whole seconds
  (``ms / 1000``) for CONNECT;
* ``callid`` is the Uniqueid of the caller's ``;2`` channel (the one in ``Queue()``),
  ``MANAGER`` for members added or removed over AMI, ``NONE`` for pauses; ``agent`` the
  member name (the shipped ``queues.conf`` has ``log_membername_as_agent = yes``), ``NONE``
  for a caller's own events.

A call site checks ``self.queue_log is not None`` before building anything, so a PBX
without the hook (the benchmark) pays one attribute test per row it would write.
"""

from __future__ import annotations

from collections.abc import Callable

from pbx.queue_log import QueueLogRow
from pbx.simulator.clock import Clock
from pbx.simulator.model import Caller, Leg, Member

__all__ = ["QueueLogHook", "QueueLogRows"]

#: Takes every row, in write order (``id`` 0: the sink numbers them).
QueueLogHook = Callable[[QueueLogRow], None]


class QueueLogRows:
    """Writes the queue_log rows of app_queue through :attr:`queue_log`."""

    clock: Clock
    #: Where the rows go; None = no queue_log (nothing is built).
    queue_log: QueueLogHook | None
    #: queues.conf ``[general] log-caller-id-name``: ENTERQUEUE carries the caller's name.
    log_caller_id_name: bool

    def _log_row(self, callid: str, queue: str, agent: str, event: str, *data: str) -> None:
        hook = self.queue_log
        if hook is not None:
            hook(QueueLogRow(0, self.clock.now(), callid, queue, agent, event, data))

    def log_queue_start(self) -> None:
        """QUEUESTART: Asterisk's logger writes it when Asterisk starts."""
        self._log_row("NONE", "NONE", "NONE", "QUEUESTART", "")

    def _log_enter(self, caller: Caller) -> None:
        """ENTERQUEUE: url, caller number, position[, caller name]."""
        c2 = caller.chan2
        data: tuple[str, ...] = ("", c2.cid_num, str(caller.original_position))
        if self.log_caller_id_name:
            data += (c2.cid_name.replace("|", "_"),)
        self._log_row(c2.uniqueid, caller.queue, "NONE", "ENTERQUEUE", *data)

    def _log_left(self, event: str, caller: Caller, queue: str, pos: int) -> None:
        """ABANDON, EXITWITHTIMEOUT, EXITEMPTY: position, original position, wait s."""
        wait = int(self.clock.now()) - int(caller.join_time)
        self._log_row(
            caller.chan2.uniqueid,
            queue,
            "NONE",
            event,
            str(pos),
            str(caller.original_position),
            str(wait),
        )

    def _log_connect(self, caller: Caller, leg: Leg) -> None:
        """CONNECT: hold s, the member channel's Uniqueid, ring s."""
        now = self.clock.now()
        hold = int(now) - int(caller.join_time)
        ring = int((now - leg.start) * 1000) // 1000
        self._log_row(
            caller.chan2.uniqueid,
            caller.queue,
            leg.member.name,
            "CONNECT",
            str(hold),
            leg.chan1.uniqueid,
            str(ring),
        )

    def _log_complete(
        self, event: str, callid: str, queue: str, m: Member, join: float, start: float, opos: int
    ) -> None:
        """COMPLETEAGENT / COMPLETECALLER: hold s, talk s, original position."""
        hold = int(start) - int(join)
        talk = int(self.clock.now()) - int(start)
        self._log_row(callid, queue, m.name, event, str(hold), str(talk), str(opos))

    def _log_ring_ended(self, event: str, caller: Caller, leg: Leg, ms: int) -> None:
        """RINGNOANSWER / RINGCANCELED: ms the member was rung."""
        self._log_row(caller.chan2.uniqueid, caller.queue, leg.member.name, event, str(ms))
