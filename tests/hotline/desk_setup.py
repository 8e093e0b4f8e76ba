"""What the end-to-end tests of the operator's desk share: the app on a real uvicorn (the
live stream is a WebSocket), and a caller with earlier tickets for the screen pop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from config.settings import Settings
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig
from tickets.service import TicketDraft, create_tickets

SEAT = "Local/8001@agents/n"
CALLER = "13812345678"


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """``app`` on 127.0.0.1 at a free port: the server, its task and the port."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio")
    )
    task = asyncio.ensure_future(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def earlier_tickets(rt: Runtime) -> None:
    """Two tickets of :data:`CALLER`: a complaint 60 days ago, a report 3 days ago (so the
    caller is a repeat caller)."""
    now = datetime.fromtimestamp(rt.now(), UTC)
    old = [
        TicketDraft(
            caller_num=CALLER,
            caller_name="张伟",
            queue="hotline",
            seat="Local/8002@agents/n",
            linkedid=f"1700000000.{i}",
            call_uniqueid=f"1700000000.{i}",
            joined_at=now - timedelta(days=days),
            answered_at=now - timedelta(days=days),
            ended_at=now - timedelta(days=days) + timedelta(minutes=3),
            kind=kind,
            resolved_on_call=False,
        )
        for i, (days, kind) in enumerate([(60, "complaint"), (3, "report")])
    ]
    async with rt.sessions() as s:
        await create_tickets(s, old)


async def place_call(rt: Runtime, *, caller_id: str, talk_s: int) -> None:
    """The embedded PBX's simulated caller rings the hotline from ``caller_id`` and talks
    ``talk_s`` (simulated) seconds once answered; patient enough never to hang up waiting."""
    assert rt.gateway is not None
    await rt.gateway.originate(
        "Local/12345@callers/n",
        context="caller-sim",
        exten="s",
        caller_id=caller_id,
        variables={"TALK": str(talk_s), "PATIENCE": "600"},
    )


def desk_runtime(tmp_path: Path) -> Runtime:
    """``hotline serve``'s runtime on the embedded PBX (one seat, :data:`SEAT`, 20x time,
    through our IVR) and a SQLite store in ``tmp_path``; the draft sweeper left idle."""
    return Runtime(
        Settings(_env_file=None, spool_dir=tmp_path / "spool", draft_sweep_s=3600.0),
        database_url=f"sqlite:///{tmp_path / 'desk.db'}",
        simulation=SimulatorConfig(seats=1, speed=20.0, seed=5, ivr=True),
        agi_port=0,
    )
