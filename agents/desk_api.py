"""The operator's live stream over a WebSocket: ``/api/v1/me/stream?after=SEQ``.

Authentication: the access token rides in the ``Sec-WebSocket-Protocol`` header, as the
second of two offered subprotocols, ``bearer`` and the token (a browser's ``new
WebSocket(url, ["bearer", token])``); the server accepts the subprotocol ``bearer``. Not a
``?token=`` query parameter: URLs end up in access logs and proxies' logs, headers do not.
Any signed-in role may listen, to the seat of their own account (``users.seat``).

Refusals are closes right after the accept (a refusal before it would reach the desktop as a
bare HTTP 403), each with a code and a reason that says what to do:

* ``4401``: no token, or a bad or expired one, or a disabled account: sign in again;
* ``4403``: the account has no seat;
* ``4400``: ``after`` is not a non-negative integer;
* ``4408``: the desktop did not keep up (more than :data:`SEND_QUEUE` messages waiting):
  reconnect with ``after`` the last ``seq`` seen.

Then: the messages missed since ``after`` (or, without ``after`` or past the replay buffer,
one ``snapshot`` message), then each new message as it happens, every one a JSON object with
``seq`` and ``kind`` (:mod:`agents.desk_stream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from agents.authentication import Authenticator
from agents.desk_stream import DeskMessage, DeskStreams

__all__ = ["SEND_QUEUE", "SUBPROTOCOL", "make_router"]

SUBPROTOCOL = "bearer"
#: Messages that may wait for a slow desktop before it is told to reconnect.
SEND_QUEUE = 1000


def _token(ws: WebSocket) -> str | None:
    offered = [p.strip() for p in ws.scope.get("subprotocols", [])]
    if len(offered) >= 2 and offered[0].lower() == SUBPROTOCOL:
        return str(offered[1])
    return None


def make_router(auth: Authenticator, streams: DeskStreams, presence: Any) -> APIRouter:
    """``presence``: the composition root's ``attach(who)`` and ``detach(who)`` (a person is
    at the seat while a stream is open) and ``sent(message, at_perf)`` (screen-pop latency)."""
    router = APIRouter()

    @router.websocket("/api/v1/me/stream")
    async def stream(ws: WebSocket) -> None:
        # Accepted first, then closed with a code: a refusal before the accept would reach
        # the desktop as a bare HTTP 403, with no reason to show.
        token = _token(ws)
        await ws.accept(subprotocol=SUBPROTOCOL if token is not None else None)
        if token is None:
            await ws.close(4401, "sign in: offer the subprotocols 'bearer' and the access token")
            return
        try:
            who = await auth.signed_in(token)
        except HTTPException as e:
            await ws.close(4401, str(e.detail)[:120])
            return
        raw_after = ws.query_params.get("after")
        after: int | None = None
        if raw_after is not None:
            if not raw_after.isdigit():
                await ws.close(4400, "after: a non-negative integer, the last seq seen")
                return
            after = int(raw_after)
        if not who.seat:
            await ws.close(4403, f"the account {who.username} has no seat")
            return
        outbox: asyncio.Queue[DeskMessage | None] = asyncio.Queue(SEND_QUEUE)

        def deliver(msg: DeskMessage) -> None:
            try:
                outbox.put_nowait(msg)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueFull):
                    outbox.get_nowait()
                    outbox.put_nowait(None)  # too slow: told to reconnect

        seat = who.seat
        # listen, then resume, with no await in between: nothing falls in the gap
        stop = streams.listen(seat, deliver)
        resumed = streams.resume(seat, after)
        presence.attach(who)
        try:
            if resumed.snapshot_needed:
                await ws.send_text(json.dumps(streams.snapshot(seat), ensure_ascii=False))
            for msg in resumed.missed:
                await ws.send_text(json.dumps(msg.as_json(), ensure_ascii=False))
            receiving = asyncio.ensure_future(_until_closed(ws))
            try:
                while True:
                    getting = asyncio.ensure_future(outbox.get())
                    done, _ = await asyncio.wait(
                        (getting, receiving), return_when=asyncio.FIRST_COMPLETED
                    )
                    if getting not in done:
                        getting.cancel()
                        return
                    live = getting.result()
                    if live is None:
                        await ws.close(4408, "too slow: reconnect with after=<last seq>")
                        return
                    await ws.send_text(json.dumps(live.as_json(), ensure_ascii=False))
                    presence.sent(live)
            finally:
                receiving.cancel()
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            return
        finally:
            stop()
            presence.detach(who)

    return router


async def _until_closed(ws: WebSocket) -> None:
    """Read (and ignore) what the desktop sends, until it closes."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
