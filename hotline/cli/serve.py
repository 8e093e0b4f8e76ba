"""``hotline serve``: the backend in one process (HTTP API and /metrics, the AMI link, the
FastAGI server of the IVR; without ``HOTLINE_AMI_URL`` also the embedded PBX and its simulated
callers)."""

from __future__ import annotations

import asyncio
import gc
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

    if runtime.sessions is None:
        return False
    async with runtime.sessions() as session:
        return not await list_users(session)


async def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from hotline.app import create_app
    from hotline.runtime import ConfigurationError, Runtime
    from pbx.simulator import TrafficSpec

    runtime = Runtime(settings)
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
    if runtime.simulator is not None:
        runtime.simulator.run_traffic(
            TrafficSpec(
                calls=None,
                calls_per_hour=settings.sim_calls_per_hour,
                patience_mean_s=settings.sim_patience_mean_s,
                talk_mean_s=settings.sim_talk_mean_s,
            )
        )
        pbx = runtime.simulator.config
        err.print(
            f"embedded PBX: {pbx.seats} seats, {settings.sim_calls_per_hour:g} calls/h "
            f"at {pbx.speed:g}x; set HOTLINE_AMI_URL to use a real Asterisk"
        )
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host=host, port=port, log_level="warning")
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
