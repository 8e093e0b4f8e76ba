"""Overflow between centres: whether a new caller bound for one queue goes to another one
instead, by the rules of ``config/overflow.yaml`` and the queues' live state.

:func:`decide` is pure: it is given the rules, the queue the IVR chose, the minute of the day
(hotline time) and a way to read a queue's live state (:class:`QueueLive`), and returns an
:class:`Overflow` or None. :class:`Overflower` binds it to a live state and a clock, for the
IVR (``hotline serve``: the controller's seats and calls, in the same process).

The one definition: a caller overflows from queue A to queue B when the rule of A holds at
that minute, and (the rule's ``when``) A has no ready seat, or the caller waiting longest in A
has waited more than ``longest_wait_s``; and, unless the rule says ``target_ready: false``, B
has a ready seat now. The reason (``hotline_calls_overflowed_total{reason}``) is
``longest_wait`` when the wait passed its threshold, else ``no_ready_seat``. A caller moves
once: B's own rule is not asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from config.overflow import OverflowRules
from config.traffic import HOTLINE_TZ

__all__ = ["REASONS", "Overflow", "Overflower", "QueueLive", "decide"]

#: The reasons a caller overflows (a bounded label).
REASONS = ("longest_wait", "no_ready_seat")


@dataclass(frozen=True, slots=True)
class QueueLive:
    """A queue now: its ready seats and how long its longest-waiting caller has waited."""

    ready_seats: int
    longest_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Overflow:
    from_queue: str
    to_queue: str
    reason: str


def decide(
    rules: OverflowRules, queue: str, minute: int, live: Callable[[str], QueueLive]
) -> Overflow | None:
    """Where a new caller bound for ``queue`` goes instead at ``minute`` after midnight
    (hotline time), or None to stay (see the module's docstring)."""
    rule = rules.rule_for(queue, minute)
    if rule is None:
        return None
    here = live(queue)
    if rule.longest_wait_s is not None and here.longest_wait_s > rule.longest_wait_s:
        reason = "longest_wait"
    elif rule.no_ready_seat and here.ready_seats <= 0:
        reason = "no_ready_seat"
    else:
        return None
    if rule.target_ready and live(rule.to_queue).ready_seats <= 0:
        return None
    return Overflow(queue, rule.to_queue, reason)


class Overflower:
    """:func:`decide` over a live state and a clock (epoch seconds)."""

    def __init__(
        self,
        rules: OverflowRules,
        live: Callable[[str], QueueLive],
        now: Callable[[], float],
    ) -> None:
        self.rules = rules
        self.live = live
        self.now = now

    @property
    def queues(self) -> frozenset[str]:
        """The queues whose callers may overflow: the IVR asks only about these."""
        return self.rules.queues

    def choose(self, queue: str) -> Overflow | None:
        local = datetime.fromtimestamp(self.now(), HOTLINE_TZ)
        return decide(self.rules, queue, local.hour * 60 + local.minute, self.live)
