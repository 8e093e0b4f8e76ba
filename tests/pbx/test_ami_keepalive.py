"""The keep-alive tells a stalled Asterisk from a flooded one.

A ``Pong`` comes in the one TCP stream after every event Asterisk wrote before it: when the
controller is behind (a flood of events, or this machine short of CPU) it is late, not lost.
Dropping such a link only throws the backlog away to resync and fall behind again (a reconnect
storm under load), so the keep-alive drops a link only when nothing at all arrives for the
action timeout, or after ``flood_patience`` times that in all.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from pbx.ami import AmiLink, AmiTimeout
from pbx.codec import AmiCodec, Frame, encode_message


class FloodingPbx(asyncio.Protocol):
    """Just enough of Asterisk's manager: logs in, answers the resync's lists at once, writes
    an event every ``every`` seconds for ever, and answers ``Ping`` only ``pong_after``
    seconds late (``None``: never)."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.codec = AmiCodec("server")
        self.transport: asyncio.Transport | None = None
        self.flood: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections += 1
        transport.write(b"Asterisk Call Manager/9.0.0\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.flood is not None:
            self.flood.cancel()

    def send(self, headers: dict[str, str]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_message(headers))

    async def _flood(self) -> None:
        n = 0
        while self.transport is not None:
            n += 1
            self.send({"Event": "VarSet", "Privilege": "dialplan,all", "Variable": f"N{n}"})
            await asyncio.sleep(self.server.every)

    def data_received(self, data: bytes) -> None:
        self.codec.feed(data)
        for item in self.codec.frames():
            if not isinstance(item, Frame):
                continue
            action, aid = item.get("Action"), item.get("ActionID")
            if action == "Login":
                self.send(
                    {"Response": "Success", "ActionID": aid, "Message": "Authentication accepted"}
                )
                self.send({"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "100"})
                self.flood = asyncio.ensure_future(self._flood())
            elif action in ("QueueStatus", "CoreShowChannels"):
                self.send({"Response": "Success", "ActionID": aid, "EventList": "start"})
                self.send({"Event": f"{action}Complete", "ActionID": aid, "EventList": "Complete"})
            elif action == "Ping" and self.server.pong_after is not None:
                pong = {"Response": "Success", "ActionID": aid, "Ping": "Pong"}
                asyncio.get_running_loop().call_later(self.server.pong_after, self.send, pong)


class FakeServer:
    def __init__(self, pong_after: float | None, every: float = 0.02) -> None:
        self.pong_after = pong_after
        self.every = every
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: FloodingPbx(self), "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def link(port: int, **kw: float) -> AmiLink:
    return AmiLink(
        host="127.0.0.1",
        port=port,
        username="hotline",
        secret="s",
        on_event=lambda e: None,
        action_timeout=kw.pop("action_timeout", 0.2),
        ping_interval=kw.pop("ping_interval", 0.05),
        backoff_base=0.02,
        backoff_cap=0.05,
        **kw,
    )


async def test_a_flooded_link_whose_pong_is_late_is_kept() -> None:
    pbx = FakeServer(pong_after=0.6)  # 3 times the action timeout, events flowing meanwhile
    port = await pbx.start()
    a = link(port)
    try:
        await a.connect(timeout=3)
        t0 = time.monotonic()
        await a.sync()  # waits for the late Pong: the link is delivering
        assert time.monotonic() - t0 >= 0.5
        await asyncio.sleep(1.5)  # several keep-alive rounds, each answered late
        assert a.ready and a.reconnects == 0 and pbx.connections == 1
        # An ordinary action keeps its fixed timeout: the caller learns it is late.
        with pytest.raises(AmiTimeout):
            await a.ping()
    finally:
        await a.close()
        await pbx.stop()


async def test_a_pong_that_never_comes_drops_the_link_even_while_events_flow() -> None:
    pbx = FakeServer(pong_after=None)
    port = await pbx.start()
    a = link(port, flood_patience=3.0)
    try:
        await a.connect(timeout=3)
        t0 = time.monotonic()
        deadline = t0 + 10.0
        while a.reconnects < 1:
            assert time.monotonic() < deadline, "never dropped"
            await asyncio.sleep(0.02)
        # dropped after flood_patience * action timeout (0.6 s) of a Ping unanswered
        assert time.monotonic() - t0 >= 0.6
    finally:
        await a.close()
        await pbx.stop()


async def test_a_silent_link_is_dropped_after_the_action_timeout() -> None:
    pbx = FakeServer(pong_after=None, every=3600.0)  # one event after login, then nothing
    port = await pbx.start()
    a = link(port, flood_patience=100.0)
    try:
        await a.connect(timeout=3)
        t0 = time.monotonic()
        while a.reconnects < 1:
            assert time.monotonic() - t0 < 5.0, "a silent link was never dropped"
            await asyncio.sleep(0.02)
    finally:
        await a.close()
        await pbx.stop()
