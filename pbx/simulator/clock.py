"""Virtual time for the embedded PBX: a day of calls runs in minutes.

``virtual = epoch + (loop.time() - t0) * speed``.

Callbacks are kept in one heap ordered by (virtual time, insertion order) and run strictly in
that order, with a single event-loop timer armed for the earliest one. That matters when the
loop lags behind (speed 2000, thousands of callers): ``loop.call_at`` would run a batch of due
timers in its own order, and a callback scheduled *inside* that batch for an earlier virtual
time would run after later ones. Here it cannot.

While a callback runs, :meth:`ScaledClock.now` returns the virtual time it was scheduled for,
not the (slightly later, jittery) loop time: the events it emits carry deterministic
timestamps, so the same seed gives the same event stream, byte for byte.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ScaledClock", "TimerHandle"]

log = logging.getLogger(__name__)


class TimerHandle:
    """A scheduled callback; :meth:`cancel` it at any time (idempotent)."""

    __slots__ = ("_args", "_callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self._callback = callback
        self._args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self._callback = None  # type: ignore[assignment]
        self._args = ()


class ScaledClock:
    """Virtual epoch seconds running ``speed`` times faster than the event loop's clock."""

    def __init__(self, speed: float = 1.0, epoch: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self.epoch = float(time.time() if epoch is None else epoch)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._armed: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")
        self._current: float | None = None  # virtual time of the callback being run
        self._last = self.epoch  # the latest virtual time handed out (monotonic)
        self._closed = False
        # Holds: virtual time does not pass any of these until they are released (real I/O
        # that the simulated world waits for: a FastAGI session of the IVR step).
        self._holds: dict[int, float] = {}
        self._hold_seq = itertools.count()

    # -- time --------------------------------------------------------------------------
    def _bind(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._t0 = self._loop.time()
        return self._loop

    def _real_now(self) -> float:
        if self._loop is None:
            try:
                self._bind()
            except RuntimeError:  # no running loop: time stands still at the epoch
                return self.epoch
        assert self._loop is not None
        t = self.epoch + (self._loop.time() - self._t0) * self.speed
        if self._holds:
            limit = min(self._holds.values())
            if t > limit:
                return limit
        return t

    # -- holds -------------------------------------------------------------------------
    def hold(self, vt: float) -> int:
        """Stop virtual time at ``vt`` (if it gets there) until :meth:`release` of the token.

        The IVR step of a simulated call is a real FastAGI session; holding the clock at the
        moment the call should leave the IVR makes its result land at that exact virtual time
        however long the round trips took, so a seeded run stays the same run.
        """
        self._bind()
        token = next(self._hold_seq)
        self._holds[token] = vt
        return token

    def release(self, token: int) -> None:
        """End a hold; virtual time goes on from where it stood (no jump)."""
        if token not in self._holds:
            return
        loop = self._bind()
        stood = self._real_now()  # where time stands with this hold still in place
        del self._holds[token]
        if self._real_now() > stood:  # it was holding time back: carry on from there
            self.epoch = stood
            self._t0 = loop.time()
        if self._current is None:
            self._arm()

    def now(self) -> float:
        """Virtual epoch seconds (the scheduled time while a clock callback runs)."""
        if self._current is not None:
            return self._current
        t = self._real_now()
        if t < self._last:
            t = self._last
        self._last = t
        return t

    def rebase(self, epoch: float) -> None:
        """Make the virtual time ``epoch`` now. Only while nothing is scheduled: a simulated
        day can then begin at a set hour whatever time the PBX took to boot, so the same seed
        gives the same calls (their Uniqueids carry the virtual time)."""
        if self.pending():
            raise RuntimeError("cannot move the clock while callbacks are scheduled")
        loop = self._bind()
        self.epoch = float(epoch)
        self._t0 = loop.time()
        self._last = self.epoch

    def _loop_time_for(self, vt: float) -> float:
        return self._t0 + (vt - self.epoch) / self.speed

    # -- scheduling --------------------------------------------------------------------
    def call_at(self, vt: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``callback(*args)`` at virtual time ``vt`` (at once if ``vt`` is past)."""
        self._bind()
        handle = TimerHandle(vt, callback, args)
        heapq.heappush(self._heap, (vt, next(self._seq), handle))
        if self._current is None:
            self._arm()
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``callback(*args)`` ``delay`` virtual seconds from now."""
        return self.call_at(self.now() + max(0.0, delay), callback, *args)

    def _arm(self) -> None:
        if self._closed:
            return
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if not heap:
            return
        when = heap[0][0]
        if self._holds and when > min(self._holds.values()):
            return  # re-armed when the hold is released
        if self._armed is not None:
            if when >= self._armed_for:
                return
            self._armed.cancel()
        loop = self._bind()
        self._armed_for = when
        self._armed = loop.call_at(self._loop_time_for(when), self._fire)

    def _fire(self) -> None:
        self._armed = None
        self._armed_for = float("inf")
        self.run_due()

    def run_due(self, budget: int = 5000) -> int:
        """Run the callbacks due by now, in virtual-time order; return how many ran.

        At most ``budget`` run in one go: when the loop lags far behind (a very high speed),
        the rest run on the next loop iteration, so sockets are still served in between.
        """
        if self._current is not None or self._closed:
            return 0
        limit = self._real_now()
        heap = self._heap
        ran = 0
        try:
            while heap and ran < budget:
                vt, _, handle = heap[0]
                if handle.cancelled:
                    heapq.heappop(heap)
                    continue
                if vt > limit:
                    break
                if self._holds and vt > min(self._holds.values()):
                    # A callback of this batch put a hold (an IVR step began): time stops
                    # there even though ``limit`` was read before it, or a lagging loop would
                    # run later callbacks first and the same seed would give another run.
                    break
                heapq.heappop(heap)
                if vt > self._last:
                    self._last = vt
                # The scheduled time, even if a now() outside any callback (an AMI action's
                # answer) already handed out a later one while the loop lagged: that keeps a
                # seeded run's calls independent of how fast this machine is.
                self._current = vt
                cb, args = handle._callback, handle._args
                handle.cancel()
                try:
                    cb(*args)
                except Exception:  # one bad callback must not stop the PBX's time
                    log.exception("simulator callback failed")
                ran += 1
        finally:
            self._current = None
        self._arm()
        return ran

    def pending(self) -> int:
        """How many callbacks are still scheduled (cancelled ones excluded)."""
        return sum(1 for _, _, h in self._heap if not h.cancelled)

    def close(self) -> None:
        """Drop every scheduled callback; nothing runs any more."""
        self._closed = True
        if self._armed is not None:
            self._armed.cancel()
            self._armed = None
        for _, _, h in self._heap:
            h.cancel()
        self._heap.clear()
