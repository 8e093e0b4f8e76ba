"""``hotline staffing``: seats needed for a target answer rate, by Erlang-A, for a rate and for
each hour of a day of the traffic model (``traffic.yaml`` in ``HOTLINE_CONFIG_DIR``,
config/traffic.py).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config.traffic import HOTLINE_TZ, TrafficModel
from hotline.cli.common import fail
from hotline.simulation import SimulationError, profile_name, traffic_model
from routing.erlang import ErlangA, seats_for_answer_rate

__all__ = ["staffing"]


def _model(path: Path | None) -> TrafficModel:
    try:
        return traffic_model(path)
    except SimulationError as e:
        raise fail(str(e)) from None


def _profile_name(model: TrafficModel, profile: str) -> str:
    try:
        return profile_name(model, profile)
    except SimulationError as e:
        raise fail(str(e)) from None


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
        raise fail(f"--target-answer-rate must be between 0 and 1, not {target_answer_rate:g}")
    if calls_per_hour is None and profile is None:
        raise fail("give --calls-per-hour, or --profile to staff each hour of a day")
    for name, v in (
        ("--calls-per-hour", calls_per_hour),
        ("--calls-per-day", calls_per_day),
    ):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise fail(f"{name} must be a number > 0, not {v:g}")
    for name, v in (("--talk", talk), ("--patience", patience)):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise fail(f"{name} must be a number of seconds > 0, not {v:g}")
    if wrapup is not None and not (wrapup >= 0 and math.isfinite(wrapup)):
        raise fail(f"--wrapup must be a number of seconds >= 0, not {wrapup:g}")
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
