"""``hotline simulate``'s volume options: honoured together, or refused naming them.

``--profile flat --calls 5400 --hours 3`` used to ignore ``--calls`` and ``--hours`` and run
the profile's default rate (14,000 calls a day: 583 an hour). Now ``--calls`` with a profile
is the number of calls expected over ``--hours``, in the profile's shape; options that set
the volume twice are refused with a message naming them.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from typer.testing import CliRunner

from config.settings import Settings
from config.traffic import HOTLINE_TZ, load_traffic
from hotline.cli import app
from hotline.simulation import SimulationError, run_simulation, sim_traffic

#: Monday 30 November 2026, 09:00 hotline time: a working day.
NINE = datetime(2026, 11, 30, 9, tzinfo=HOTLINE_TZ).timestamp()


def traffic(**kw):
    args = dict(
        profile=None,
        calls=None,
        hours=1.0,
        calls_per_hour=None,
        calls_per_day=None,
        talk_mean=None,
        patience_mean=None,
        wrapup=None,
        ring=2.0,
        seats=150,
        start_epoch=NINE,
    )
    args.update(kw)
    return sim_traffic(**args)


def test_flat_profile_honours_calls_and_hours() -> None:
    t = traffic(profile="flat", calls=5400, hours=3.0)
    plan = t.spec.plan
    assert t.expected_calls == 5400 and t.spec.calls is None  # a volume, not a cap
    assert plan.segments[0][0] == NINE and plan.segments[-1][1] == NINE + 3 * 3600
    assert [rate for _, _, rate in plan.segments] == pytest.approx([1800 / 3600])
    assert t.steady is not None  # Erlang-A of 1800 calls an hour
    assert t.steady.occupancy > traffic(profile="flat", hours=3.0).steady.occupancy


def test_shaped_profile_spreads_calls_in_its_shape() -> None:
    t = traffic(profile="workday", calls=1000, hours=2.0)  # 09:00-11:00
    assert t.expected_calls == 1000
    shares = load_traffic(None).profile_for("workday").shares
    (_, _, at9), (_, _, at10) = t.spec.plan.segments
    assert at9 / at10 == pytest.approx(shares[9] / shares[10])
    assert (at9 + at10) * 3600 == pytest.approx(1000)


def test_rate_without_calls_runs_for_the_hours() -> None:
    t = traffic(calls_per_hour=600.0, hours=0.5)
    assert t.spec.calls == 300 and t.expected_calls == 300
    assert traffic(calls=100, hours=0.5).spec.rate_per_s == pytest.approx(200 / 3600)
    assert traffic().spec.calls == 3000  # the default is unchanged


@pytest.mark.parametrize(
    ("kw", "names"),
    [
        (dict(profile="flat", calls=10, calls_per_hour=5.0), ["--calls", "--calls-per-hour"]),
        (dict(profile="workday", calls=10, calls_per_day=500.0), ["--calls", "--calls-per-day"]),
        (
            dict(profile="flat", calls_per_hour=5.0, calls_per_day=500.0),
            ["--calls-per-hour", "--calls-per-day"],
        ),
        (dict(profile="workday", calls_per_hour=5.0), ["--calls-per-hour", "flat"]),
        (dict(calls_per_day=500.0), ["--calls-per-day", "--profile"]),
    ],
)
def test_volume_given_twice_is_refused(kw, names) -> None:
    with pytest.raises(SimulationError) as e:
        traffic(**kw)
    assert all(n in str(e.value) for n in names), str(e.value)


def test_the_command_names_the_conflicting_options() -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["simulate", "--calls", "100", "--calls-per-hour", "50", "--hours", "3"])
    assert r.exit_code == 2
    assert "--calls, --calls-per-hour and --hours: give two of them" in r.output
    r = runner.invoke(
        app, ["simulate", "--profile", "flat", "--calls", "5400", "--calls-per-hour", "1800"]
    )
    assert r.exit_code == 2
    assert "--calls and --calls-per-hour both set how many callers come" in r.output


@pytest.mark.e2e
async def test_simulate_flat_profile_with_calls_end_to_end(tmp_path) -> None:
    r = await run_simulation(
        Settings(_env_file=None),
        database_url=f"sqlite:///{tmp_path / 't.db'}",
        seats=10,
        calls=60,
        hours=0.05,  # 3 minutes: the profile's own rate would bring about 29 calls
        speed=2000.0,
        seed=3,
        talk_mean=60.0,
        patience_mean=120.0,
        wrapup=0.0,
        ring=0.0,
        progress=False,
        profile="flat",
        start=datetime(2026, 11, 30, 9),
    )
    assert r["profile"] == "flat"
    assert 40 <= r["calls"] <= 85  # Poisson around 60
