"""Early warning (预警): a burst of tickets on one matter or in one district, judged against
the same window of time on earlier days. Pure: counts in, judgements and alert changes out;
the job of ``hotline serve`` (``hotline/early_warning_job.py``) reads the counts from the
store and sends the alerts.

**A burst**, for one key (a matter code, or a district): let ``c`` be the tickets created in
the last ``window`` (default one hour) and ``B`` those created in the same clock window on
the ``d`` earlier days of the same kind (working day, or weekend and holiday: their traffic
differs, config/traffic.yaml) that the store has tickets for. The key is in a burst when

1. ``c >= min_count`` (default 10): a handful of tickets is never "concentrated";
2. ``c >= min_ratio * B / d`` (default 2): at least twice the usual count, so a large
   district's busy hour, or a matter's busy day, is not news however significant;
3. ``P(X >= c) < alpha`` (default 1e-7) for ``X ~ Binomial(c + B, 1 / (d + 1))``: the exact
   conditional test of two Poisson counts (Przyborowski and Wilenski, 1940). If the rate
   is today what it was on the earlier days, each of the ``c + B`` tickets fell in today's
   window with probability ``1 / (d + 1)``; the test takes the baseline's own noise into
   account (a mean of 0.5 from 14 days is not known to be 0.5), so no floor on the mean is
   needed, and a key never seen before needs ``min_count`` tickets at once.

``alpha`` is small, and the ratio asked, because many keys (a catalogue of hundreds of
matters, 8 districts) are judged every few minutes, and real days vary more than a Poisson
process (a matter's share moves from day to day): the false alarms they allow are counted on
simulated normal days that vary so (``make bench``, the README's figures).

A burst **ends** when its key no longer passes even ``P < clear_alpha`` (default 0.01): the
gap between the two levels keeps one burst one alert, not one per check that crosses the
line. With a sliding window, that is some time after its last extra ticket.

The binomial tail is hand-written (a few lines of log-space summation): SciPy for one
function would be the project's largest dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "Burst",
    "Change",
    "Dimension",
    "Judgement",
    "Key",
    "Rule",
    "Tracker",
    "baseline_dates",
    "judge",
    "upper_tail",
]


class Dimension(StrEnum):
    """What tickets are grouped by."""

    MATTER = "matter"
    DISTRICT = "district"


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """One group of tickets: ``Key("matter", "ZJ-001")``, ``Key("district", "fuyang")``."""

    dimension: str
    value: str


@dataclass(frozen=True, slots=True)
class Rule:
    """The settings of the rule (``HOTLINE_EARLY_WARNING_*``); see the module's text."""

    min_count: int = 10
    min_ratio: float = 2.0
    alpha: float = 1e-7
    clear_alpha: float = 1e-2

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError("min_count: at least 1")
        if self.min_ratio < 1.0:
            raise ValueError("min_ratio: at least 1 (a burst is more than usual)")
        if not 0.0 < self.alpha <= self.clear_alpha < 1.0:
            raise ValueError("0 < alpha <= clear_alpha < 1")


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def _tail_sum(start: int, stop: int, step: int, n: int, p: float) -> float:
    """Sum of the pmf from ``start`` towards ``stop`` (exclusive) while the terms, which
    only decrease that way (``start`` is on the far side of the mode), still count."""
    total, k = 0.0, start
    while k != stop:
        term = math.exp(_log_pmf(k, n, p))
        total += term
        if term <= total * 1e-17:
            break
        k += step
    return total


def upper_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``, to about 1e-12 relative.

    >>> upper_tail(2, 2, 0.5)
    0.25
    >>> round(upper_tail(3, 10, 0.1), 6)  # 1 - P(0) - P(1) - P(2)
    0.070191
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    if k > n * p:  # k is past the mean: terms fall from k upward
        return min(1.0, _tail_sum(k, n + 1, 1, n, p))
    # k at or below the mean: 1 - P(X <= k - 1), the terms falling from k - 1 downward
    return max(0.0, 1.0 - _tail_sum(k - 1, -1, -1, n, p))


@dataclass(frozen=True, slots=True)
class Judgement:
    """One key at one check: its count, the baseline, the test's p-value and the verdict."""

    key: Key
    #: Tickets in the current window.
    count: int
    #: Tickets in the same window on the baseline days, all together.
    baseline_total: int
    #: Baseline days (earlier days of the same kind the store has tickets for).
    baseline_days: int
    #: ``P(X >= count)`` under "no change" (module text, condition 3).
    p_value: float
    #: All three conditions hold.
    burst: bool

    @property
    def expected(self) -> float:
        """The usual count of the window: the baseline's mean per day."""
        return self.baseline_total / self.baseline_days


def judge(rule: Rule, key: Key, count: int, baseline_total: int, baseline_days: int) -> Judgement:
    """Judge one key (``baseline_days`` at least 1).

    >>> j = judge(Rule(), Key("matter", "M"), 12, 14, 14)  # usually 1 an hour, 12 now
    >>> j.burst, f"{j.p_value:.1e}"
    (True, '3.1e-08')
    """
    if baseline_days < 1:
        raise ValueError("a judgement needs at least one baseline day")
    p = upper_tail(count, count + baseline_total, 1.0 / (baseline_days + 1))
    burst = (
        count >= rule.min_count
        and count * baseline_days >= rule.min_ratio * baseline_total
        and p < rule.alpha
    )
    return Judgement(key, count, baseline_total, baseline_days, p, burst)


def still_on(rule: Rule, j: Judgement) -> bool:
    """Whether an active burst goes on at this judgement (module text: its end)."""
    return j.p_value < rule.clear_alpha


@dataclass(frozen=True, slots=True)
class Burst:
    """An active burst: its key, when it was first seen and the judgement then."""

    key: Key
    started_at: float
    first: Judgement


@dataclass(frozen=True, slots=True)
class Change:
    """A burst started or ended at ``at``; ``latest`` is the judgement of that check."""

    state: str  # "started" or "ended"
    burst: Burst
    latest: Judgement
    at: float


@dataclass(slots=True)
class Tracker:
    """The bursts going on: fed each check's judgements, it answers what started and what
    ended, so that one burst is one alert (and one clearing), however many checks it spans."""

    rule: Rule
    active: dict[Key, Burst] = field(default_factory=dict)
    #: Bursts started so far, by dimension.
    started: dict[str, int] = field(default_factory=dict)

    def candidates(self, current: Mapping[Key, int]) -> set[Key]:
        """The keys worth a judgement now: enough tickets to start a burst, or in one."""
        wanted = {k for k, n in current.items() if n >= self.rule.min_count}
        return wanted | set(self.active)

    def update(self, at: float, judgements: Iterable[Judgement]) -> list[Change]:
        """Apply one check's judgements (an active key not judged ended with no ticket)."""
        changes: list[Change] = []
        seen: set[Key] = set()
        for j in sorted(judgements, key=lambda j: j.key):
            seen.add(j.key)
            burst = self.active.get(j.key)
            if burst is None and j.burst:
                burst = Burst(j.key, at, j)
                self.active[j.key] = burst
                self.started[j.key.dimension] = self.started.get(j.key.dimension, 0) + 1
                changes.append(Change("started", burst, j, at))
            elif burst is not None and not still_on(self.rule, j):
                del self.active[j.key]
                changes.append(Change("ended", burst, j, at))
        for key in sorted(set(self.active) - seen):
            burst = self.active.pop(key)
            gone = Judgement(key, 0, 0, 1, 1.0, False)
            changes.append(Change("ended", burst, gone, at))
        return changes

    def active_by_dimension(self) -> dict[str, int]:
        counts = {d.value: 0 for d in Dimension}
        for key in self.active:
            counts[key.dimension] = counts.get(key.dimension, 0) + 1
        return counts


def baseline_dates(
    today: date, days: int, kind: Callable[[date], str], lookback_days: int = 60
) -> list[date]:
    """The ``days`` dates before ``today`` whose kind is today's (``kind``: e.g.
    :func:`config.calendar.day_kind`, with weekend and holiday one kind, "rest day"), newest
    first, looking back at most ``lookback_days``.

    >>> monday = date(2026, 11, 30)
    >>> baseline_dates(monday, 2, lambda d: "workday" if d.weekday() < 5 else "weekend")
    [datetime.date(2026, 11, 27), datetime.date(2026, 11, 26)]
    """

    def rest(d: date) -> bool:
        return kind(d) != "workday"

    wanted = rest(today)
    found: list[date] = []
    for back in range(1, lookback_days + 1):
        d = today - timedelta(days=back)
        if rest(d) == wanted:
            found.append(d)
            if len(found) == days:
                break
    return found
