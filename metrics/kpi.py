"""The monthly KPI report's figures, computed from facts read out of the store: per department
and for the centre, the efficiency index and the ranking. Pure: no database, no clock (the
report's ``as_of`` is given), no I/O. The queries are :mod:`metrics.kpi_queries`, the
rendering :mod:`metrics.report_render`; the rules (acceptance limit, targets, weights) are
``config/report.yaml`` (:mod:`config.report`).

**The cohort.** A department is judged on the *dispatches* made to it in the month (a ticket
dispatched twice, after a return or a reopening, counts twice: each time it was sent), each
followed to the report's ``as_of`` (its generation time, or the month's end for the API's
"closed" view): what the department did after that dispatch and before the next one.

* **timely acceptance** (及时受理率) = timely / (timely + late + missed), where the
  department's first answer to the dispatch (``accept``, or ``return`` as not its own) came
  within the acceptance limit on the working clock (*timely*), after it (*late*), or never
  while the limit has passed by ``as_of`` (*missed*). Still inside the limit unanswered:
  pending, not judged.
* **completion on time** (按期办结率) = on time / (on time + late): replied by the due time of
  :func:`tickets.deadlines.deadline` (the ticket's limit from the dispatch, the extensions
  granted in this dispatch added, the clock stopped while an extension request waited).
  *Late*: replied after it, or not replied and the due time passed by ``as_of``. Dispatches
  that ended in a return or a merge are not judged; unreplied and not yet due: pending.
* **satisfaction** (综合满意率) = (satisfied + basically satisfied) / rated, over the
  callbacks' ratings of the replies to the month's dispatches.
* **callback rate** (回访核实率) = called back / replied, of the month's dispatches replied.
* **late ‰** (超期办结) = late completions per 1,000 judged completions;
  **missed ‰** (未受理) = missed acceptances per 1,000 judged acceptances;
  **erroneous ‰** (差错件) = dispatches the department returned as not its own (the wrong
  department) per 1,000 dispatches.
* The centre: **answer rate** (来电接通率) = calls answered / calls offered (the queue_log,
  :mod:`metrics.call_history`); **instant resolution** (即时答复率) = tickets resolved on
  the call / calls answered; and the departments' figures over all dispatches.
* **efficiency index** (效能指数): :func:`efficiency_index`; **rank**: by the index, best
  first, equal indexes sharing a rank ("1, 2, 2, 4"); departments with fewer dispatches than
  ``min_dispatched_to_rank`` are not ranked.

A rate with nothing to judge is ``None`` (not 0, not 1: nothing happened).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from config.report import PENALISED, RATES, ReportRules
from config.traffic import HOTLINE_TZ
from tickets.deadlines import Limit, Stop, Unit, deadline
from tickets.lifecycle import Rating

__all__ = [
    "CentreCalls",
    "DepartmentKpi",
    "Dispatch",
    "MonthlyReport",
    "acceptance_limit",
    "due_at",
    "efficiency_index",
    "judge",
    "month_bounds",
    "monthly_report",
    "rank",
]

_GOOD = {Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The local month ``YYYY-MM`` as ``[start, end)`` (aware, the centre's UTC+8); raises
    ``ValueError`` naming the month when it is not one."""
    m = _MONTH.match(month)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ValueError(f"month: {month!r} is not a month (YYYY-MM from 2000-01, e.g. 2026-11)")
    year, mon = int(m.group(1)), int(m.group(2))
    start = datetime(year, mon, 1, tzinfo=HOTLINE_TZ)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=HOTLINE_TZ)
    return start, end


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One dispatch to a department and what followed it until the next dispatch."""

    ticket_id: int
    department: str
    dispatched_at: datetime
    limit: Limit
    #: The department's first answer: ``accept`` or ``return``.
    answered_at: datetime | None = None
    returned: bool = False
    merged: bool = False
    replied_at: datetime | None = None
    #: Working days (or hours) granted by extensions in this dispatch.
    extension: int = 0
    stops: tuple[Stop, ...] = ()
    called_back_at: datetime | None = None
    rating: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    #: timely, late, missed or pending
    acceptance: str
    #: on_time, late, pending, or None (returned or merged: not judged)
    completion: str | None


@lru_cache(maxsize=65536)
def _due_days(day: int, midnight: bool, amount: int) -> datetime:
    """The due time of ``amount`` working days from the local day ``day`` (an ordinal), at
    its very start (``midnight``) or later in it (any time gives the same answer)."""
    start = datetime.combine(date.fromordinal(day), time(0), HOTLINE_TZ)
    if not midnight:
        start += timedelta(seconds=1)
    got = deadline(start, Limit(amount, Unit.WORKING_DAYS), start).due_at
    assert got is not None  # no open stop
    return got


def due_at(
    start: datetime, limit: Limit, extension: int = 0, stops: Sequence[Stop] = ()
) -> datetime:
    """When a dispatch at ``start`` is due (:func:`tickets.deadlines.deadline`), cached for
    the common case: a limit in working days with no stop depends only on the start's local
    day and whether it is exactly midnight (the due time is the end of a working day)."""
    amount = limit.amount + extension
    if limit.unit is Unit.WORKING_DAYS and not stops:
        local = start.astimezone(HOTLINE_TZ)
        midnight = not (local.hour or local.minute or local.second or local.microsecond)
        return _due_days(local.toordinal(), midnight, amount)
    got = deadline(start, Limit(amount, limit.unit), start, stops=stops).due_at
    if got is None:  # stopped for good: never due while it waits
        return datetime.max.replace(tzinfo=HOTLINE_TZ)
    return got


def acceptance_limit(rules: ReportRules) -> Limit:
    """The rules' acceptance limit as a :class:`tickets.deadlines.Limit`."""
    amount, unit = rules.acceptance_limit
    return Limit(amount, Unit(unit))


def judge(d: Dispatch, accept_within: Limit, as_of: datetime) -> Verdict:
    """The dispatch's acceptance and completion as of ``as_of`` (module's definitions)."""
    accept_by = due_at(d.dispatched_at, accept_within)
    if d.answered_at is not None:
        acceptance = "timely" if d.answered_at <= accept_by else "late"
    elif d.merged:
        acceptance = "pending"  # merged before any answer: the department is not judged
    else:
        acceptance = "missed" if as_of > accept_by else "pending"
    if d.returned or (d.merged and d.replied_at is None):
        return Verdict(acceptance, None)
    due = due_at(d.dispatched_at, d.limit, d.extension, d.stops)
    if d.replied_at is not None:
        completion = "on_time" if d.replied_at <= due else "late"
    else:
        completion = "late" if as_of > due else "pending"
    return Verdict(acceptance, completion)


def _ratio(n: int, of: int) -> float | None:
    return n / of if of else None


def _per_thousand(n: int, of: int) -> float | None:
    return 1000.0 * n / of if of else None


@dataclass
class DepartmentKpi:
    """One department's counts in the month (or the sum of all: the centre's row)."""

    department: str
    dispatched: int = 0
    accepted_timely: int = 0
    accepted_late: int = 0
    missed: int = 0
    pending_acceptance: int = 0
    returned: int = 0
    on_time: int = 0
    late: int = 0
    pending_completion: int = 0
    replied: int = 0
    called_back: int = 0
    rated: int = 0
    satisfied: int = 0
    index: float | None = None
    rank: int | None = None

    def add(self, d: Dispatch, v: Verdict) -> None:
        self.dispatched += 1
        self.returned += d.returned
        if v.acceptance == "timely":
            self.accepted_timely += 1
        elif v.acceptance == "late":
            self.accepted_late += 1
        elif v.acceptance == "missed":
            self.missed += 1
        else:
            self.pending_acceptance += 1
        if v.completion == "on_time":
            self.on_time += 1
        elif v.completion == "late":
            self.late += 1
        elif v.completion == "pending":
            self.pending_completion += 1
        if d.replied_at is not None:
            self.replied += 1
            if d.called_back_at is not None:
                self.called_back += 1
                if d.rating is not None:
                    self.rated += 1
                    self.satisfied += d.rating in _GOOD

    def merge(self, other: DepartmentKpi) -> None:
        """Add ``other``'s counts (the centre's row is the sum of the departments')."""
        for f in fields(self):
            if f.name not in ("department", "index", "rank"):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def judged_acceptance(self) -> int:
        return self.accepted_timely + self.accepted_late + self.missed

    @property
    def judged_completion(self) -> int:
        return self.on_time + self.late

    @property
    def timely_acceptance(self) -> float | None:
        return _ratio(self.accepted_timely, self.judged_acceptance)

    @property
    def completion_on_time(self) -> float | None:
        return _ratio(self.on_time, self.judged_completion)

    @property
    def satisfaction(self) -> float | None:
        return _ratio(self.satisfied, self.rated)

    @property
    def callback(self) -> float | None:
        return _ratio(self.called_back, self.replied)

    @property
    def late_per_thousand(self) -> float | None:
        return _per_thousand(self.late, self.judged_completion)

    @property
    def missed_per_thousand(self) -> float | None:
        return _per_thousand(self.missed, self.judged_acceptance)

    @property
    def erroneous_per_thousand(self) -> float | None:
        return _per_thousand(self.returned, self.dispatched)


def efficiency_index(k: DepartmentKpi, rules: ReportRules) -> float | None:
    """效能指数, 0..100: ``100 * sum(w_i * rate_i) / sum(w_i)`` over the weighted rates the
    department has (``config/report.yaml`` weights; a rate with nothing to judge is left
    out), minus ``sum(p_j * per_thousand_j)`` over late, missed and erroneous (the points off
    per 1‰), floored at 0; ``None`` when no weighted rate has anything to judge."""
    weighed: list[tuple[float, float]] = [
        (rules.weights.get(name, 0.0), float(value))
        for name in RATES
        if (value := getattr(k, name)) is not None
    ]
    total = sum(w for w, _ in weighed)
    if not total:
        return None
    score = 100.0 * sum(w * v for w, v in weighed) / total
    for name in PENALISED:
        per: float | None = getattr(k, f"{name}_per_thousand")
        score -= rules.penalties.get(name, 0.0) * (per or 0.0)
    return max(0.0, score)


def rank(rows: Iterable[DepartmentKpi], min_dispatched: int = 1) -> list[DepartmentKpi]:
    """Set ``rank`` on the rows with an index and at least ``min_dispatched`` dispatches
    (best index first; equal indexes share a rank, the next rank skips: 1, 2, 2, 4) and
    return every row: ranked ones in rank order (then by department), then the rest."""
    rows = list(rows)
    ranked = sorted(
        (r for r in rows if r.index is not None and r.dispatched >= min_dispatched),
        key=lambda r: (-(r.index or 0.0), r.department),
    )
    for i, r in enumerate(ranked):
        prev = ranked[i - 1] if i else None
        same = prev is not None and round(prev.index or 0.0, 6) == round(r.index or 0.0, 6)
        r.rank = prev.rank if same and prev is not None else i + 1
    rest = sorted((r for r in rows if r not in ranked), key=lambda r: r.department)
    for r in rest:
        r.rank = None
    return ranked + rest


@dataclass(frozen=True, slots=True)
class CentreCalls:
    """The centre's own figures in the month: calls from the queue_log, instant answers."""

    offered: int = 0
    answered: int = 0
    #: Phone tickets answered in the month that were resolved on the call.
    resolved_on_call: int = 0

    @property
    def answer_rate(self) -> float | None:
        return _ratio(self.answered, self.offered)

    @property
    def instant_resolution(self) -> float | None:
        return _ratio(self.resolved_on_call, self.answered)


@dataclass
class MonthlyReport:
    month: str
    as_of: datetime
    rules: ReportRules
    centre_calls: CentreCalls
    #: Ranked departments first (rank order), then the unranked.
    departments: list[DepartmentKpi]
    #: The sum over every department (its ``index`` by the same formula).
    centre: DepartmentKpi
    names: dict[str, str] = field(default_factory=dict)

    def name(self, code: str) -> str:
        return self.names.get(code, code)


def monthly_report(
    month: str,
    dispatches: Iterable[Dispatch],
    calls: CentreCalls,
    rules: ReportRules,
    as_of: datetime,
    names: dict[str, str] | None = None,
) -> MonthlyReport:
    """The month's report from its dispatches and the centre's call figures."""
    rows: dict[str, DepartmentKpi] = {}
    for d in dispatches:
        row = rows.get(d.department)
        if row is None:
            row = rows[d.department] = DepartmentKpi(d.department)
        row.add(d, judge(d, acceptance_limit(rules), as_of))
    centre = DepartmentKpi("")
    for row in rows.values():
        row.index = efficiency_index(row, rules)
        centre.merge(row)
    centre.index = efficiency_index(centre, rules)
    ordered = rank(rows.values(), rules.min_dispatched_to_rank)
    return MonthlyReport(month, as_of, rules, calls, ordered, centre, dict(names or {}))
