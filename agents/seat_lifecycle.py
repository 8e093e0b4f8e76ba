"""The seat lifecycle over the gateway: an operator's requests (sign in, ready, pause with a
code, sign out) carried out on Asterisk, confirmed by its events, kept in the store and put
back after Asterisk forgets them.

The rules are :mod:`agents.shift`'s (pure); this module does the I/O around them: it sends
the actions through the gateway (DESIGN, principle 7: a refusal raises
:class:`pbx.ami_actions.AmiActionError` with Asterisk's message, a link down
:class:`~pbx.ami_actions.AmiNotConnected`; nothing is queued), waits a moment for Asterisk's
events to confirm the change on the seat board (principle 8: what it returns is what
Asterisk says, with what is still ``pending``), and writes the store. After every resync
:meth:`SeatLifecycle.restore` sends again what Asterisk forgot; the auto-pause after
unanswered rings is sent from the bus's notices.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents import seat_store
from agents.seats import LOGGED_OUT, SeatBoard, SeatChanged
from agents.shift import (
    PAUSED,
    SIGNED_OUT,
    Action,
    AddMember,
    Confirmed,
    PauseMember,
    RemoveMember,
    Shift,
    ShiftBook,
    ShiftRefused,
    overdue,
    pending,
    shown,
)
from config.pause_codes import PauseCodes
from config.skills import Skills
from pbx import events as ev
from pbx.ami_actions import AmiNotConnected
from pbx.gateway import Gateway

__all__ = ["SeatLifecycle", "SeatView", "ShiftRefused"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeatView:
    """A seat as the desktop shows it: Asterisk's state, and what is asked but not yet
    confirmed."""

    interface: str | None
    state: str
    reason: str
    since: float | None
    limit_s: float | None
    overdue: bool
    pending: str | None
    queues: dict[str, int]


class SeatLifecycle:
    def __init__(
        self,
        *,
        board: SeatBoard,
        gateway: Callable[[], Gateway | None],
        sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
        now: Callable[[], float],
        skills: Skills,
        pause_codes: PauseCodes,
        auto_pause_rings: int = 2,
        confirm_timeout_s: float = 2.0,
    ) -> None:
        self.book = ShiftBook()
        self.board = board
        self._gateway = gateway
        self._sessions = sessions
        self.now = now
        self.skills = skills
        self.pause_codes = pause_codes
        self.auto_pause_rings = auto_pause_rings
        self.confirm_timeout_s = confirm_timeout_s
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._restoring = asyncio.Lock()
        self.restores = 0
        self.restore_failures = 0
        self.store_failures = 0

    # -- what Asterisk says --------------------------------------------------------------

    def seen(self, interface: str) -> Confirmed:
        seat = self.board.seats.get(interface)
        if seat is None:
            return Confirmed()
        paused = bool(seat.queues) and seat.paused_in >= seat.queues
        return Confirmed(frozenset(seat.queues), paused, seat.paused_reason if paused else "")

    def view(self, shift: Shift | None, interface: str | None = None) -> SeatView:
        iface = shift.interface if shift is not None else interface
        seen = self.seen(iface) if iface else Confirmed()
        state, reason = shown(shift, seen)
        code = self.pause_codes.get(reason) if state == PAUSED else None
        limit = code.limit_s if code is not None else None
        now = self.now()
        since = None
        if shift is not None:
            since = shift.since
        return SeatView(
            interface=iface,
            state=state,
            reason=reason,
            since=since,
            limit_s=limit,
            overdue=shift is not None and limit is not None and overdue(shift, limit, now),
            pending=pending(shift, seen),
            queues=dict(shift.queues) if shift is not None else {},
        )

    def on_seat_changed(self, notice: SeatChanged) -> None:
        """Bus subscriber: wake the requests waiting for a confirmation; a seat on a call
        starts its unanswered rings from zero; a sign-out confirmed ends the shift."""
        if notice.state == "on_call":
            self.book.answered(notice.interface)
        elif notice.state == LOGGED_OUT:
            shift = self.book.at_seat(notice.interface)
            if shift is not None:
                self.book.confirmed_out(shift, Confirmed())
        self._changed.set()
        self._changed = asyncio.Event()

    def on_ring_unanswered(self, event: ev.AgentRingNoAnswer) -> None:
        """Bus subscriber: the N-th unanswered ring in a row pauses the seat."""
        code = self.pause_codes.auto_pause_code
        actions = self.book.ring_unanswered(
            event.interface, self.auto_pause_rings, code, self.now()
        )
        if actions:
            shift = self.book.at_seat(event.interface)
            log.info("seat auto-paused after %d unanswered rings", self.auto_pause_rings)
            self._spawn(self._auto_pause(actions, shift))

    async def _auto_pause(self, actions: list[Action], shift: Shift | None) -> None:
        try:
            await self._send(actions)
            if shift is not None:
                await self._store(seat_store.save_pause, shift)
        except Exception as e:
            log.warning("auto-pause not made: %s", e)

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, actions: list[Action]) -> None:
        gateway = self._gateway()
        if gateway is None:
            raise AmiNotConnected("QueueAdd", "AMI link not started")
        for a in actions:
            if isinstance(a, AddMember):
                await gateway.add_member(
                    a.queue,
                    a.interface,
                    member_name=a.member_name,
                    penalty=a.penalty,
                    paused=a.paused,
                )
            elif isinstance(a, PauseMember):
                await gateway.pause_member(a.interface, a.paused, reason=a.reason)
            elif isinstance(a, RemoveMember):
                await gateway.remove_member(a.queue, a.interface)

    async def _store(self, write: Callable[..., object], *args: object) -> None:
        """Write the change Asterisk made. The store down does not undo it (Asterisk has it,
        and so has this process): it is logged and counted, and lost only if this process
        stops before the next change of the shift is written."""
        sessions = self._sessions()
        if sessions is None:
            return
        try:
            await write(sessions, *args)  # type: ignore[misc]
        except Exception as e:
            self.store_failures += 1
            log.warning("seat session not stored (%s): %s", type(e).__name__, e)

    async def _confirmed(self, shift: Shift | None, interface: str) -> None:
        """Wait (a short while) until Asterisk's events show what was asked."""
        deadline = self.now_monotonic() + self.confirm_timeout_s
        while pending(shift, self.seen(interface)) is not None:
            left = deadline - self.now_monotonic()
            if left <= 0:
                return
            try:  # a notice wakes us; a change of reason alone sends none: look again soon
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))
            except TimeoutError:
                pass

    @staticmethod
    def now_monotonic() -> float:
        return asyncio.get_running_loop().time()

    # -- the operator's requests -----------------------------------------------------------

    async def sign_in(self, username: str, interface: str, member_name: str) -> SeatView:
        queues = self.skills.queues_of(username)
        before = self.book.of_user(username)
        new = before is None or before.wanted == SIGNED_OUT
        shift, actions = self.book.sign_in(
            username, interface, member_name, queues, self.now(), self.seen(interface)
        )
        if new:
            done: list[Action] = []
            try:
                for a in actions:
                    await self._send([a])
                    done.append(a)
            except Exception:
                self.book.drop(shift)
                undo: list[Action] = [
                    RemoveMember(a.queue, a.interface) for a in done if isinstance(a, AddMember)
                ]
                try:
                    await self._send(undo)
                except Exception as e:
                    log.warning("a partial sign-in could not be undone: %s", e)
                raise
            await self._store(seat_store.open_session, shift)
        await self._confirmed(shift, interface)
        return self.view(shift)

    async def _carry_out(
        self,
        username: str,
        request: Callable[[Shift], list[Action]],
        write: Callable[..., object],
        *args: object,
    ) -> SeatView:
        """One request on a signed-in operator's shift: its actions sent, the store written,
        Asterisk's confirmation awaited. Refused or failed, the shift is as it was."""
        shift = self.book.of_user(username)
        if shift is None:
            raise ShiftRefused(f"{username} is not signed in to a seat: sign in first")
        before = replace(shift)
        actions = request(shift)
        try:
            await self._send(actions)
        except Exception:
            shift.wanted, shift.code, shift.since = before.wanted, before.code, before.since
            shift.unanswered = before.unanswered
            raise
        await self._store(write, *args)
        await self._confirmed(shift, shift.interface)
        return self.view(shift)

    async def ready(self, username: str) -> SeatView:
        """Take calls again: unpause in every queue."""
        now = self.now()
        return await self._carry_out(
            username,
            lambda s: self.book.ready(username, now),
            seat_store.save_pause,
            self._shift_of(username),
        )

    async def pause(self, username: str, code: str) -> SeatView:
        """Pause in every queue with ``code`` (one of the pause codes)."""
        if self.pause_codes.get(code) is None:
            raise KeyError(code)
        now = self.now()
        return await self._carry_out(
            username,
            lambda s: self.book.pause(username, code, now),
            seat_store.save_pause,
            self._shift_of(username),
        )

    async def sign_out(self, username: str) -> SeatView:
        """Leave every skill queue the seat is in."""
        now = self.now()
        view = await self._carry_out(
            username,
            lambda s: self.book.sign_out(username, now, self.seen(s.interface)),
            seat_store.close_session,
            username,
            now,
        )
        shift = self.book.of_user(username)
        if shift is not None:
            self.book.confirmed_out(shift, self.seen(shift.interface))
        return view

    def _shift_of(self, username: str) -> Shift:
        shift = self.book.of_user(username)
        if shift is None:
            raise ShiftRefused(f"{username} is not signed in to a seat: sign in first")
        return shift

    def user_at(self, interface: str) -> str | None:
        shift = self.book.at_seat(interface)
        return shift.username if shift is not None else None

    # -- after a (re)start -------------------------------------------------------------------

    async def load(self) -> int:
        """The shifts still open in the store (a process restart); how many."""
        sessions = self._sessions()
        if sessions is None:
            return 0
        shifts = await seat_store.open_shifts(sessions)
        for shift in shifts:
            self.book.put(shift)
        return len(shifts)

    def request_restore(self) -> None:
        """After a resync (bus-free: the runtime calls it): restore in the background."""
        self._spawn(self.restore())

    async def restore(self) -> int:
        """Send again what Asterisk forgot of every open shift (dynamic members lost in a
        restart, pause reasons); returns the number of actions sent. A failure is logged and
        counted, not raised: the next resync tries again."""
        async with self._restoring:  # one resync after another: never two at once
            return await self._restore()

    async def _restore(self) -> int:
        sent = 0
        for shift in list(self.book.by_user.values()):
            actions = self.book.restore(shift, self.seen(shift.interface))
            if not actions:
                continue
            try:
                await self._send(actions)
            except Exception as e:
                self.restore_failures += 1
                log.warning("seat restore failed (%d actions): %s", len(actions), e)
                continue
            sent += len(actions)
        if sent:
            self.restores += 1
            log.info("seats restored after a resync: %d actions sent to Asterisk", sent)
        return sent

    # -- pauses that end themselves ----------------------------------------------------------

    #: How often (real seconds) the pauses with an ``auto_ready`` code are looked at.
    EXPIRY_CHECK_S = 1.0

    def start(self) -> None:
        """Start looking for ``auto_ready`` pauses past their limit (the wrap-up after a call)."""
        self._spawn(self._expiry_loop())

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.EXPIRY_CHECK_S)
            await self.end_expired_pauses()

    async def end_expired_pauses(self) -> int:
        """Make ready the seats paused past the limit of an ``auto_ready`` code; how many.
        One that Asterisk cannot unpause now (the link down) stays paused, and is tried
        again next time."""
        limits = {c: p.limit_s for c, p in self.pause_codes.codes.items() if p.auto_ready}
        if not limits:
            return 0
        done = 0
        for shift in self.book.expired(self.now(), limits):
            try:
                await self.ready(shift.username)
            except Exception as e:  # still paused; tried again next time
                log.warning("an expired pause could not be ended: %s", e)
                continue
            done += 1
        return done

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
