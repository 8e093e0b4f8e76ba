"""Member management of the embedded PBX, as app_queue does it: queues and their members
(``QueueAdd``, ``QueueRemove``, ``QueuePause`` with a reason), and the conditions that decide
whether a member can be rung (``is_member_available``/``can_ring_entry``: paused, busy, ringing,
in wrap-up, unavailable) or whether a queue counts as empty for ``joinempty``/``leavewhenempty``
(``get_member_status``).

A member is one queue's view of a device (its ``StateInterface``): the ring and the call live
on the device, so a seat that is in several queues (skills) is busy in all of them at once.
"""

from __future__ import annotations

from typing import Any

from pbx.simulator.event_builder import EventBuilder
from pbx.simulator.model import (
    EMPTY_INUSE,
    EMPTY_PAUSED,
    EMPTY_RINGING,
    EMPTY_UNAVAILABLE,
    EMPTY_WRAPUP,
    RES_EXISTS,
    RES_NOSUCHQUEUE,
    RES_NOT_DYNAMIC,
    RES_OKAY,
    Device,
    Member,
    Queue,
)

__all__ = ["MemberManagement"]


class MemberManagement(EventBuilder):
    """Queues and members: add, remove, pause; who is available and who can be rung."""

    queues: dict[str, Queue]
    devices: dict[str, Device]

    def add_queue(self, name: str, **settings: Any) -> Queue:
        q = Queue(name, **settings)
        self.queues[name] = q
        return q

    def _device(self, state_interface: str) -> Device:
        key = state_interface.lower()
        dev = self.devices.get(key)
        if dev is None:
            dev = self.devices[key] = Device(key)
        return dev

    def add_member(
        self,
        queue: str,
        interface: str,
        *,
        name: str = "",
        state_interface: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        membership: str = "dynamic",
        wrapuptime: int = 0,
        ringinuse: bool | None = None,
        event: bool = True,
    ) -> int:
        """``QueueAdd`` (a dynamic member unless said otherwise): ``RES_OKAY``, or
        ``RES_EXISTS``/``RES_NOSUCHQUEUE`` as app_queue's ``add_to_queue`` answers. Waiting
        callers look again on their next recheck."""
        q = self.queues.get(queue)
        if q is None:
            return RES_NOSUCHQUEUE
        key = interface.lower()
        if key in q.members:
            return RES_EXISTS
        now = int(self.clock.now())
        m = Member(
            queue=q.name,
            interface=interface,
            name=name or interface,
            state_interface=state_interface or interface,
            membership=membership,
            penalty=penalty,
            login_time=now,
            paused=paused,
            paused_reason=reason if paused else "",
            last_pause=now if paused else 0,
            wrapuptime=wrapuptime,
            ringinuse=q.ringinuse if ringinuse is None else ringinuse,
            dev=self._device(state_interface or interface),
        )
        q.members[key] = m
        if event:
            self._member_event("QueueMemberAdded", m)
            if self.queue_log is not None:  # over AMI: a boot-time member writes no row
                self._log_row("MANAGER", q.name, m.name, "ADDMEMBER", "PAUSED" if paused else "")
        self._wake_waiting_callers(q)
        return RES_OKAY

    def remove_member(self, queue: str, interface: str) -> int:
        """``QueueRemove``: ``RES_OKAY``, ``RES_EXISTS`` (not there), ``RES_NOSUCHQUEUE``, or
        ``RES_NOT_DYNAMIC`` for a static member (app_queue's ``remove_from_queue``). A ring
        of the member goes on, and may be answered (the call attempt holds its own reference
        to the member: recording ``removed``); a call it is on goes on but will not count as
        completed."""
        q = self.queues.get(queue)
        if q is None:
            return RES_NOSUCHQUEUE
        m = q.members.get(interface.lower())
        if m is None:
            return RES_EXISTS
        if m.membership == "static":
            return RES_NOT_DYNAMIC
        del q.members[interface.lower()]
        if m.call is not None and m.call.member is m:
            m.call.member_removed = True  # README s9: that call never counts as Completed
        self._member_event("QueueMemberRemoved", m)
        if self.queue_log is not None:
            self._log_row("MANAGER", q.name, m.name, "REMOVEMEMBER", "")
        self._wake_waiting_callers(q)
        return RES_OKAY

    def pause_member(
        self, interface: str, paused: bool, *, queue: str | None = None, reason: str = ""
    ) -> bool:
        """Pause or unpause ``interface`` in ``queue`` (all its queues if None); False if absent."""
        key = interface.lower()
        if queue:
            q = self.queues.get(queue)
            targets = [q.members[key]] if q is not None and key in q.members else []
        else:
            targets = [q.members[key] for q in self.queues.values() if key in q.members]
        if not targets:
            return False
        now = int(self.clock.now())
        log_rows = self.queue_log is not None
        if log_rows and not queue:  # app_queue's set_member_paused: before the first member
            event = "PAUSEALL" if paused else "UNPAUSEALL"
            self._log_row("NONE", "NONE", targets[0].name, event, reason)
        for m in targets:
            m.paused = paused
            m.paused_reason = reason if paused else ""
            if paused:
                m.last_pause = now
            if log_rows:  # data1 the reason, given when unpausing too
                self._log_row("NONE", m.queue, m.name, "PAUSE" if paused else "UNPAUSE", reason)
            self._member_event("QueueMemberPause", m)
            # A waiting caller notices the change on its next 1 s recheck (README s10).
            self._wake_waiting_callers(self.queues[m.queue])
        return True

    def set_device_unavailable(self, state_interface: str, unavailable: bool = True) -> None:
        """Mark a device (a member's ``StateInterface``) unavailable, as a SIP peer that is not
        registered is (``Status: 5``), or available again. Its members say so in a
        QueueMemberStatus, as app_queue does on a device state change; waiting callers look
        again on their next recheck."""
        dev = self._device(state_interface)
        if dev.unavailable == unavailable:
            return
        dev.unavailable = unavailable
        for q in self.queues.values():
            for m in q.members.values():
                if m.dev is dev:
                    self._member_event("QueueMemberStatus", m)
                    self._wake_waiting_callers(q)

    def _wrapuptime(self, q: Queue, m: Member) -> float:
        return m.wrapuptime or q.wrapuptime

    def _in_wrapup(self, q: Queue, m: Member, now: float) -> bool:
        wrap = self._wrapuptime(q, m)
        # app_queue: ``time(NULL) - wrapuptime < mem->lastcall``, in whole seconds
        last = m.dev.last_call_end
        return bool(wrap) and last > 0 and int(now) - wrap < int(last)

    def _any_in_wrapup(self, q: Queue, now: float) -> bool:
        """Whether a member of ``q`` is in wrap-up: :meth:`_in_wrapup` of each, in one loop
        (a waiting caller asks on every look)."""
        t = int(now)
        queue_wrap = q.wrapuptime
        for m in q.members.values():
            wrap = m.wrapuptime or queue_wrap
            if wrap:
                last = m.dev.last_call_end
                if last > 0 and t - wrap < int(last):
                    return True
        return False

    def _ringable(self, q: Queue, m: Member, now: float) -> bool:
        dev = m.dev
        if m.paused or dev.unavailable:
            return False
        if (dev.leg is not None or dev.call is not None) and not m.ringinuse:
            return False
        if dev.leg is not None:  # one ring at a time per device
            return False
        return not self._in_wrapup(q, m, now)

    def _available(self, q: Queue, now: float) -> list[tuple[int, Member]]:
        return [(pos, m) for pos, m in enumerate(q.members.values()) if self._ringable(q, m, now)]

    def _num_available(self, q: Queue, now: float, enough: int | None = None) -> int:
        """Members that could be rung now (one at most without autofill or with ringall, as
        app_queue counts), counting no further than ``enough`` when given."""
        n = 0
        single = not q.autofill or q.strategy == "ringall"
        for m in q.members.values():
            if self._ringable(q, m, now):
                n += 1
                if single or n == enough:
                    break
        return n

    def _empty(self, q: Queue, conditions: int, now: float) -> bool:
        """app_queue's get_member_status: True when no member satisfies ``conditions``."""
        for m in q.members.values():
            if m.dev.unavailable and conditions & EMPTY_UNAVAILABLE:
                continue
            busy = m.dev.leg is not None or m.dev.call is not None
            if busy and conditions & (EMPTY_INUSE | EMPTY_RINGING):
                continue
            if m.paused and conditions & EMPTY_PAUSED:
                continue
            if conditions & EMPTY_WRAPUP and self._in_wrapup(q, m, now):
                continue
            return False
        return True
