"""A discrete-event clock: virtual time jumps from one scheduled callback to the next.

It implements the :class:`~pbx.simulator.clock.Clock` protocol that :class:`PbxCore` and
:class:`TrafficStream` use, as :class:`~pbx.simulator.clock.ScaledClock` does, but is tied to
no event loop: :meth:`DesClock.run_until_idle` (or
:meth:`run_until`) runs the callbacks in (virtual time, insertion order) as fast as the CPU
allows. Use it to put hundreds of thousands of simulated calls through the PBX core in seconds,
with no sockets (the steady-state checks against Erlang-A do)::

    clock = DesClock(epoch=0.0)
    core = PbxCore(clock, lambda headers: None, SimulatorConfig(ring_time_s=0.0))
    ...
    clock.run_until_idle()
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

from pbx.simulator.clock import TimerHandle

__all__ = ["DesClock"]

log = logging.getLogger(__name__)


class DesClock:
    """Virtual epoch seconds that advance only by running the next scheduled callback."""

    def __init__(self, epoch: float = 0.0) -> None:
        self.epoch = float(epoch)
        self._now = self.epoch
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._closed = False
        #: Callbacks run so far.
        self.ran = 0
        # Holds: time does not pass any of these until released (as ScaledClock's).
        self._holds: dict[int, float] = {}
        self._hold_seq = itertools.count()

    def now(self) -> float:
        return self._now

    def hold(self, vt: float) -> int:
        """Run no callback later than ``vt`` until :meth:`release` of the token: the run
        methods stop there as if nothing more were scheduled (something outside the clock,
        such as a real FastAGI session, has to answer first)."""
        token = next(self._hold_seq)
        self._holds[token] = vt
        return token

    def release(self, token: int) -> None:
        """End a hold (idempotent)."""
        self._holds.pop(token, None)

    def _held_at(self) -> float:
        return min(self._holds.values()) if self._holds else float("inf")

    def rebase(self, epoch: float) -> None:
        """Set the time to ``epoch``; only while nothing is scheduled."""
        if self.pending():
            raise RuntimeError("cannot move the clock while callbacks are scheduled")
        self.epoch = self._now = float(epoch)

    def call_at(self, vt: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``callback(*args)`` at virtual time ``vt`` (now, after what is due, if past)."""
        handle = TimerHandle(max(vt, self._now), callback, args)
        if not self._closed:
            heapq.heappush(self._heap, (handle.when, next(self._seq), handle))
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        return self.call_at(self._now + max(0.0, delay), callback, *args)

    def step(self) -> bool:
        """Run the next callback; False when nothing is scheduled (or it lies beyond a hold)."""
        heap = self._heap
        while heap:
            if heap[0][2].cancelled:
                heapq.heappop(heap)
                continue
            if self._holds and heap[0][0] > min(self._holds.values()):
                return False
            vt, _, handle = heapq.heappop(heap)
            self._now = vt
            cb, args = handle._callback, handle._args
            handle.cancel()
            try:
                cb(*args)
            except Exception:  # as ScaledClock: one bad callback must not stop time
                log.exception("simulator callback failed")
            self.ran += 1
            return True
        return False

    def next_at(self) -> float | None:
        """The virtual time of the next scheduled callback; None when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_due(self) -> int:
        """Nothing is ever overdue here (time moves only by running callbacks): 0."""
        return 0

    def run_until(self, vt: float) -> int:
        """Run every callback due up to virtual time ``vt``, then set the time to ``vt``."""
        ran = 0
        heap = self._heap
        while heap and not self._closed:
            if heap[0][2].cancelled:
                heapq.heappop(heap)
                continue
            if heap[0][0] > vt or not self.step():
                break
            ran += 1
        self._now = max(self._now, min(vt, self._held_at()))
        return ran

    def run_until_idle(self, max_callbacks: int | None = None) -> int:
        """Run callbacks until none is left (or ``max_callbacks`` ran); return how many ran."""
        ran = 0
        while not self._closed and (max_callbacks is None or ran < max_callbacks):
            if not self.step():
                break
            ran += 1
        return ran

    def pending(self) -> int:
        return sum(1 for _, _, h in self._heap if not h.cancelled)

    def close(self) -> None:
        self._closed = True
        for _, _, h in self._heap:
            h.cancel()
        self._heap.clear()
