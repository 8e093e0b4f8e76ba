"""``hotline serve``: the backend in one process (HTTP API and /metrics, the AMI link, the
FastAGI server of the IVR; without ``HOTLINE_AMI_URL`` also the embedded PBX, its simulated
callers and, unless ``HOTLINE_SIM_OPERATORS=false``, its simulated operators, who sign in and
work through this process's own API once it serves, before the first caller, and sign out
before it stops)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from config.settings import Settings
from hotline.cli.common import err, load_settings, setup_logging

__all__ = ["serve"]


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [HOTLINE_HTTP_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [HOTLINE_HTTP_PORT].")] = None,
    quiet: Annotated[bool, typer.Option(help="Log warnings only.")] = False,
) -> None:
    """Run the backend: HTTP API and /metrics, the AMI link, and (without HOTLINE_AMI_URL) the
    embedded PBX with simulated callers."""
    settings = load_settings()
    setup_logging(not quiet)
    asyncio.run(_serve(settings, host or settings.http_host, port or settings.http_port))


async def _no_users(runtime: Any) -> bool:
    from agents.accounts import list_users
    from hotline.sim_operators import PREFIX

    if runtime.sessions is None:
        return False
    async with runtime.sessions() as session:  # the simulated operators' are no one's
        return not [u for u in await list_users(session) if not u.username.startswith(PREFIX)]


async def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from hotline.app import create_app
    from hotline.runtime import ConfigurationError, Runtime
    from hotline.sim_operators import SimOperators
    from pbx.simulator import TrafficSpec

    robots_on = settings.ami is None and settings.sim_operators
    runtime = Runtime(settings, seats_by_desk=robots_on)
    try:
        await runtime.start()
    except ConfigurationError as e:
        err.print(f"[red]error:[/] configuration error: {e}")
        await runtime.stop()
        raise typer.Exit(2) from None
    except Exception as e:  # a clear line, not a traceback, for the usual start-up failures
        err.print(f"[red]error:[/] could not start: {e}")
        await runtime.stop()
        raise typer.Exit(1) from None
    # What the start made lives as long as the process (modules, configuration, the knowledge
    # base's index, jieba's dictionary): frozen out of the collector's sight, a full collection
    # no longer walks it all, a pause of the event loop of 150+ ms that a screen pop queued
    # behind it waited (bench/desk.py: pop p99 ~13 ms frozen, 50-450 ms not).
    gc.freeze()
    robots: SimOperators | None = None
    unstaffed: list[str] = []

    def start_traffic() -> None:
        if runtime.simulator is None:
            return
        runtime.simulator.run_traffic(
            TrafficSpec(
                calls=None,
                calls_per_hour=settings.sim_calls_per_hour,
                patience_mean_s=settings.sim_patience_mean_s,
                talk_mean_s=settings.sim_talk_mean_s,
            )
        )
        pbx = runtime.simulator.config
        who = (
            f"{robots.counts.signed_in} simulated operators at the desk API"
            if robots is not None
            else "seats logged in through the gateway"
        )
        err.print(
            f"embedded PBX: {pbx.seats} seats ({who}), {settings.sim_calls_per_hour:g} "
            f"calls/h at {pbx.speed:g}x; set HOTLINE_AMI_URL to use a real Asterisk"
        )

    async def staff() -> None:
        """Once the API serves: the simulated operators sign in, then the callers come."""
        nonlocal robots
        if robots_on and runtime.simulator is not None:
            client_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
            robots = SimOperators(
                runtime,
                f"http://{client_host}:{bound}",
                breaks_per_hour=settings.sim_breaks_per_hour,
            )
            try:
                await robots.start()
            except Exception as e:
                unstaffed.append(str(e))
                server.should_exit = True
                return
            robots.begin_breaks()
        start_traffic()

    async def before_shutdown() -> None:
        if robots is not None:  # they sign out through the API, still serving
            await robots.stop()

    server = _server_class()(
        uvicorn.Config(create_app(runtime), host=host, port=port, log_level="warning"),
        on_started=staff,
        before_shutdown=before_shutdown,
    )
    err.print(f"serving on http://{host}:{port} (metrics at /metrics, API docs at /docs)")
    if await _no_users(runtime):
        err.print(
            "no accounts yet: the API answers 401 until you add one, e.g. "
            "`hotline users add admin --role admin`, then POST /api/v1/auth/token"
        )
    try:
        await runtime.serve(server)
    except ConfigurationError as e:
        err.print(f"[red]error:[/] configuration error: {e}")
        raise typer.Exit(2) from None
    finally:
        await runtime.stop()
    if unstaffed:
        err.print(
            f"[red]error:[/] the simulated operators could not sign in: {unstaffed[0]} "
            "(HOTLINE_SIM_OPERATORS=false logs the seats in through the gateway instead)"
        )
        raise typer.Exit(1)


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn with two hooks: ``on_started`` runs once it serves (the simulated
        operators sign in then), ``before_shutdown`` when it is asked to stop, while it
        still serves (they sign out through it)."""

        def __init__(
            self,
            config: uvicorn.Config,
            *,
            on_started: Callable[[], Awaitable[None]],
            before_shutdown: Callable[[], Awaitable[None]],
        ) -> None:
            super().__init__(config)
            self._on_started = on_started
            self._before_shutdown = before_shutdown
            self._staffing: asyncio.Task[None] | None = None

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                self._staffing = asyncio.ensure_future(self._on_started())

        async def shutdown(self, sockets: Any = None) -> None:
            if self._staffing is not None and not self._staffing.done():
                self._staffing.cancel()
            try:
                await self._before_shutdown()
            except Exception as e:  # stopping anyway
                err.print(f"[yellow]warning:[/] {e}")
            await super().shutdown(sockets)

    return Server
