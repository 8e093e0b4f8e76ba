"""The simulator in steady state agrees with Erlang-A (routing/erlang.py).

Constant arrivals (the ``flat`` profile of config/traffic.yaml), exponential talk and patience,
no wrap-up, no ring time, no 1 s recheck grid: the embedded PBX is then an M/M/N+M queue, and
its answer rate and mean wait over many calls must match the formula within 1 percentage point
and 5%.

The PBX core runs on a discrete-event clock (pbx/simulator/desclock.py), without sockets, so
hundreds of thousands of calls take seconds. Calls that arrive in the first hours (the queue
filling up from empty) are left out. The seed is fixed; the call counts are chosen so that the
statistical error (batch means, printed with ``-s``) is inside the tolerance.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import pytest

from config.traffic import Exponential, LogNormal, load_traffic
from pbx.simulator.config import SimulatorConfig
from pbx.simulator.core import PbxCore
from pbx.simulator.desclock import DesClock
from pbx.simulator.traffic import TrafficSpec, TrafficStream
from routing.erlang import erlang_a

pytestmark = pytest.mark.slow

TALK_S = 180.0
PATIENCE_S = 120.0
SEATS = 20
WARMUP_H = 3.0
EPOCH = 1_750_000_000.0 - 1_750_000_000.0 % 3600  # on an hour boundary


@dataclass
class Measured:
    calls: int
    answer_rate: float
    mean_wait_s: float
    answer_rate_se: float
    mean_wait_se: float


def simulate_steady(
    seats: int, calls_per_hour: float, calls: int, *, patience=None, seed: int = 11
) -> Measured:
    model = load_traffic()
    hours = WARMUP_H + calls / calls_per_hour
    plan = model.plan(
        EPOCH,
        hours,
        profile="flat",
        calls_per_hour=calls_per_hour,
        patience=patience or Exponential(mean_s=PATIENCE_S),
        talk=Exponential(mean_s=TALK_S),
        repeats=False,
    )
    clock = DesClock(EPOCH)
    # recheck_s=0: a waiting caller takes a seat the instant it frees (app_queue polls every
    # second, which M/M/N+M does not)
    core = PbxCore(clock, lambda headers: None, SimulatorConfig(ring_time_s=0.0, recheck_s=0.0))
    core.add_queue("hotline", strategy="rrmemory", timeout=15.0, retry=1.0, wrapuptime=0.0)
    for i in range(seats):
        core.add_member("hotline", f"Local/{8001 + i}@agents/n", membership="static", event=False)
    stream = TrafficStream(core, clock, TrafficSpec(plan=plan, keep_records=True), "hotline", seed)
    clock.run_until_idle()
    assert stream.done.done() and core.stats["waiting"] == 0
    kept = [r for r in stream.records if r.arrived_at >= EPOCH + WARMUP_H * 3600]
    answered = [1.0 if r.outcome == "answered" else 0.0 for r in kept]
    waits = [r.wait for r in kept]
    return Measured(
        len(kept),
        statistics.fmean(answered),
        statistics.fmean(waits),  # type: ignore[arg-type]
        _batch_se(answered),
        _batch_se(waits),  # type: ignore[arg-type]
    )


def _batch_se(xs: list[float], batches: int = 30) -> float:
    """Standard error of the mean by batch means (the calls are not independent)."""
    size = len(xs) // batches
    means = [statistics.fmean(xs[i * size : (i + 1) * size]) for i in range(batches)]
    return statistics.stdev(means) / math.sqrt(batches)


LOADS = [
    # (name, calls per hour, calls measured): offered load = calls/h * 180 s / 3600
    pytest.param(320.0, 200_000, id="over-staffed-16-erlangs-20-seats"),
    pytest.param(400.0, 120_000, id="critical-20-erlangs-20-seats"),
    pytest.param(520.0, 80_000, id="under-staffed-26-erlangs-20-seats"),
]


@pytest.mark.parametrize(("calls_per_hour", "calls"), LOADS)
async def test_steady_state_matches_erlang_a(calls_per_hour: float, calls: int) -> None:
    theory = erlang_a(
        arrival_rate=calls_per_hour / 3600,
        service_time_s=TALK_S,
        patience_s=PATIENCE_S,
        seats=SEATS,
    )
    m = simulate_steady(SEATS, calls_per_hour, calls)
    print(
        f"\n{calls_per_hour:g}/h on {SEATS} seats, {m.calls} calls: answer rate "
        f"sim {m.answer_rate:.4f} ± {m.answer_rate_se:.4f} vs Erlang-A {theory.answer_rate:.4f};"
        f" mean wait sim {m.mean_wait_s:.2f} ± {m.mean_wait_se:.2f} s vs "
        f"{theory.mean_wait_s:.2f} s"
    )
    assert abs(m.answer_rate - theory.answer_rate) <= 0.01
    assert abs(m.mean_wait_s / theory.mean_wait_s - 1) <= 0.05
    # The test can tell: its own statistical error (one standard error, batch means) is
    # inside the tolerance: under 1/3 of it for the answer rate, under all of it for the mean
    # wait (rare waits when over-staffed make that one the noisiest figure: about 4%).
    assert m.answer_rate_se < 0.01 / 3
    assert m.mean_wait_se / theory.mean_wait_s < 0.05


async def test_a_mis_sampled_patience_is_caught() -> None:
    """The check is not blind: patience drawn with the right mean but the wrong shape
    (log-normal instead of exponential), or with a mean 20% short, misses Erlang-A."""
    theory = erlang_a(
        arrival_rate=520 / 3600, service_time_s=TALK_S, patience_s=PATIENCE_S, seats=SEATS
    )
    short = simulate_steady(SEATS, 520.0, 15_000, patience=Exponential(mean_s=0.8 * PATIENCE_S))
    shaped = simulate_steady(SEATS, 520.0, 15_000, patience=LogNormal(mean_s=PATIENCE_S, sigma=1.5))
    for m in (short, shaped):
        off_rate = abs(m.answer_rate - theory.answer_rate) > 0.01
        off_wait = abs(m.mean_wait_s / theory.mean_wait_s - 1) > 0.05
        assert off_rate or off_wait, m
