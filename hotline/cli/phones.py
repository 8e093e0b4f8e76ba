"""``hotline phones``: real SIP phones (pyVoIP, :mod:`pbx.phones`) against a real Asterisk:
seats that answer when the queue rings them, and callers that dial the hotline, press keys
in the IVR and hang up when their patience runs out.

Secrets come from the environment only: ``HOTLINE_SIP_SECRETS`` (``peer=secret,...``), or
``HOTLINE_SIP_SECRET`` for every peer. With ``--queue`` the seats are also added to that queue
as ``SIP/<peer>`` over ``HOTLINE_AMI_URL`` (the backend's operators would do this by logging
in; here it saves a step when trying things out).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
from typing import Annotated

import typer

__all__ = ["expand_peers", "phones", "secrets_for"]


def expand_peers(spec: str) -> list[str]:
    """``seat8001..seat8003,caller1`` -> the peer names.

    >>> expand_peers("seat8001..seat8003, caller1")
    ['seat8001', 'seat8002', 'seat8003', 'caller1']
    """
    out: list[str] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = re.fullmatch(r"(\D*)(\d+)\.\.\1(\d+)", part)
        if m:
            width = len(m[2])
            out += [f"{m[1]}{n:0{width}d}" for n in range(int(m[2]), int(m[3]) + 1)]
        else:
            out.append(part)
    return out


def secrets_for(peers: list[str], env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    listed = {}
    for item in filter(None, env.get("HOTLINE_SIP_SECRETS", "").split(",")):
        peer, _, secret = item.partition("=")
        listed[peer.strip()] = secret.strip()
    common = env.get("HOTLINE_SIP_SECRET")
    missing = [p for p in peers if p not in listed and common is None]
    if missing:
        raise typer.BadParameter(
            f"no SIP secret for {', '.join(missing)}: set HOTLINE_SIP_SECRETS=peer=secret,... "
            "or HOTLINE_SIP_SECRET"
        )
    return {p: listed.get(p, common or "") for p in peers}


async def _add_to_queue(queue: str, peers: list[str]) -> None:
    from config.settings import Settings
    from pbx.ami import AmiActionError, AmiLink
    from pbx.gateway import AmiGateway

    target = Settings().ami
    if target is None:
        raise typer.BadParameter("--queue needs HOTLINE_AMI_URL")
    link = AmiLink(
        host=target.host,
        port=target.port,
        username=target.username,
        secret=target.secret,
        on_event=lambda e: None,
    )
    await link.connect()
    try:
        gw = AmiGateway(link)
        for peer in peers:
            iface = f"SIP/{peer}"
            try:
                await gw.add_member(queue, iface, member_name=peer, state_interface=iface)
            except AmiActionError as e:
                if "Already there" not in e.message:
                    raise
    finally:
        await link.close()


def phones(
    seats: Annotated[str, typer.Option(help="seat peers, e.g. seat8001..seat8010")] = "",
    callers: Annotated[str, typer.Option(help="caller peers that dial the hotline")] = "",
    server: Annotated[str, typer.Option(help="Asterisk's SIP address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Asterisk's SIP port")] = 5060,
    my_ip: Annotated[str, typer.Option(help="address the phones use")] = "127.0.0.1",
    calls: Annotated[int, typer.Option(min=0, help="calls the callers place")] = 0,
    calls_per_minute: Annotated[float, typer.Option(min=0.01)] = 6.0,
    number: Annotated[str, typer.Option(help="what the callers dial")] = "12345",
    keys: Annotated[str, typer.Option(help="keys pressed in the IVR, 1 s apart")] = "",
    talk_mean: Annotated[float, typer.Option(min=0.1, help="seats' mean talk, s")] = 20.0,
    patience_mean: Annotated[float, typer.Option(min=0.1, help="callers' mean, s")] = 60.0,
    ring: Annotated[float, typer.Option(min=0.0, help="seats ring this long, s")] = 1.0,
    duration: Annotated[float | None, typer.Option(help="run this long, s")] = None,
    queue: Annotated[str | None, typer.Option(help="QueueAdd the seats here")] = None,
    rtp_base: Annotated[int, typer.Option(help="first RTP port of the phones")] = 41000,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run SIP phones (pyVoIP) as seats and callers against a real Asterisk, then print
    a JSON summary. Seats alone run until Ctrl-C (or --duration)."""
    from pbx.phones import run_phones

    seat_peers, caller_peers = expand_peers(seats), expand_peers(callers)
    if not seat_peers and not caller_peers:
        raise typer.BadParameter("give --seats and/or --callers")
    secret = secrets_for(seat_peers + caller_peers)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if queue and seat_peers:
        # registered first, so that the members are not unavailable when added
        def add_later() -> None:
            stop.wait(2.0)
            asyncio.run(_add_to_queue(queue, seat_peers))

        threading.Thread(target=add_later, daemon=True).start()
    result = run_phones(
        server,
        port,
        seats={p: secret[p] for p in seat_peers},
        callers={p: secret[p] for p in caller_peers},
        calls=calls,
        calls_per_minute=calls_per_minute,
        number=number,
        keys=keys,
        talk_mean_s=talk_mean,
        patience_mean_s=patience_mean,
        ring_s=ring,
        duration_s=duration,
        my_ip=my_ip,
        rtp_base=rtp_base,
        seed=seed,
        stop=stop,
    )
    print(json.dumps(result, ensure_ascii=False), flush=True)
