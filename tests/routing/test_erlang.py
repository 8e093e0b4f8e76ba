"""Erlang-A (routing/erlang.py) against textbook Erlang B/C values, exact special cases and an
independent closed form (Mandelbaum and Zeltyn's incomplete-gamma formulas)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.erlang import erlang_a, erlang_b, erlang_c, seats_for_answer_rate


def closed_form(lam: float, mu: float, theta: float, n: int) -> tuple[float, float]:
    """P(wait > 0) and P(abandon) of M/M/n+M by the formulas of Mandelbaum and Zeltyn
    ("The M/M/n+G queue: summary of performance measures", 2005), written from scratch:
    ``A(x, y) = Σ_k y^k / ((x+1)…(x+k))``, ``E`` = Erlang B with n seats and λ/μ erlangs,
    ``P(W>0) = A·E / (1 + (A-1)·E)``, ``P(Ab | W>0) = 1/(ρA) + 1 - 1/ρ``, ρ = λ/(nμ)."""
    x, y = n * mu / theta, lam / theta
    # log A(x, y): the terms rise while x + k < y, to e**1000 and more: sum them in logs
    logs_a, log_term, k = [0.0], 0.0, 0
    while True:
        k += 1
        log_term += math.log(y) - math.log(x + k)
        logs_a.append(log_term)
        if x + k > y and log_term < max(logs_a) - 40:
            break
    m = max(logs_a)
    log_a = m + math.log(math.fsum(math.exp(v - m) for v in logs_a))
    # Erlang B by the direct sum, not by the recursion the module uses
    load = lam / mu
    logs = [j * math.log(load) - math.lgamma(j + 1) for j in range(n + 1)]
    m = max(logs)
    log_e = logs[n] - m - math.log(math.fsum(math.exp(v - m) for v in logs))
    # P(W>0) = A·E / (1 + (A-1)·E) = 1 / (1 + (1-E)/(A·E))
    p_wait = 1 / (1 + math.exp(math.log1p(-math.exp(log_e)) - log_a - log_e))
    rho = lam / (n * mu)
    p_ab_given_wait = math.exp(-math.log(rho) - log_a) + 1 - 1 / rho
    return p_wait, p_wait * p_ab_given_wait


def test_erlang_b_and_c_textbook_values() -> None:
    # M/M/3 with 2 erlangs: B = 4/19, C = 4/9 (by hand); 10 erlangs on 11 seats: C = 0.6821.
    assert erlang_b(2.0, 3) == pytest.approx(4 / 19, rel=1e-12)
    assert erlang_c(2.0, 3) == pytest.approx(4 / 9, rel=1e-12)
    assert erlang_c(10.0, 11) == pytest.approx(0.6821, abs=5e-5)
    # 25 erlangs on 30 lines: blocking about 5% (the classic Erlang B example).
    assert erlang_b(25.0, 30) == pytest.approx(0.0528, abs=5e-4)


def test_infinite_patience_is_erlang_c() -> None:
    # M/M/3, λ = 2/s, service 1 s: P(wait) = 4/9, E[W] = C / (Nμ - λ) = 4/9 s.
    r = erlang_a(arrival_rate=2.0, service_time_s=1.0, patience_s=math.inf, seats=3)
    assert r.p_wait == pytest.approx(4 / 9, rel=1e-12)
    assert r.mean_wait_s == pytest.approx(4 / 9, rel=1e-12)
    assert r.answer_rate == 1.0
    # M/M/1: P(wait) = ρ, E[W] = ρ / (μ - λ)
    r1 = erlang_a(arrival_rate=0.8, service_time_s=1.0, patience_s=math.inf, seats=1)
    assert r1.p_wait == pytest.approx(0.8) and r1.mean_wait_s == pytest.approx(4.0)
    with pytest.raises(ValueError, match="grows without end"):
        erlang_a(arrival_rate=3.0, service_time_s=1.0, patience_s=math.inf, seats=3)


def test_patience_to_infinity_tends_to_erlang_c() -> None:
    c = erlang_a(arrival_rate=10 / 180, service_time_s=180, patience_s=math.inf, seats=11)
    for patience, tol in ((1e6, 1e-2), (1e9, 1e-5)):
        a = erlang_a(arrival_rate=10 / 180, service_time_s=180, patience_s=patience, seats=11)
        assert a.p_wait == pytest.approx(c.p_wait, rel=tol)
        assert a.mean_wait_s == pytest.approx(c.mean_wait_s, rel=tol)
        assert a.p_abandon < 1e-3


@pytest.mark.parametrize("n", [1, 5, 20, 60])
def test_patience_equal_to_service_gives_poisson(n: int) -> None:
    """θ = μ: every state dies at rate jμ, so the number in system is Poisson(λ/μ) whatever
    N is, and P(abandon) = E[(X - N)+] / (λ/μ)."""
    lam, mu = 0.5, 1 / 60
    a = lam / mu
    pk = [math.exp(-a + k * math.log(a) - math.lgamma(k + 1)) for k in range(n)]
    excess = a - n + math.fsum((n - k) * p for k, p in enumerate(pk))
    r = erlang_a(arrival_rate=lam, service_time_s=60, patience_s=60, seats=n)
    assert r.p_abandon == pytest.approx(excess / a, rel=1e-9)
    assert r.p_wait == pytest.approx(1 - math.fsum(pk), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    load_per_seat=st.floats(0.3, 2.0),
    patience_ratio=st.floats(0.05, 20.0),
)
def test_chain_agrees_with_closed_form(n: int, load_per_seat: float, patience_ratio: float) -> None:
    service = 180.0
    lam = load_per_seat * n / service
    patience = service * patience_ratio
    r = erlang_a(arrival_rate=lam, service_time_s=service, patience_s=patience, seats=n)
    p_wait, p_ab = closed_form(lam, 1 / service, 1 / patience, n)
    assert r.p_wait == pytest.approx(p_wait, rel=1e-7, abs=1e-12)
    assert r.p_abandon == pytest.approx(p_ab, rel=1e-7, abs=1e-12)
    # Little's law for the abandoning: E[W] = P(abandon) / θ
    assert r.mean_wait_s == pytest.approx(r.p_abandon * patience, rel=1e-9)


def test_wait_tail_integrates_to_the_mean_wait() -> None:
    r = erlang_a(arrival_rate=1200 / 3600, service_time_s=180, patience_s=120, seats=60)
    assert r.p_wait_gt(0) == r.p_wait
    # E[W] = ∫ P(W > t) dt (Simpson's rule over 0..2400 s)
    h, steps = 1.0, 2400
    ys = [r.p_wait_gt(i * h) for i in range(steps + 1)]
    integral = h / 3 * (ys[0] + ys[-1] + 4 * math.fsum(ys[1:-1:2]) + 2 * math.fsum(ys[2:-1:2]))
    assert integral == pytest.approx(r.mean_wait_s, rel=1e-6)
    assert all(a >= b for a, b in itertools.pairwise(ys))
    # Erlang C tail: P(W > t) = C·exp(-(Nμ - λ)t)
    c = erlang_a(arrival_rate=2.0, service_time_s=1.0, patience_s=math.inf, seats=3)
    assert c.p_wait_gt(0.5) == pytest.approx(4 / 9 * math.exp(-0.5))


def test_edge_cases_and_bad_input() -> None:
    none = erlang_a(arrival_rate=0.0, service_time_s=180, patience_s=120, seats=5)
    assert none.answer_rate == 1.0 and none.mean_wait_s == 0.0
    nobody = erlang_a(arrival_rate=0.1, service_time_s=180, patience_s=120, seats=0)
    assert nobody.answer_rate == pytest.approx(0.0) and nobody.mean_wait_s == pytest.approx(120)
    for kw in (
        dict(arrival_rate=-1.0),
        dict(service_time_s=0.0),
        dict(patience_s=0.0),
        dict(seats=-1),
        dict(arrival_rate=math.nan),
    ):
        args = dict(arrival_rate=0.1, service_time_s=180.0, patience_s=120.0, seats=5) | kw
        with pytest.raises(ValueError):
            erlang_a(**args)  # type: ignore[arg-type]


def test_fewest_seats_for_a_target() -> None:
    kw = dict(arrival_rate=1200 / 3600, service_time_s=180.0, patience_s=120.0)
    r = seats_for_answer_rate(target=0.95, **kw)
    assert r.seats == 61 and r.answer_rate >= 0.95
    assert erlang_a(seats=60, **kw).answer_rate < 0.95
    assert seats_for_answer_rate(target=0.5, **kw).seats < r.seats
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            seats_for_answer_rate(target=bad, **kw)
    assert (
        seats_for_answer_rate(target=0.9, arrival_rate=0.0, service_time_s=1, patience_s=1).seats
        == 0
    )
