"""``hotline``: the command line.

``hotline serve`` runs the backend (HTTP API, metrics, AMI link; with ``HOTLINE_AMI_URL`` unset
also the embedded PBX and its simulated callers). ``hotline simulate`` runs a fixed number of
simulated calls through the real path and prints a JSON summary as its last line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.settings import Settings

app = typer.Typer(
    help="Call-centre backend of the 12345 government service hotline.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        for error in e.errors():
            name = "HOTLINE_" + "_".join(str(p) for p in error["loc"]).upper()
            err.print(f"[red]error:[/] {name}: {error['msg']}")
        raise typer.Exit(2) from None


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [HOTLINE_HTTP_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [HOTLINE_HTTP_PORT].")] = None,
    quiet: Annotated[bool, typer.Option(help="Log warnings only.")] = False,
) -> None:
    """Run the backend: HTTP API and /metrics, the AMI link, and (without HOTLINE_AMI_URL) the
    embedded PBX with simulated callers."""
    settings = _settings()
    _logging(not quiet)
    asyncio.run(_serve(settings, host or settings.http_host, port or settings.http_port))


async def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from hotline.app import create_app
    from hotline.runtime import Runtime
    from pbx.simulator import TrafficSpec

    runtime = Runtime(settings)
    try:
        await runtime.start()
    except Exception as e:  # a clear line, not a traceback, for the usual start-up failures
        err.print(f"[red]error:[/] could not start: {e}")
        await runtime.stop()
        raise typer.Exit(1) from None
    if runtime.simulator is not None:
        runtime.simulator.run_traffic(
            TrafficSpec(
                calls=None,
                calls_per_hour=settings.sim_calls_per_hour,
                patience_mean_s=settings.sim_patience_mean_s,
                talk_mean_s=settings.sim_talk_mean_s,
            )
        )
        err.print(
            f"embedded PBX: {settings.sim_seats} seats, {settings.sim_calls_per_hour:g} calls/h "
            f"at {settings.sim_speed:g}x; set HOTLINE_AMI_URL to use a real Asterisk"
        )
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host=host, port=port, log_level="warning")
    )
    err.print(f"serving on http://{host}:{port} (metrics at /metrics, API docs at /docs)")
    try:
        await server.serve()
    finally:
        await runtime.stop()


@app.command()
def simulate(
    seats: Annotated[int, typer.Option(min=1, max=5000, help="Operator seats.")] = 150,
    calls: Annotated[
        int | None,
        typer.Option(min=1, help="Callers to simulate [3000; with --profile: no cap]."),
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
        float | None, typer.Option(help="Arrival rate (no profile, or --profile flat).")
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
) -> None:
    """Simulate CALLS callers over HOURS through the real path (embedded PBX, AMI over TCP,
    controller, database) and print one JSON line of results last."""
    settings = _settings()
    if settings.ami is not None:
        err.print("[red]error:[/] simulate drives the embedded PBX; unset HOTLINE_AMI_URL")
        raise typer.Exit(2)
    _logging(False)
    result = asyncio.run(
        _simulate(
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
        )
    )
    print(json.dumps(result), flush=True)


async def _simulate(
    settings: Settings,
    *,
    seats: int,
    calls: int | None,
    hours: float,
    speed: float,
    seed: int,
    talk_mean: float | None,
    patience_mean: float | None,
    wrapup: float | None,
    ring: float,
    database_url: str | None,
    progress: bool,
    start: datetime | None = None,
    profile: str | None = None,
    calls_per_hour: float | None = None,
    calls_per_day: float | None = None,
    ivr: bool = True,
    recheck: float = 1.0,
) -> dict[str, Any]:
    from hotline.cli_staffing import sim_traffic
    from hotline.runtime import Runtime, SimulationShape
    from tickets import service

    day_start = _start_epoch(start)
    traffic = sim_traffic(
        profile=profile,
        calls=calls,
        hours=hours,
        calls_per_hour=calls_per_hour,
        calls_per_day=calls_per_day,
        talk_mean=talk_mean,
        patience_mean=patience_mean,
        wrapup=wrapup,
        ring=ring,
        seats=seats,
        start_epoch=day_start,
        traffic_config=settings.config_dir,
    )
    wrapup = traffic.wrapup_s

    tmp: tempfile.TemporaryDirectory[str] | None = None
    if database_url is None:
        tmp = tempfile.TemporaryDirectory(prefix="hotline-sim-")
        database_url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'tickets.db'}"
    runtime = Runtime(
        settings,
        database_url=database_url,
        simulation=SimulationShape(
            seats=seats,
            speed=speed,
            seed=seed,
            ring_s=ring,
            wrapup_s=wrapup,
            ivr=ivr,
            recheck_s=recheck,
        ),
        agi_port=0,  # any free port: a simulation must not collide with a running serve
    )
    started = time.perf_counter()
    try:
        await runtime.start()
        assert runtime.simulator is not None and runtime.sessions is not None
        runtime.simulator.begin_day(day_start)
        done = runtime.simulator.run_traffic(traffic.spec)
        show = progress and (sys.stderr.isatty() or os.environ.get("HOTLINE_PROGRESS") == "1")
        await _follow(runtime, done, traffic.expected_calls, show)
        pbx_view = done.result()
        await runtime.settle()
        async with runtime.sessions() as session:
            tickets = await service.count_tickets(session)
            rated = await service.count_rated(session)
        totals = runtime.controller.calls.totals()
        waiting = sum(len(q) for q in runtime.controller.calls.waiting.values())
        extra: dict[str, Any] = {}
        if traffic.profile is not None:
            extra["profile"] = traffic.profile
        if traffic.steady is not None:  # what a long run of the flat profile approaches
            extra["erlang_a"] = {
                "answer_rate": round(traffic.steady.answer_rate, 4),
                "mean_wait_s": round(traffic.steady.mean_wait_s, 2),
            }
        return {
            "calls": pbx_view["arrived"],
            "served_by_ivr": pbx_view.get("served_by_ivr", 0),
            "offered": totals.offered,
            "answered": totals.answered,
            "abandoned": totals.abandoned,
            "waiting": waiting,
            "answer_rate": round(totals.answer_ratio, 4),
            "mean_wait_s": round(totals.mean_wait_s, 2),
            "instant_resolution_rate": round(runtime.controller.instant_resolution_ratio, 4),
            "tickets": tickets,
            "rated": rated,
            "elapsed_s": round(time.perf_counter() - started, 2),
            **extra,
        }
    finally:
        await runtime.stop()
        if tmp is not None:
            tmp.cleanup()


#: The hotline's local time (China Standard Time, no daylight saving).
HOTLINE_TZ = timezone(timedelta(hours=8), "CST")


def _start_epoch(start: datetime | None) -> float:
    """Epoch seconds at which the simulated calls begin: ``start`` (naive = hotline time), or
    08:00 hotline time today."""
    if start is None:
        today = datetime.now(HOTLINE_TZ).date()
        start = datetime(today.year, today.month, today.day, 8, tzinfo=HOTLINE_TZ)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=HOTLINE_TZ)
    return start.timestamp()


async def _follow(runtime: Any, done: asyncio.Future[Any], calls: int, show: bool) -> None:
    """Wait for the traffic to finish, with a progress bar of finished callers."""
    if not show:
        await done
        return
    columns = (
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("calls", total=calls)
        while not done.done():
            bar.update(task, completed=runtime.simulator.stats["finished"])
            await asyncio.wait([done], timeout=0.2)
        bar.update(task, completed=calls)
    done.result()


from hotline.cli_config import app as config_app  # noqa: E402  (after the commands above)

app.add_typer(config_app, name="config")

from hotline.cli_staffing import register as _register_staffing  # noqa: E402

_register_staffing(app)

from hotline.cli_replay import register as _register_replay  # noqa: E402

_register_replay(app)

from hotline.cli_phones import register as _register_phones  # noqa: E402

_register_phones(app)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
