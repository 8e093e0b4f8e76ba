"""The callers: a seeded Poisson stream of citizens ringing the hotline.

One :class:`random.Random` per stream, drawn in a fixed order per caller (gap to the next
arrival, patience, talk time, number, name, who hangs up), so the same seed gives the same
calls. Each arrival schedules the next one on the clock: no task per caller.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from pbx.simulator.clock import ScaledClock, TimerHandle
from pbx.simulator.core import Caller, PbxCore

__all__ = ["GIVEN_NAMES", "SURNAMES", "TrafficSpec", "TrafficStream"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹"
GIVEN_NAMES = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "志强",
    "晓东",
    "海燕",
    "丽娟",
    "国强",
    "淑珍",
    "子涵",
)


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """A stream of callers.

    ``calls`` callers arriving as a Poisson process over about ``hours`` (rate calls/hours),
    or, with ``calls=None``, an endless stream at ``calls_per_hour``. Patience and talk time
    are exponential with the given means (virtual seconds). ``seed`` defaults to the
    simulator's; ``start_at`` (virtual epoch seconds) to now. ``caller_hangup_ratio`` is the
    share of answered calls the citizen ends (``AgentComplete Reason: caller``).
    """

    calls: int | None = None
    hours: float = 1.0
    calls_per_hour: float | None = None
    patience_mean_s: float = 120.0
    talk_mean_s: float = 150.0
    queue: str | None = None
    seed: int | None = None
    start_at: float | None = None
    caller_hangup_ratio: float = 0.3

    @property
    def rate_per_s(self) -> float:
        if self.calls_per_hour is not None:
            return self.calls_per_hour / 3600.0
        if self.calls is None:
            raise ValueError("TrafficSpec needs calls or calls_per_hour")
        return self.calls / (self.hours * 3600.0)


class TrafficStream:
    """Runs one :class:`TrafficSpec` against the core; ``done`` resolves when all have hung up."""

    def __init__(
        self, core: PbxCore, clock: ScaledClock, spec: TrafficSpec, queue: str, seed: int
    ) -> None:
        if spec.calls is not None and spec.calls < 0:
            raise ValueError("calls must be >= 0")
        rate = spec.rate_per_s if (spec.calls or spec.calls is None) else 1.0
        if rate <= 0:
            raise ValueError("the arrival rate must be > 0")
        self.core = core
        self.clock = clock
        self.spec = spec
        self.queue = queue
        self.rate = rate
        self.rng = random.Random(seed)
        self.done: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        self.arrived = 0
        self.finished = 0
        self.answered = 0
        self.abandoned = 0
        self._timer: TimerHandle | None = None
        self._stopped = False
        if spec.calls == 0:
            self.done.set_result(self.summary())
            return
        start = spec.start_at if spec.start_at is not None else clock.now()
        self._timer = clock.call_at(start + self.rng.expovariate(self.rate), self._arrive)

    def summary(self) -> dict[str, int]:
        return dict(
            arrived=self.arrived,
            answered=self.answered,
            abandoned=self.abandoned,
            finished=self.finished,
        )

    def _arrive(self) -> None:
        self._timer = None
        if self._stopped:
            return
        rng, spec = self.rng, self.spec
        gap = rng.expovariate(self.rate)
        patience = rng.expovariate(1.0 / spec.patience_mean_s) if spec.patience_mean_s > 0 else 0.0
        talk = rng.expovariate(1.0 / spec.talk_mean_s) if spec.talk_mean_s > 0 else 0.0
        num = "138" + "".join(str(rng.randrange(10)) for _ in range(8))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        hangup_by = "caller" if rng.random() < spec.caller_hangup_ratio else "agent"
        self.arrived += 1
        if spec.calls is None or self.arrived < spec.calls:
            self._timer = self.clock.call_later(gap, self._arrive)
        self.core.caller_arrive(
            self.queue,
            num,
            name,
            patience=patience,
            talk=talk,
            hangup_by=hangup_by,
            on_done=self._on_done,
        )

    def _on_done(self, caller: Caller, outcome: str) -> None:
        self.finished += 1
        if outcome == "answered":
            self.answered += 1
        else:
            self.abandoned += 1
        if (
            self.spec.calls is not None
            and self.finished >= self.spec.calls
            and not self.done.done()
        ):
            self.done.set_result(self.summary())

    def stop(self) -> None:
        """No more arrivals; an unfinished ``done`` is cancelled."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.done.done():
            self.done.cancel()
