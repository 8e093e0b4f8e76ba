"""``hotline simulate``: simulated callers through the real path, a progress bar on a
terminal, and one JSON line of results last (the use case: :mod:`hotline.simulation`)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated

import typer
from click.core import ParameterSource

from hotline.cli.common import fail, load_settings, setup_logging
from hotline.simulation import SimulationError, run_simulation

__all__ = ["simulate"]


def simulate(
    ctx: typer.Context,
    seats: Annotated[int, typer.Option(min=1, max=5000, help="Operator seats.")] = 150,
    calls: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Callers to simulate [3000, or --calls-per-hour x --hours]; with --profile: "
            "the calls expected over --hours, in the profile's shape [traffic model].",
        ),
    ] = None,
    hours: Annotated[float, typer.Option(min=0.001, help="Hours the callers arrive over.")] = 1.0,
    speed: Annotated[
        float, typer.Option(min=0.01, help="Simulated seconds per real second.")
    ] = 120.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same calls.")] = 1,
    talk_mean: Annotated[
        float | None,
        typer.Option(min=1.0, help="Mean talk time, s (exponential) [150; traffic model]."),
    ] = None,
    patience_mean: Annotated[
        float | None,
        typer.Option(min=1.0, help="Mean caller patience, s (exponential) [120; traffic model]."),
    ] = None,
    wrapup: Annotated[
        float | None, typer.Option(min=0.0, help="Wrap-up after each call, s [10; traffic model].")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Arrivals by the traffic model (config/traffic.yaml): flat, a profile's name, "
            "or calendar (the day's kind by the Chinese calendar). Default: simple Poisson."
        ),
    ] = None,
    calls_per_hour: Annotated[
        float | None,
        typer.Option(help="Arrival rate (no profile, or --profile flat), for --hours."),
    ] = None,
    calls_per_day: Annotated[
        float | None, typer.Option(help="Calls a day for --profile [traffic model].")
    ] = None,
    ring: Annotated[
        float, typer.Option(min=0.0, help="Seconds a seat rings before answering.")
    ] = 2.0,
    database_url: Annotated[
        str | None,
        typer.Option(help="Ticket store; default a fresh SQLite file in a temporary folder."),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            help="When the simulated hours begin; default 08:00 today (UTC+8). "
            "The same seed and start give the same calls.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    ivr: Annotated[
        bool,
        typer.Option(
            help="Send every caller through the IVR over FastAGI first (--no-ivr: straight "
            "to the queue, as the Erlang-A check wants)."
        ),
    ] = True,
    recheck: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds between a waiting caller's looks for a free seat (app_queue: 1; "
            "0: at once, the ideal M/M/N+M queue of Erlang-A).",
        ),
    ] = 1.0,
    operators: Annotated[
        bool | None,
        typer.Option(
            "--operators/--no-operators",
            help="A simulated operator at each seat signs in and submits every ticket over "
            "the HTTP API and WebSocket [HOTLINE_SIM_OPERATORS, on]; off: the seats log in "
            "through the gateway and the fallback model decides.",
            show_default=False,
        ),
    ] = None,
    breaks_per_hour: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=60.0,
            help="Breaks each simulated operator takes per simulated hour (a break takes its "
            "seat out of the queue, and its moment depends on the machine's speed: 0 keeps "
            "--seats the seats in use and the run reproducible).",
        ),
    ] = 0.0,
    centres: Annotated[
        bool,
        typer.Option(
            "--centres",
            help='The eight centres of the "1 + 7" platform, each its own queue: --seats '
            "shared out by the traffic model's district shares (needs --profile).",
        ),
    ] = False,
    centre_seats: Annotated[
        list[str] | None,
        typer.Option(
            "--centre-seats",
            help="QUEUE=N: this centre's seats instead of its share (on top of --seats); "
            "repeat for several. With --centres.",
        ),
    ] = None,
    overflow: Annotated[
        bool,
        typer.Option(help="Move callers between centres by config/overflow.yaml."),
    ] = True,
) -> None:
    """Simulate CALLS callers over HOURS through the real path (embedded PBX, AMI over TCP,
    controller, database) and print one JSON line of results last."""
    _refuse_conflicts(ctx, calls=calls, calls_per_hour=calls_per_hour, profile=profile)
    settings = load_settings()
    if settings.ami is not None:
        raise fail("simulate drives the embedded PBX; unset HOTLINE_AMI_URL")
    setup_logging(False)
    fixed: dict[str, int] = {}
    for item in centre_seats or []:
        queue, sep, n = item.partition("=")
        if not sep or not queue or not n.isdigit() or int(n) < 1:
            raise fail(f"--centre-seats {item!r}: write QUEUE=N, N a whole number >= 1")
        fixed[queue.strip()] = int(n)
    try:
        result = asyncio.run(
            run_simulation(
                settings,
                seats=seats,
                calls=calls,
                hours=hours,
                speed=speed,
                seed=seed,
                talk_mean=talk_mean,
                patience_mean=patience_mean,
                wrapup=wrapup,
                ring=ring,
                database_url=database_url,
                progress=progress,
                start=start,
                profile=profile,
                calls_per_hour=calls_per_hour,
                calls_per_day=calls_per_day,
                ivr=ivr,
                recheck=recheck,
                operators=operators,
                breaks_per_hour=breaks_per_hour,
                centres=centres,
                centre_seats=fixed,
                overflow=overflow,
            )
        )
    except SimulationError as e:
        raise fail(str(e)) from None
    print(json.dumps(result), flush=True)


def _refuse_conflicts(
    ctx: typer.Context, *, calls: int | None, calls_per_hour: float | None, profile: str | None
) -> None:
    """Options that say the same thing twice, differently, are refused rather than one of
    them silently ignored. (The others are checked by :func:`hotline.simulation.sim_traffic`;
    this one needs to know that ``--hours`` was typed, not defaulted.)"""
    hours_given = ctx.get_parameter_source("hours") not in (None, ParameterSource.DEFAULT)
    if profile is None and calls is not None and calls_per_hour is not None and hours_given:
        raise fail(
            "--calls, --calls-per-hour and --hours: give two of them "
            f"({calls} calls at {calls_per_hour:g} an hour take {calls / calls_per_hour:g} hours)"
        )
