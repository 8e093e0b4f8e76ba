"""``hotline staffing``: seats needed for a target answer rate, by Erlang-A; and the traffic
options of ``hotline simulate`` (``--profile``, ``--calls-per-hour``, ``--calls-per-day``).

Both read the traffic model, ``traffic.yaml`` in ``HOTLINE_CONFIG_DIR`` (config/traffic.py).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config.settings import Settings
from config.traffic import (
    HOTLINE_TZ,
    Exponential,
    TrafficConfigError,
    TrafficModel,
    load_traffic,
)
from routing.erlang import ErlangA, erlang_a, seats_for_answer_rate

__all__ = ["SimTraffic", "register", "sim_traffic", "staffing"]

err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def _model(path: Path | None) -> TrafficModel:
    if path is None:
        try:
            path = Settings().config_dir
        except Exception:  # the settings' own errors are reported by the commands that need them
            path = None
    try:
        return load_traffic(path)
    except TrafficConfigError as e:
        for p in e.problems:
            err.print(f"[red]error:[/] {p}")
        raise typer.Exit(2) from None


def _profile_name(model: TrafficModel, profile: str) -> str:
    if profile != "calendar" and profile not in model.profiles:
        raise _fail(
            f"--profile {profile!r} is not in the traffic model; known: "
            f"{', '.join(sorted(model.profiles))}, calendar"
        )
    return profile


# -- hotline simulate ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SimTraffic:
    """What ``hotline simulate`` runs: the traffic spec and the figures it implies."""

    spec: Any  # pbx.simulator.TrafficSpec
    expected_calls: int
    wrapup_s: float
    talk_mean_s: float
    patience_mean_s: float
    #: Erlang-A for the flat profile (the steady state the run approaches), else None.
    steady: ErlangA | None = None
    profile: str | None = None


def sim_traffic(
    *,
    profile: str | None,
    calls: int | None,
    hours: float,
    calls_per_hour: float | None,
    calls_per_day: float | None,
    talk_mean: float | None,
    patience_mean: float | None,
    wrapup: float | None,
    ring: float,
    seats: int,
    start_epoch: float,
    traffic_config: Path | None = None,
) -> SimTraffic:
    """Turn ``hotline simulate``'s options into a traffic spec. Without ``profile``: the
    simple Poisson stream (``calls`` over ``hours``, or at ``calls_per_hour``), exponential
    talk and patience. With one: the day plan of config/traffic.yaml from ``start_epoch`` for
    ``hours``, its distributions unless ``talk_mean``/``patience_mean`` are given (then
    exponential with those means), ``calls`` capping the first calls."""
    from pbx.simulator import TrafficSpec

    if calls_per_hour is not None and calls_per_hour <= 0:
        raise _fail("--calls-per-hour must be > 0")
    if calls_per_day is not None and calls_per_day <= 0:
        raise _fail("--calls-per-day must be > 0")
    if profile is None:
        if calls_per_day is not None:
            raise _fail("--calls-per-day needs --profile (flat, calendar or a profile's name)")
        talk = 150.0 if talk_mean is None else talk_mean
        patience = 120.0 if patience_mean is None else patience_mean
        n = calls if calls is not None else 3000
        spec = TrafficSpec(
            calls=n,
            hours=hours,
            calls_per_hour=calls_per_hour,
            patience_mean_s=patience,
            talk_mean_s=talk,
            start_at=start_epoch,
        )
        return SimTraffic(spec, n, 10.0 if wrapup is None else wrapup, talk, patience)
    model = _model(traffic_config)
    _profile_name(model, profile)
    talk_d = Exponential(mean_s=talk_mean) if talk_mean is not None else model.talk
    patience_d = Exponential(mean_s=patience_mean) if patience_mean is not None else model.patience
    if calls_per_hour is not None and profile != "flat":
        raise _fail("--calls-per-hour goes with --profile flat; give --calls-per-day instead")
    try:
        plan = model.plan(
            start_epoch,
            hours,
            profile=profile,
            calls_per_day=calls_per_day,
            calls_per_hour=calls_per_hour,
            patience=patience_d,
            talk=talk_d,
        )
    except (ValueError, KeyError) as e:
        raise _fail(str(e)) from None
    wrap = model.wrapup.mean if wrapup is None else wrapup
    if profile == "flat":
        # The steady state Erlang-A describes has no callers coming back: repeat calls would
        # raise the arrival rate above the one the check compares with.
        plan = dataclasses.replace(plan, repeat=None)
    spec = TrafficSpec(calls=calls, plan=plan)
    expected = max(1, round(spec.expected_calls or 0))
    steady = None
    if profile == "flat" and plan.segments:
        steady = erlang_a(
            arrival_rate=plan.segments[0][2],
            service_time_s=talk_d.mean + wrap + ring,
            patience_s=patience_d.mean,
            seats=seats,
        )
    return SimTraffic(spec, expected, wrap, talk_d.mean, patience_d.mean, steady, profile)


# -- hotline staffing ------------------------------------------------------------------------
def _row(r: ErlangA) -> dict[str, Any]:
    return {
        "seats": r.seats,
        "answer_rate": round(r.answer_rate, 4),
        "mean_wait_s": round(r.mean_wait_s, 2),
        "p_wait_gt_20s": round(r.p_wait_gt(20.0), 4),
        "occupancy": round(r.occupancy, 4),
    }


def staffing(
    calls_per_hour: Annotated[
        float | None, typer.Option(help="Calls offered per hour (constant rate).")
    ] = None,
    talk: Annotated[float | None, typer.Option(help="Mean talk time, s [traffic model].")] = None,
    wrapup: Annotated[
        float | None, typer.Option(help="Mean wrap-up after each call, s [traffic model].")
    ] = None,
    patience: Annotated[
        float | None, typer.Option(help="Mean caller patience, s [traffic model].")
    ] = None,
    target_answer_rate: Annotated[
        float, typer.Option(help="Answered / offered to reach, between 0 and 1.")
    ] = 0.95,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Also staff each hour of a day: a profile of the traffic model, or "
            "'calendar' (the profile and volume of --date's kind of day)."
        ),
    ] = None,
    day: Annotated[
        datetime | None,
        typer.Option(
            "--date", help="The day for --profile calendar; default today.", formats=["%Y-%m-%d"]
        ),
    ] = None,
    calls_per_day: Annotated[
        float | None, typer.Option(help="Calls offered per day for --profile [traffic model].")
    ] = None,
    traffic_config: Annotated[
        Path | None,
        typer.Option(help="Traffic model file or folder [HOTLINE_CONFIG_DIR/traffic.yaml]."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
) -> None:
    """Seats needed so that at least TARGET of callers are answered (Erlang-A: Poisson
    arrivals, exponential handle time = talk + wrap-up, exponential patience; steady state),
    for CALLS_PER_HOUR and/or for each hour of a day profile."""
    if not 0.0 < target_answer_rate < 1.0:
        raise _fail(f"--target-answer-rate must be between 0 and 1, not {target_answer_rate:g}")
    if calls_per_hour is None and profile is None:
        raise _fail("give --calls-per-hour, or --profile to staff each hour of a day")
    for name, v in (
        ("--calls-per-hour", calls_per_hour),
        ("--calls-per-day", calls_per_day),
    ):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise _fail(f"{name} must be a number > 0, not {v:g}")
    for name, v in (("--talk", talk), ("--patience", patience)):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise _fail(f"{name} must be a number of seconds > 0, not {v:g}")
    if wrapup is not None and not (wrapup >= 0 and math.isfinite(wrapup)):
        raise _fail(f"--wrapup must be a number of seconds >= 0, not {wrapup:g}")
    model: TrafficModel | None = None
    if profile is not None or talk is None or patience is None or wrapup is None:
        model = _model(traffic_config)
    talk_s = talk if talk is not None else model.talk.mean  # type: ignore[union-attr]
    wrap_s = wrapup if wrapup is not None else model.wrapup.mean  # type: ignore[union-attr]
    patience_s = patience if patience is not None else model.patience.mean  # type: ignore[union-attr]
    service_s = talk_s + wrap_s

    def solve(rate_per_hour: float) -> ErlangA:
        return seats_for_answer_rate(
            arrival_rate=rate_per_hour / 3600.0,
            service_time_s=service_s,
            patience_s=patience_s,
            target=target_answer_rate,
        )

    out: dict[str, Any] = {
        "target_answer_rate": target_answer_rate,
        "talk_s": talk_s,
        "wrapup_s": wrap_s,
        "patience_s": patience_s,
    }
    top: ErlangA | None = None
    if calls_per_hour is not None:
        top = solve(calls_per_hour)
        out["calls_per_hour"] = calls_per_hour
    hours: list[dict[str, Any]] = []
    title = ""
    if profile is not None:
        assert model is not None
        _profile_name(model, profile)
        if profile == "calendar":
            on = day.date() if day is not None else datetime.now(HOTLINE_TZ).date()
            kind, name, total = model.day(on)
            if calls_per_day is not None:
                total = calls_per_day * total / model.calls_per_day
            title = f"{on.isoformat()} ({kind}): profile {name}, {total:,.0f} calls"
            out.update(date=on.isoformat(), day_kind=kind)
        else:
            name = profile
            total = calls_per_day if calls_per_day is not None else model.calls_per_day
            title = f"profile {name}: {total:,.0f} calls a day"
        out.update(profile=name, calls_per_day=round(total, 2))
        for h, calls in enumerate(model.hourly_calls(name, total)):
            r = solve(calls)
            hours.append({"hour": h, "calls": round(calls, 1), **_row(r)})
        if top is None:  # the busiest hour stands for the day
            peak = max(range(24), key=lambda h: (hours[h]["seats"], hours[h]["calls"]))
            top = solve(model.hourly_calls(name, total)[peak])
            out["peak_hour"] = peak
    assert top is not None
    out.update(_row(top))
    if hours:
        out["hours"] = hours
        out["seat_hours"] = sum(h["seats"] for h in hours)
    if as_json:
        print(json.dumps(out, ensure_ascii=False), flush=True)
        return
    _print(out, hours, title, service_s, top)


def _print(
    out: dict[str, Any], hours: list[dict[str, Any]], title: str, service_s: float, top: ErlangA
) -> None:
    con = Console(soft_wrap=True)
    con.print(
        f"Erlang-A (M/M/N+M, steady state): handle time {service_s:g} s "
        f"(talk {out['talk_s']:g} + wrap-up {out['wrapup_s']:g}), mean patience "
        f"{out['patience_s']:g} s, target answer rate {out['target_answer_rate']:.1%}"
    )
    rate = out.get("calls_per_hour")
    where = f"{rate:g} calls/h" if rate is not None else f"busiest hour ({out['peak_hour']:02d}:00)"
    con.print(
        f"{where}: [bold]{top.seats} seats[/] -> answer rate {top.answer_rate:.2%}, "
        f"mean wait {top.mean_wait_s:.1f} s, occupancy {top.occupancy:.1%}"
    )
    if not hours:
        return
    table = Table(title=title, title_justify="left")
    for col in (
        "hour",
        "calls",
        "seats",
        "answer rate",
        "mean wait s",
        "waits > 20 s",
        "occupancy",
    ):
        table.add_column(col, justify="right")
    for h in hours:
        table.add_row(
            f"{h['hour']:02d}:00",
            f"{h['calls']:,.0f}",
            str(h["seats"]),
            f"{h['answer_rate']:.2%}",
            f"{h['mean_wait_s']:.1f}",
            f"{h['p_wait_gt_20s']:.1%}",
            f"{h['occupancy']:.1%}",
        )
    con.print(table)
    con.print(f"seat-hours staffed: {out['seat_hours']}")


def register(app: typer.Typer) -> None:
    """Add ``hotline staffing`` to the command line."""
    app.command("staffing")(staffing)
