"""Erlang-A (M/M/N+M): a queue of ``N`` seats whose callers may hang up while they wait.

The model, as in Garnett, Mandelbaum and Reiman, "Designing a call center with impatient
customers", *Manufacturing & Service Operations Management* 4(3):208-227, 2002 (their
"Erlang-A"), and Mandelbaum and Zeltyn, "The M/M/n+G queue: summary of performance measures"
(technical note, Technion, 2005):

* callers arrive as a Poisson process of rate ``λ``;
* a seat serves one caller for an exponential time of mean ``1/μ`` (talk plus wrap-up: the
  time the seat is taken);
* a waiting caller hangs up after an exponential patience of mean ``1/θ``, independent of
  everything else; callers are served first come, first served.

The number of callers in the system is then a birth-death chain with birth rate ``λ`` and death
rate ``min(j, N)·μ + max(j - N, 0)·θ`` in state ``j``. :func:`erlang_a` computes its stationary
distribution exactly (in log space, truncated where the tail is below ``e**-50`` of the peak),
and by PASTA (arrivals see time averages):

* ``P(wait > 0) = Σ_{j≥N} π_j``;
* ``E[Q] = Σ_{j>N} (j - N)·π_j``, callers abandon at rate ``θ·E[Q]``, so
  ``P(abandon) = θ·E[Q] / λ`` and the **answer rate** is ``1 - P(abandon)``;
* the **mean wait** ``E[W] = E[Q] / λ`` (Little's law over every caller, answered or not: the
  same figure as ``mean_wait_s`` in ``routing/calls.py``), which equals ``P(abandon)/θ``.

``θ = 0`` (infinitely patient callers) is Erlang C, defined only while ``λ < N·μ``.

The tail ``P(V > t)`` of the *offered* wait (how long a caller who never gave up would wait) is
the closed form of Mandelbaum and Zeltyn for exponential patience,
``P(V > t) = P(V > 0) · γ(Nμ/θ, (λ/θ)e^{-θt}) / γ(Nμ/θ, λ/θ)`` (``γ`` the lower incomplete
gamma function); the actual wait ``W = min(V, patience)`` has ``P(W > t) = P(V > t)·e^{-θt}``.

Everything here is a steady-state figure: it holds for a long stretch of constant arrivals,
not for the first minutes of a day or the edge of a peak.

>>> r = erlang_a(arrival_rate=1200 / 3600, service_time_s=180, patience_s=120, seats=60)
>>> round(r.answer_rate, 4), round(r.mean_wait_s, 2)
(0.9434, 6.79)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangA",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "seats_for_answer_rate",
]

#: States whose probability is below ``exp(-TAIL_LOG)`` of the peak are left out.
TAIL_LOG = 50.0
#: Refuse chains longer than this (a tiny patience rate under heavy overload).
MAX_STATES = 5_000_000


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady-state figures of one M/M/N+M queue (rates per second, times in seconds)."""

    arrival_rate: float
    service_time_s: float
    patience_s: float  # math.inf: Erlang C
    seats: int
    #: P(an arriving caller has to wait at all) = P(all seats busy).
    p_wait: float
    #: P(an arriving caller hangs up before being answered).
    p_abandon: float
    #: Mean time in queue over all callers, answered or abandoned (s).
    mean_wait_s: float
    #: Mean number of callers waiting.
    mean_queue: float
    #: Share of the seats' time spent serving.
    occupancy: float

    @property
    def answer_rate(self) -> float:
        """Answered / offered = ``1 - p_abandon``."""
        return 1.0 - self.p_abandon

    @property
    def offered_load(self) -> float:
        """``λ/μ``, in erlangs."""
        return self.arrival_rate * self.service_time_s

    def p_offered_wait_gt(self, t: float) -> float:
        """P(V > t): a caller who never hung up would wait longer than ``t`` seconds."""
        if t < 0:
            raise ValueError("t must be >= 0")
        if t == 0 or self.p_wait == 0.0:
            return self.p_wait
        mu = 1.0 / self.service_time_s
        n = self.seats
        if math.isinf(self.patience_s):  # Erlang C: exponential with rate Nμ - λ
            return self.p_wait * math.exp(-(n * mu - self.arrival_rate) * t)
        theta = 1.0 / self.patience_s
        a = n * mu / theta
        b = self.arrival_rate / theta
        bt = b * math.exp(-theta * t)
        # γ(a, y) = y^a e^-y S(a, y): the ratio, in logs, with (bt/b)^a = e^{-Nμt}.
        log_ratio = -n * mu * t + (b - bt) + _log_series(a, bt) - _log_series(a, b)
        return self.p_wait * math.exp(log_ratio)

    def p_wait_gt(self, t: float) -> float:
        """P(W > t): a caller is still waiting ``t`` seconds after joining (neither answered
        nor gone): ``P(V > t)·P(patience > t)``."""
        if math.isinf(self.patience_s):
            return self.p_offered_wait_gt(t)
        return self.p_offered_wait_gt(t) * math.exp(-t / self.patience_s)


def _log_series(a: float, y: float) -> float:
    """``log Σ_{k≥0} y^k / (a(a+1)…(a+k))``, so that ``γ(a, y) = y^a e^{-y} · that``."""
    # Terms grow while a + k < y, then fall geometrically: sum in scaled form.
    log_terms = []
    log_t = -math.log(a)
    k = 0
    while True:
        log_terms.append(log_t)
        k += 1
        log_t += math.log(y) - math.log(a + k) if y > 0 else -math.inf
        if a + k > y and log_t < max(log_terms) - 40.0:
            break
        if k > MAX_STATES:
            raise ValueError("series did not converge")
    m = max(log_terms)
    return m + math.log(math.fsum(math.exp(v - m) for v in log_terms))


def _check(arrival_rate: float, service_time_s: float, patience_s: float, seats: int) -> None:
    if not (arrival_rate >= 0 and math.isfinite(arrival_rate)):
        raise ValueError(f"the arrival rate must be a finite number >= 0, not {arrival_rate}")
    if not (service_time_s > 0 and math.isfinite(service_time_s)):
        raise ValueError(f"the mean service time must be > 0 s, not {service_time_s}")
    if not patience_s > 0:
        raise ValueError(f"the mean patience must be > 0 s (math.inf: never), not {patience_s}")
    if seats < 0 or int(seats) != seats:
        raise ValueError(f"seats must be a whole number >= 0, not {seats}")


def erlang_a(
    *, arrival_rate: float, service_time_s: float, patience_s: float, seats: int
) -> ErlangA:
    """Steady state of M/M/N+M: ``arrival_rate`` callers per second, mean service (talk plus
    wrap-up) ``service_time_s``, mean patience ``patience_s`` (``math.inf`` for Erlang C),
    ``seats`` servers."""
    _check(arrival_rate, service_time_s, patience_s, seats)
    lam, mu, n = float(arrival_rate), 1.0 / service_time_s, int(seats)
    theta = 0.0 if math.isinf(patience_s) else 1.0 / patience_s
    if lam == 0.0:
        return ErlangA(lam, service_time_s, patience_s, n, 0.0, 0.0, 0.0, 0.0, 0.0)
    if theta == 0.0 and lam >= n * mu:
        raise ValueError(
            f"with infinitely patient callers the queue grows without end: "
            f"load {lam / mu:.3g} erlangs >= {n} seats"
        )
    # log of the unnormalised π_j, j = 0, 1, ...
    log_lam = math.log(lam)
    logp = [0.0]
    peak = 0.0
    j = 0
    if theta == 0.0:
        # Up to N the chain as usual; beyond, a geometric tail of ratio ρ summed in closed form.
        for j in range(1, n + 1):
            logp.append(logp[-1] + log_lam - math.log(j * mu))
        peak = max(logp)
        w = [math.exp(v - peak) for v in logp]
        rho = lam / (n * mu)
        pn = w[n]
        z = math.fsum(w[:n]) + pn / (1.0 - rho)
        p_wait = pn / (1.0 - rho) / z
        mean_q = pn * rho / (1.0 - rho) ** 2 / z
        return ErlangA(
            lam,
            service_time_s,
            patience_s,
            n,
            p_wait,
            0.0,
            mean_q / lam,
            mean_q,
            lam / (n * mu),
        )
    while True:
        j += 1
        death = min(j, n) * mu + max(j - n, 0) * theta
        v = logp[-1] + log_lam - math.log(death)
        logp.append(v)
        if v > peak:
            peak = v
        elif j > n and v < peak - TAIL_LOG:
            break
        if j > MAX_STATES:
            raise ValueError(
                f"the queue is too long to compute (patience {patience_s} s too long for the "
                f"overload); shorten it or add seats"
            )
    w = [math.exp(v - peak) for v in logp]
    z = math.fsum(w)
    p_wait = math.fsum(w[n:]) / z
    mean_q = math.fsum((i - n) * w[i] for i in range(n + 1, len(w))) / z
    p_ab = min(1.0, theta * mean_q / lam)
    return ErlangA(
        lam,
        service_time_s,
        patience_s,
        n,
        p_wait,
        p_ab,
        mean_q / lam,
        mean_q,
        lam * (1.0 - p_ab) / (n * mu) if n else 0.0,
    )


def erlang_b(load: float, seats: int) -> float:
    """Erlang B: P(all ``seats`` busy) with ``load`` erlangs and no waiting room (stable
    recursion ``B(n) = aB(n-1) / (n + aB(n-1))``)."""
    if load < 0 or seats < 0:
        raise ValueError("load and seats must be >= 0")
    b = 1.0
    for k in range(1, int(seats) + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(load: float, seats: int) -> float:
    """Erlang C: P(wait > 0) with ``load`` erlangs, ``seats`` servers and patient callers."""
    if load >= seats:
        raise ValueError(f"load {load} erlangs >= {seats} seats: no steady state")
    b = erlang_b(load, seats)
    rho = load / seats
    return b / (1.0 - rho * (1.0 - b))


def seats_for_answer_rate(
    *,
    arrival_rate: float,
    service_time_s: float,
    patience_s: float,
    target: float,
    max_seats: int = 100_000,
) -> ErlangA:
    """The smallest number of seats whose Erlang-A answer rate is at least ``target``; returns
    the figures at that number."""
    if not 0.0 < target < 1.0:
        raise ValueError(
            f"the target answer rate must be between 0 and 1 (exclusive), not {target}"
        )
    _check(arrival_rate, service_time_s, patience_s, 0)

    def at(n: int) -> ErlangA:
        return erlang_a(
            arrival_rate=arrival_rate, service_time_s=service_time_s, patience_s=patience_s, seats=n
        )

    if arrival_rate == 0:
        return at(0)
    if math.isinf(patience_s):  # every caller is answered once the queue is stable
        return at(math.floor(arrival_rate * service_time_s) + 1)
    # The answer rate grows with the seats: double up, then bisect.
    lo, hi = 0, 1
    r = at(hi)
    while r.answer_rate < target:
        lo, hi = hi, hi * 2
        if hi > max_seats:
            raise ValueError(f"more than {max_seats} seats needed")
        r = at(hi)
    best = r
    while hi - lo > 1:
        mid = (lo + hi) // 2
        rm = at(mid)
        if rm.answer_rate >= target:
            hi, best = mid, rm
        else:
            lo = mid
    return best
