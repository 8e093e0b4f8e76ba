"""The callers: a seeded stream of citizens ringing the hotline.

Two shapes of stream, both Poisson:

* the simple one (``TrafficSpec(calls=..., hours=...)`` or ``calls_per_hour=...``): a constant
  rate, exponential patience and talk time with the given means;
* a day plan (``TrafficSpec(plan=...)``, from :meth:`config.traffic.TrafficModel.plan`):
  piecewise-constant rates per clock hour (a non-homogeneous Poisson process, drawn by inverting
  its cumulative rate), patience and talk from the configured distributions, each caller's IVR
  choices (``ivr_choice``), and repeat callers who ring again later from the same number.

One :class:`random.Random` per stream, drawn in a fixed order per caller (gap to the next
arrival, patience, talk time, number, name, who hangs up, then the IVR choices), so the same
seed gives the same calls; repeat calls draw from a second generator seeded from the first,
so whether a caller rings again never shifts the first calls. Each arrival schedules the next
one on the clock: no task per caller.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pbx.simulator.clock import Clock, TimerHandle
from pbx.simulator.core import Caller, PbxCore

if TYPE_CHECKING:
    from config.traffic import DayPlan

__all__ = ["GIVEN_NAMES", "SURNAMES", "CallerRecord", "TrafficSpec", "TrafficStream"]

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

    Simple: ``calls`` callers arriving as a Poisson process over about ``hours`` (rate
    calls/hours), or at ``calls_per_hour`` (then ``calls=None`` is an endless stream). Patience
    and talk time are exponential with the given means (virtual seconds).

    With a ``plan`` (a :class:`config.traffic.DayPlan`) the rates, distributions, IVR choices
    and repeat callers come from it instead; the stream ends with the plan (or after ``calls``
    first calls, if given) and ``start_at`` is ignored (the plan has its own times).

    ``seed`` defaults to the simulator's; ``start_at`` (virtual epoch seconds) to now.
    ``caller_hangup_ratio`` is the share of answered calls the citizen ends (``AgentComplete
    Reason: caller``). ``keep_records`` keeps a :class:`CallerRecord` of every call in
    ``TrafficStream.records`` (else only while the call lasts).
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
    plan: DayPlan | None = None
    keep_records: bool = False

    @property
    def rate_per_s(self) -> float:
        if self.calls_per_hour is not None:
            return self.calls_per_hour / 3600.0
        if self.calls is None:
            raise ValueError("TrafficSpec needs calls or calls_per_hour")
        return self.calls / (self.hours * 3600.0)

    @property
    def expected_calls(self) -> float | None:
        """First calls expected (None: endless)."""
        if self.plan is not None:
            e = self.plan.expected_calls
            return min(e, self.calls) if self.calls is not None else e
        return None if self.calls is None else float(self.calls)


@dataclass(slots=True)
class CallerRecord:
    """One call of the stream, as drawn (and its outcome, once known)."""

    num: str
    name: str
    arrived_at: float
    patience: float
    talk: float
    hangup_by: str
    ivr_choice: dict[str, str] = field(default_factory=dict)
    attempt: int = 1  # 1: first call; 2, 3...: the same citizen again
    outcome: str = ""  # "answered" or "abandoned"
    joined_at: float | None = None  # joined the queue (after the IVR, if any)
    answered_at: float | None = None
    left_at: float | None = None  # answered or hung up

    @property
    def wait(self) -> float | None:
        """Seconds in queue (joining to answer or to abandoning), once it is over."""
        if self.left_at is None:
            return None
        return self.left_at - (self.joined_at if self.joined_at is not None else self.arrived_at)


def _attrs_param(core: PbxCore) -> str | None:
    """The keyword under which this core takes a caller's own attributes, if any."""
    try:
        params = inspect.signature(core.caller_arrive).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return None
    return next((k for k in ("attrs", "extra") if k in params), None)


class TrafficStream:
    """Runs one :class:`TrafficSpec` against the core; ``done`` resolves when all have hung up
    (first calls and repeats)."""

    def __init__(
        self, core: PbxCore, clock: Clock, spec: TrafficSpec, queue: str, seed: int
    ) -> None:
        if spec.calls is not None and spec.calls < 0:
            raise ValueError("calls must be >= 0")
        self.core = core
        self.clock = clock
        self.spec = spec
        self.queue = queue
        self.plan = spec.plan
        self.rng = random.Random(seed)
        self.repeat_rng = random.Random(self.rng.getrandbits(64)) if self.plan else None
        self.done: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        self.arrived = 0
        self.first_calls = 0
        self.repeats = 0
        self.finished = 0
        self.answered = 0
        self.abandoned = 0
        #: Callers the IVR served alone (or who hung up in its menu): they never queued.
        self.served_by_ivr = 0
        self.records: list[CallerRecord] = []
        self._live: dict[int, CallerRecord] = {}
        self._pending_repeats: set[TimerHandle] = set()
        self._arrivals_over = False
        self._timer: TimerHandle | None = None
        self._stopped = False
        self._attrs = _attrs_param(core)
        if self.plan is None:
            rate = spec.rate_per_s if (spec.calls or spec.calls is None) else 1.0
            if rate <= 0:
                raise ValueError("the arrival rate must be > 0")
            self.rate = rate
            if spec.calls == 0:
                self._arrivals_over = True
                self.done.set_result(self.summary())
                return
            start = spec.start_at if spec.start_at is not None else clock.now()
            self._timer = clock.call_at(start + self.rng.expovariate(self.rate), self._arrive)
        else:
            self.rate = self.plan.expected_calls / max(1.0, self.plan.end - self.plan.start)
            first = self.plan.next_arrival(self.plan.start, self.rng) if spec.calls != 0 else None
            if first is None:
                self._arrivals_over = True
                self.done.set_result(self.summary())
                return
            self._timer = clock.call_at(first, self._arrive)

    def summary(self) -> dict[str, int]:
        out = dict(
            arrived=self.arrived,
            answered=self.answered,
            abandoned=self.abandoned,
            served_by_ivr=self.served_by_ivr,
            finished=self.finished,
        )
        if self.plan is not None:
            out["repeats"] = self.repeats
        return out

    # -- arrivals --------------------------------------------------------------------------
    def _arrive(self) -> None:
        self._timer = None
        if self._stopped:
            return
        rng, spec, plan = self.rng, self.spec, self.plan
        now = self.clock.now()
        if plan is None:
            gap = rng.expovariate(self.rate)
            patience = (
                rng.expovariate(1.0 / spec.patience_mean_s) if spec.patience_mean_s > 0 else 0.0
            )
            talk = rng.expovariate(1.0 / spec.talk_mean_s) if spec.talk_mean_s > 0 else 0.0
            hangup_ratio = spec.caller_hangup_ratio
        else:
            nxt = plan.next_arrival(now, rng)
            patience = plan.patience.sample(rng)
            talk = plan.talk.sample(rng)
            hangup_ratio = plan.caller_hangup_ratio
        num = "138" + "".join(str(rng.randrange(10)) for _ in range(8))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        hangup_by = "caller" if rng.random() < hangup_ratio else "agent"
        ivr = plan.choose_ivr(rng) if plan is not None else {}
        self.first_calls += 1
        more = spec.calls is None or self.first_calls < spec.calls
        if plan is None:
            if more:
                self._timer = self.clock.call_later(gap, self._arrive)
        elif more and nxt is not None:
            self._timer = self.clock.call_at(nxt, self._arrive)
        if self._timer is None:
            self._arrivals_over = True
        self._place(CallerRecord(num, name, now, patience, talk, hangup_by, ivr))

    def _place(self, rec: CallerRecord) -> None:
        self.arrived += 1
        if self.spec.keep_records:
            self.records.append(rec)
        kw: dict[str, Any] = {}
        if self._attrs:
            kw[self._attrs] = {"ivr_choice": rec.ivr_choice, "attempt": rec.attempt}
        caller = self.core.caller_arrive(
            self.queue,
            rec.num,
            rec.name,
            patience=rec.patience,
            talk=rec.talk,
            hangup_by=rec.hangup_by,
            on_done=self._on_done,
            **kw,
        )
        if caller.state != "done":
            self._live[id(caller)] = rec
        else:  # pragma: no cover - a core that finished the call at once
            rec.outcome = caller.outcome

    def _repeat(self, prev: CallerRecord, handle_box: list[TimerHandle]) -> None:
        self._pending_repeats.discard(handle_box[0])
        if self._stopped:
            return
        plan = self.plan
        assert plan is not None
        rng = self.repeat_rng
        assert rng is not None
        self.repeats += 1
        self._place(
            CallerRecord(
                prev.num,
                prev.name,
                self.clock.now(),
                plan.patience.sample(rng),
                plan.talk.sample(rng),
                "caller" if rng.random() < plan.caller_hangup_ratio else "agent",
                dict(prev.ivr_choice),
                prev.attempt + 1,
            )
        )

    # -- outcomes --------------------------------------------------------------------------
    def _on_done(self, caller: Caller, outcome: str) -> None:
        self.finished += 1
        rec = self._live.pop(id(caller), None)
        now = self.clock.now()
        if outcome == "answered":
            self.answered += 1
        elif outcome == "ivr":
            self.served_by_ivr += 1
        else:
            self.abandoned += 1
        if rec is not None:
            rec.outcome = outcome
            rec.joined_at = getattr(caller, "join_time", None) or rec.arrived_at
            if outcome == "answered":
                rec.answered_at = rec.left_at = caller.connect_time
            else:
                rec.left_at = now
            self._maybe_repeat(rec, outcome, now)
        self._check_done()

    def _maybe_repeat(self, rec: CallerRecord, outcome: str, now: float) -> None:
        plan = self.plan
        if plan is None or plan.repeat is None or self._stopped:
            return
        r = plan.repeat
        if rec.attempt >= r.max_calls:
            return
        rng = self.repeat_rng
        assert rng is not None
        share = r.after_answer if outcome == "answered" else r.after_abandon
        if share <= 0 or rng.random() >= share:
            return
        at = now + r.delay.sample(rng)
        if at >= plan.end:
            return  # the day (the plan) is over by then
        box: list[TimerHandle] = []
        handle = self.clock.call_at(at, self._repeat, rec, box)
        box.append(handle)
        self._pending_repeats.add(handle)

    def _check_done(self) -> None:
        if (
            self._arrivals_over
            and not self._pending_repeats
            and self.finished >= self.arrived
            and not self.done.done()
        ):
            self.done.set_result(self.summary())

    def stop(self) -> None:
        """No more arrivals; an unfinished ``done`` is cancelled."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for h in self._pending_repeats:
            h.cancel()
        self._pending_repeats.clear()
        if not self.done.done():
            self.done.cancel()
