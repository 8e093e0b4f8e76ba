"""The simulation use case behind ``hotline simulate``: simulated callers through the real path
(embedded PBX, IVR over FastAGI, AMI over TCP, controller, ticket store), and a summary of
what happened as a JSON-ready dict.

:func:`run_simulation` runs one; :func:`sim_traffic` turns the command's traffic options
into the callers' stream (``TrafficSpec``), reading the traffic model (``traffic.yaml`` in
``HOTLINE_CONFIG_DIR``, config/traffic.py) when a ``profile`` is named. Options that make no
simulation raise :class:`SimulationError`, whose message names them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.overflow import OverflowRules
from config.settings import Settings
from config.traffic import HOTLINE_TZ, Exponential, TrafficConfigError, TrafficModel, load_traffic
from config.yamlfile import ConfigError
from ivr.menus import load_menus
from ivr.server import app_of
from pbx.simulator.config import centre_queues, split_seats
from routing.calls import rounded
from routing.erlang import ErlangA, erlang_a

__all__ = ["SimTraffic", "SimulationError", "run_simulation", "sim_traffic"]

err = Console(stderr=True, soft_wrap=True)


class SimulationError(ValueError):
    """Options that make no simulation, or a traffic model that cannot be read; the message
    says which option (or file and line) and why, one problem a line."""


def _fail(message: str) -> SimulationError:
    return SimulationError(message)


def traffic_model(path: Path | None) -> TrafficModel:
    """The traffic model in ``path`` (a file or folder; default the settings' config folder)."""
    if path is None:
        try:
            path = Settings().config_dir
        except Exception:  # the settings' own errors are reported by the commands that need them
            path = None
    try:
        return load_traffic(path)
    except TrafficConfigError as e:
        raise SimulationError("\n".join(str(p) for p in e.problems)) from None


def profile_name(model: TrafficModel, profile: str) -> str:
    """``profile`` when the model has it (or it is ``calendar``), else :class:`SimulationError`."""
    if profile != "calendar" and profile not in model.profiles:
        raise _fail(
            f"--profile {profile!r} is not in the traffic model; known: "
            f"{', '.join(sorted(model.profiles))}, calendar"
        )
    return profile


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
    """Turn ``hotline simulate``'s options into a traffic spec.

    Without ``profile``: the simple Poisson stream, exponential talk and patience; ``calls``
    callers over ``hours`` (rate calls/hours), or ``calls`` at ``calls_per_hour``, or
    ``calls_per_hour`` for ``hours`` (rate x hours callers); 3000 over ``hours`` by default.

    With one: the day plan of config/traffic.yaml from ``start_epoch`` for ``hours``, its
    distributions unless ``talk_mean``/``patience_mean`` are given (then exponential with
    those means). Its volume is the model's, or one of: ``calls`` (that many first calls
    expected over the ``hours``, in the profile's shape; repeat callers come on top, except
    with ``flat``), ``calls_per_hour`` (``flat`` only), ``calls_per_day``. Two of them set
    the volume twice: :class:`SimulationError`, naming them."""
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
        if calls is not None:
            n = calls
        elif calls_per_hour is not None:  # the rate for the hours asked
            n = max(1, round(calls_per_hour * hours))
        else:
            n = 3000
        spec = TrafficSpec(
            calls=n,
            hours=hours,
            calls_per_hour=calls_per_hour,
            patience_mean_s=patience,
            talk_mean_s=talk,
            start_at=start_epoch,
        )
        return SimTraffic(spec, n, 10.0 if wrapup is None else wrapup, talk, patience)
    volume = [
        name
        for name, value in (
            ("--calls", calls),
            ("--calls-per-hour", calls_per_hour),
            ("--calls-per-day", calls_per_day),
        )
        if value is not None
    ]
    if len(volume) > 1:
        raise _fail(
            f"{' and '.join(volume)} both set how many callers come with --profile; give one"
        )
    model = traffic_model(traffic_config)
    profile_name(model, profile)
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
        if calls is not None:  # scale the day so that the hours asked expect `calls` calls
            if plan.expected_calls <= 0:
                raise _fail(
                    f"--profile {profile} has no calls in those {hours:g} hours, so --calls "
                    f"{calls} cannot be spread over them; choose other --start or --hours"
                )
            plan = model.plan(
                start_epoch,
                hours,
                profile=profile,
                calls_per_day=model.calls_per_day * calls / plan.expected_calls,
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
    spec = TrafficSpec(calls=None, plan=plan)
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


async def run_simulation(
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
    operators: bool | None = None,
    breaks_per_hour: float = 0.0,
    centres: bool = False,
    centre_seats: Mapping[str, int] | None = None,
    overflow: bool = True,
) -> dict[str, Any]:
    """One simulation; its summary. ``operators`` (default ``HOTLINE_SIM_OPERATORS``, on): a
    simulated operator at each seat works through the HTTP API and the live stream of this
    process's own app, served on a free 127.0.0.1 port (:mod:`hotline.sim_operators`);
    off, the seats are logged in through the gateway and the simulated operator decides
    every ticket. ``breaks_per_hour``: breaks each takes per simulated hour (0 by default:
    a break takes its seat out of the queue, so ``seats`` would no longer be the seats in
    use, and a break's moment depends on how fast the machine answers, so the same seed
    would no longer give the same run).

    ``centres``: the embedded PBX runs the eight centres of the "1 + 7" platform, each its own
    queue (``config/ivr.yaml``'s districts) with its own seats: ``seats`` shared out by the
    traffic model's district shares (``ivr.district`` of ``traffic.yaml``), except those
    ``centre_seats`` names (queue -> seats, on top). Callers choose their district in the IVR
    as the model draws it (a ``profile`` is needed), and the IVR moves them between centres
    by ``config/overflow.yaml`` unless ``overflow`` is False. The seats are the queues'
    members from the start (as a queues.conf names them), so no simulated operator signs in
    (the fallback model decides the tickets). The summary adds ``centres`` (per district:
    the seats, and of the district's callers who reached a queue, how many and how many
    were answered, with their answer rate) and ``overflowed``."""
    from hotline.desk_robots import RobotRefused
    from hotline.runtime import Runtime
    from hotline.sim_operators import SimOperators
    from pbx.simulator import SimulatorConfig
    from tickets import service

    if operators is None:
        operators = settings.sim_operators
    if breaks_per_hour < 0:
        raise _fail("--breaks-per-hour must be >= 0")
    if breaks_per_hour and not operators:
        raise _fail("--breaks-per-hour needs the simulated operators (not --no-operators)")

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
    platform: dict[str, int] = {}
    if centres:
        platform = _centre_seats(settings, traffic, seats, centre_seats or {})
        operators = False
        traffic = dataclasses.replace(
            traffic, spec=dataclasses.replace(traffic.spec, keep_records=True)
        )
    elif centre_seats:
        raise _fail("--centre-seats goes with --centres")

    tmp: tempfile.TemporaryDirectory[str] | None = None
    if database_url is None:
        tmp = tempfile.TemporaryDirectory(prefix="hotline-sim-")
        database_url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'tickets.db'}"
    pbx_config = SimulatorConfig(
        seats=seats,
        speed=speed,
        seed=seed,
        ring_time_s=ring,
        wrapup_s=wrapup,
        ivr=ivr,
        recheck_s=recheck,
    )
    if platform:
        # Erlang-A's figure is of one pool of seats: not of eight queues each with its own
        traffic = dataclasses.replace(traffic, steady=None)
        queues, members = centre_queues(platform, wrapuptime=wrapup)
        pbx_config = dataclasses.replace(
            pbx_config, seats=0, queue=queues[0].name, queues=queues, members=members
        )
    runtime = Runtime(
        settings,
        database_url=database_url,
        simulation=pbx_config,
        overflow=None if overflow else OverflowRules(),
        agi_port=0,  # any free port: a simulation must not collide with a running serve
        # Its own temporary database is deleted at the end: no commit of it needs to wait for
        # the disk. A database the user names (--database-url) keeps full durability.
        durable=tmp is None,
        # Only the simulated operators search the knowledge base: without them, the run is
        # spared jieba's half second of CPU.
        warm_knowledge=operators,
        seats_by_desk=operators,
    )
    started = time.perf_counter()
    api: _Api | None = None
    robots: SimOperators | None = None
    try:
        await runtime.start()
        assert runtime.simulator is not None and runtime.sessions is not None
        if operators:
            api = await _Api.serve(runtime)
            robots = SimOperators(runtime, api.url, breaks_per_hour=breaks_per_hour)
            try:  # before the day begins: in the seats' order, as the gateway did
                await robots.start()
            except RobotRefused as e:
                raise _fail(
                    f"the simulated operators could not sign in: {e} (--no-operators logs "
                    "the seats in through the gateway instead)"
                ) from None
        runtime.simulator.begin_day(day_start)
        if robots is not None:
            robots.begin_breaks()
        done = runtime.simulator.run_traffic(traffic.spec)
        show = progress and (sys.stderr.isatty() or os.environ.get("HOTLINE_PROGRESS") == "1")
        await _follow(runtime, done, traffic.expected_calls, show)
        pbx_view = done.result()
        await runtime.settle()
        if robots is not None:  # what they were still writing is handed in
            await robots.drain()
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
        if platform:
            extra["centres"] = _by_district(runtime, platform)
            extra["overflowed"] = int(
                sum(
                    s.value
                    for m in runtime.ivr_metrics.overflowed.collect()
                    for s in m.samples
                    if s.name.endswith("_total")
                )
            )
        return {
            "calls": pbx_view["arrived"],
            "served_by_ivr": pbx_view.get("served_by_ivr", 0),
            "offered": totals.offered,
            "answered": totals.answered,
            "abandoned": totals.abandoned,
            "waiting": waiting,
            "answer_rate": rounded(totals.answer_ratio, 4),
            "mean_wait_s": rounded(totals.mean_wait_s, 2),
            "instant_resolution_rate": (
                round(runtime.controller.instant_resolution_ratio, 4)
                if runtime.controller.calls_ended
                else None  # not defined before an answered call has ended
            ),
            "tickets": tickets,
            "rated": rated,
            "elapsed_s": round(time.perf_counter() - started, 2),
            # who decided the answered calls' tickets: the simulated operators' submissions
            # over the API, or (at a seat with no one) the fallback model
            "operators": robots.counts.signed_in if robots is not None else 0,
            "submitted_by_operators": robots.counts.submitted if robots is not None else 0,
            "decided_by_fallback": runtime.desk.fallback_decisions,
            "operator_breaks": robots.counts.breaks if robots is not None else 0,
            **extra,
        }
    finally:
        if robots is not None:
            await robots.stop()  # they sign out through the API, which is still up
        if api is not None:
            await api.stop()
        await runtime.stop()
        if tmp is not None:
            tmp.cleanup()


def _centre_seats(
    settings: Settings, traffic: SimTraffic, seats: int, fixed: Mapping[str, int]
) -> dict[str, int]:
    """Seats per centre queue, the city centre's first: ``seats`` shared out by the traffic
    model's district shares, ``fixed`` on top; :class:`SimulationError` naming what is wrong."""
    plan = traffic.spec.plan
    if plan is None:
        raise _fail("--centres needs --profile: the traffic model draws each caller's district")
    try:
        menus = load_menus(settings.config_dir)
    except ConfigError as e:
        raise SimulationError("\n".join(str(p) for p in e.problems)) from None
    keys, cum = next(((k, w) for m, k, w in plan.ivr if m == "district"), ((), ()))
    if not keys:
        raise _fail("--centres: the traffic model has no district shares (ivr.district)")
    weights = [b - a for a, b in zip((0.0, *cum[:-1]), cum, strict=True)]
    shares: dict[str, float] = {}
    for district, w in zip(keys, weights, strict=True):
        d = menus.districts.get(district)
        if d is None:
            raise _fail(f"--centres: district {district!r} of traffic.yaml is not in ivr.yaml")
        shares[d.queue] = shares.get(d.queue, 0.0) + w
    unknown = sorted(set(fixed) - set(shares))
    if unknown:
        raise _fail(
            f"--centre-seats: {', '.join(unknown)} is no centre's queue; known: {', '.join(shares)}"
        )
    city = menus.districts["city"].queue if "city" in menus.districts else next(iter(shares))
    split = split_seats(seats, shares, fixed)
    return {city: split[city], **{q: n for q, n in split.items() if q != city}}


def _by_district(runtime: Any, seats: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Of each district's callers (as the traffic model drew them) who reached a queue: how
    many, how many an operator answered, and the answer rate (answered / reached)."""
    menus = app_of(runtime.agi).menus
    out: dict[str, dict[str, Any]] = {}
    for name, d in menus.districts.items():
        out[name] = {"queue": d.queue, "seats": seats.get(d.queue, 0), "offered": 0, "answered": 0}
    for stream in runtime.simulator.streams:
        for rec in stream.records:
            row = out.get(rec.ivr_choice.get("district", "city"))
            if row is None or rec.outcome not in ("answered", "abandoned"):
                continue
            row["offered"] += 1
            row["answered"] += rec.outcome == "answered"
    for row in out.values():
        row["answer_rate"] = round(row["answered"] / row["offered"], 4) if row["offered"] else None
    return out


class _QuietServer(uvicorn.Server):
    """uvicorn in a process that has its own way to stop: Ctrl-C stops the simulation, not
    only its API."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(slots=True)
class _Api:
    """The process's own app on a free 127.0.0.1 port, for its simulated operators."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    @classmethod
    async def serve(cls, runtime: Any) -> _Api:
        from hotline.app import create_app

        server = _QuietServer(
            uvicorn.Config(
                create_app(runtime),
                host="127.0.0.1",
                port=0,
                log_level="warning",
                ws="websockets-sansio",
                lifespan="off",
            )
        )
        task = asyncio.ensure_future(server.serve())
        while not server.started:
            if task.done():  # it could not start: say why
                task.result()
                raise RuntimeError("the API of the simulated operators did not start")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        return cls(server, task, f"http://127.0.0.1:{port}")

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


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
