"""``hotline staffing`` and ``hotline simulate --profile``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from config.settings import Settings
from hotline.cli import app
from hotline.simulation import run_simulation
from routing.erlang import erlang_a

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["staffing", *args])


def test_seats_for_a_rate_as_json() -> None:
    r = run(
        "--calls-per-hour",
        "1200",
        "--talk",
        "180",
        "--patience",
        "120",
        "--wrapup",
        "0",
        "--target-answer-rate",
        "0.95",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["seats"] == 61 and out["answer_rate"] >= 0.95
    below = erlang_a(arrival_rate=1200 / 3600, service_time_s=180, patience_s=120, seats=60)
    assert below.answer_rate < 0.95
    assert out["mean_wait_s"] == pytest.approx(5.83, abs=0.01)
    assert "hours" not in out


def test_each_hour_of_a_profile() -> None:
    r = run(
        "--calls-per-hour",
        "600",
        "--talk",
        "180",
        "--patience",
        "120",
        "--profile",
        "workday",
        "--calls-per-day",
        "14000",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    hours = out["hours"]
    assert [h["hour"] for h in hours] == list(range(24))
    assert sum(h["calls"] for h in hours) == pytest.approx(14000, abs=1)
    assert all(h["answer_rate"] >= 0.95 for h in hours)
    busiest = max(hours, key=lambda h: h["calls"])
    assert busiest["hour"] in (9, 10, 14, 15) and busiest["seats"] == max(h["seats"] for h in hours)
    assert out["seat_hours"] == sum(h["seats"] for h in hours)
    # the calendar: a holiday is quieter than a working day
    hol = json.loads(run("--profile", "calendar", "--date", "2025-10-01", "--json").output)
    work = json.loads(run("--profile", "calendar", "--date", "2025-09-30", "--json").output)
    assert hol["day_kind"] == "holiday" and work["day_kind"] == "workday"
    assert hol["seat_hours"] < work["seat_hours"] and "peak_hour" in hol


def test_the_table() -> None:
    r = run("--calls-per-hour", "300", "--profile", "flat", "--calls-per-day", "2400")
    assert r.exit_code == 0, r.output
    assert "seats" in r.output and "23:00" in r.output and "answer rate" in r.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--calls-per-hour", "100", "--target-answer-rate", "1.0"], "between 0 and 1"),
        (["--calls-per-hour", "100", "--target-answer-rate", "0"], "between 0 and 1"),
        (["--calls-per-hour", "-5"], "--calls-per-hour must be a number > 0"),
        (["--calls-per-hour", "100", "--talk", "0"], "--talk must be"),
        (["--calls-per-hour", "100", "--patience", "-1"], "--patience must be"),
        (["--calls-per-hour", "100", "--wrapup", "-1"], "--wrapup must be"),
        ([], "give --calls-per-hour"),
        (["--profile", "lunar"], "not in the traffic model"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], says: str) -> None:
    r = run(*args)
    assert r.exit_code == 2
    assert says in r.output


@pytest.mark.e2e
async def test_simulate_with_the_flat_profile(tmp_path) -> None:
    r = await run_simulation(
        Settings(_env_file=None),
        database_url=f"sqlite:///{tmp_path / 't.db'}",
        seats=12,
        calls=None,
        hours=0.25,
        speed=2000.0,
        seed=5,
        talk_mean=180.0,
        patience_mean=120.0,
        wrapup=0.0,
        ring=0.0,
        progress=False,
        profile="flat",
        calls_per_hour=240.0,
    )
    assert r["profile"] == "flat"
    assert r["offered"] == r["answered"] + r["abandoned"] and r["waiting"] == 0
    assert 20 < r["offered"] < 110  # about 60
    steady = erlang_a(arrival_rate=240 / 3600, service_time_s=180, patience_s=120, seats=12)
    assert r["erlang_a"] == {
        "answer_rate": round(steady.answer_rate, 4),
        "mean_wait_s": round(steady.mean_wait_s, 2),
    }
