"""The AMI link: the one module that knows panoramisk.

panoramisk's ``Manager`` gives us the connection, the login, the keep-alive ``Ping`` and actions
as futures. Its byte handling is replaced by our codec (``pbx.codec``): panoramisk 1.4 decodes
each TCP read on its own (a Chinese caller name split across two reads loses bytes) and drops
LF-only frames. Events that answer no pending action take a fast path straight to the typed
translation (``pbx.events``); responses, and the list events of a pending action
(``QueueStatus``...), go to panoramisk's action futures.

Every action has a timeout and ends in a result or a typed error, never a hang:

* :class:`AmiNotConnected`: sent while the link is down. Actions fail fast; none is queued for
  later (a pause or a transfer replayed minutes later would do harm).
* :class:`AmiActionError`: Asterisk answered ``Response: Error``; carries its ``Message``.
* :class:`AmiTimeout`: no answer within the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from pbx import events as ev
from pbx.codec import AmiCodec, Banner, Frame, Rejected, encode_message

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiError",
    "AmiLink",
    "AmiNotConnected",
    "AmiTimeout",
]

log = logging.getLogger(__name__)


class AmiError(Exception):
    """Base of every error an AMI action can end in."""


class AmiNotConnected(AmiError):
    def __init__(self, action: str) -> None:
        super().__init__(f"AMI link is down: {action} not sent")
        self.action = action


class AmiTimeout(AmiError):
    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(f"AMI action {action} got no answer within {timeout:g} s")
        self.action = action


class AmiActionError(AmiError):
    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"Asterisk refused {action}: {message}")
        self.action = action
        self.message = message


class AmiAuthError(AmiError):
    def __init__(self, username: str, message: str) -> None:
        super().__init__(f"AMI login as {username!r} refused: {message}")


class _CodecProtocol(AMIProtocol):
    """panoramisk's protocol with our codec in place of its ``data_received``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._codec = AmiCodec("client")

    def data_received(self, data: bytes) -> None:
        self._codec.feed(data)
        if self.factory is None:
            # The banner can arrive before panoramisk's Manager has adopted this protocol;
            # its frames wait in the codec until the next read (the Login's answer).
            return
        link: AmiLink = self.factory.link
        responses = self.responses
        for item in self._codec.frames():
            if type(item) is Frame:
                h = item.headers
                if "Event" in h and h.get("ActionID") not in responses:
                    link._event_frame(item)
                    continue
                message = Message(h)
                if "Event" in h and h["Event"] == "Shutdown":
                    link._event_frame(item)
                self.handle_message(message)
            elif type(item) is Banner:
                self.version = item.version
            else:
                link._rejected(item)  # type: ignore[arg-type]


class AmiLink:
    """A logged-in AMI connection that turns Asterisk's events into domain events.

    ``on_event`` gets every translated :mod:`pbx.events` event, in wire order.
    ``on_rejected(reason)`` is told of every frame that could not be used (for a counter).
    ``on_ready`` runs (as a task) after every (re)login once Asterisk is fully booted: the place
    to resync state.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        on_event: Callable[[ev.DomainEvent], None],
        on_rejected: Callable[[str], None] = lambda reason: None,
        on_ready: Callable[[], Any] | None = None,
        now: Callable[[], float] = time.time,
        action_timeout: float = 5.0,
        ping_interval: int = 10,
    ) -> None:
        self.username = username
        self._on_event = on_event
        self._on_rejected_cb = on_rejected
        self._on_ready = on_ready
        self._now = now
        self.action_timeout = action_timeout
        self._logged_in = False
        self._closing = False
        self._login_result: asyncio.Future[bool] | None = None
        self._ready_task: asyncio.Task[Any] | None = None
        self._login_event = asyncio.Event()
        self._rejected_logged: set[str] = set()
        self.events_received = 0
        self.manager = Manager(
            host=host,
            port=port,
            username=username,
            secret=secret,
            events="on",
            encoding="utf8",
            ping_delay=ping_interval,
            ping_interval=ping_interval,
            protocol_factory=_CodecProtocol,
            on_login=self._logged_in_cb,
            on_disconnect=self._disconnected_cb,
            log=log,
        )
        self.manager.link = self

    # -- connection -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        proto = self.manager.protocol
        return self._logged_in and proto is not None and not proto.closed

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect and log in; raise :class:`AmiAuthError` if the secret is refused and
        ``OSError``/:class:`AmiTimeout` if Asterisk cannot be reached."""
        loop = asyncio.get_running_loop()
        self.manager.loop = loop
        self._login_result = loop.create_future()
        task = self.manager.connect()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
            transport_ok = task.exception() is None
            if not transport_ok:
                raise task.exception()  # type: ignore[misc]
            auth = self.manager.authenticated_future
            if auth is None:
                raise AmiError("panoramisk sent no Login")
            resp = await asyncio.wait_for(asyncio.shield(auth), timeout)
        except TimeoutError:
            self.manager.close()
            raise AmiTimeout("Login", timeout) from None
        if not resp.success:
            self._closing = True
            self.manager.close()
            raise AmiAuthError(self.username, str(resp.get("Message", "refused")))
        await asyncio.wait_for(asyncio.shield(self._login_result), timeout)

    def _logged_in_cb(self, manager: Manager) -> None:
        self._logged_in = True
        self._login_event.set()
        log.info("AMI logged in as %s", self.username)
        if self._login_result is not None and not self._login_result.done():
            self._login_result.set_result(True)

    def _disconnected_cb(self, manager: Manager, exc: object) -> None:
        self._logged_in = False
        self._login_event.clear()
        if not self._closing:
            log.warning("AMI link lost; panoramisk reconnects")

    async def close(self) -> None:
        self._closing = True
        self._logged_in = False
        if self._ready_task is not None:
            self._ready_task.cancel()
        # Stop panoramisk from reconnecting: it reconnects on connection_lost.
        self.manager.connection_lost = lambda exc: None  # type: ignore[method-assign]
        self.manager.close()

    # -- incoming -------------------------------------------------------------------------
    def _event_frame(self, frame: Frame) -> None:
        self.events_received += 1
        try:
            event = ev.translate(frame, self._now())
        except ev.BadEvent as e:
            self._rejected(Rejected("bad_event", str(e)))
            return
        if event is None:
            return
        if type(event) is ev.FullyBooted and self._on_ready is not None:
            self._ready_task = asyncio.ensure_future(self._ready())
        self._on_event(event)

    async def _ready(self) -> None:
        """Asterisk is fully booted: once the login's answer is processed (it arrives in the
        same read as ``FullyBooted``), run ``on_ready``. A failure is logged, not lost."""
        try:
            await asyncio.wait_for(self._login_event.wait(), self.action_timeout)
            assert self._on_ready is not None
            await self._on_ready()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resync after login failed")

    def _rejected(self, item: Rejected) -> None:
        self._on_rejected_cb(item.reason)
        if item.reason not in self._rejected_logged:
            self._rejected_logged.add(item.reason)
            log.warning(
                "AMI frame rejected (%s): %s; further ones are only counted",
                item.reason,
                item.detail,
            )

    # -- actions --------------------------------------------------------------------------
    async def send(self, action: Mapping[str, str], *, as_list: bool = False) -> list[Frame]:
        """Send one action; return its response (and, for list actions, the list events and
        the ``...Complete`` event) as frames."""
        name = action["Action"]
        encode_message(action)  # raises ValueError on a header that would break framing
        if not self.connected:
            raise AmiNotConnected(name)
        fut = self.manager.send_action(dict(action), as_list=as_list)
        try:
            result = await asyncio.wait_for(fut, self.action_timeout)
        except TimeoutError:
            raise AmiTimeout(name, self.action_timeout) from None
        messages = result if isinstance(result, list) else [result]
        frames = [Frame({k: v for k, v in m.items() if k != "content"}) for m in messages]
        first = frames[0]
        if first.response not in ("Success", "Follows", "Goodbye"):
            raise AmiActionError(name, first.get("Message", first.response or "no response"))
        return frames

    async def ping(self) -> None:
        await self.send({"Action": "Ping"})

    async def queue_status(self, queue: str | None = None) -> list[ev.DomainEvent | Frame]:
        """``QueueStatus``: members as :class:`pbx.events.MemberStatus`, waiting callers as
        ``QueueEntry`` frames (headers ``Queue``, ``Uniqueid``, ``CallerIDNum``, ``Wait``...)."""
        action = {"Action": "QueueStatus"}
        if queue:
            action["Queue"] = queue
        frames = await self.send(action, as_list=True)
        now = self._now()
        out: list[ev.DomainEvent | Frame] = []
        for f in frames[1:]:
            if f.event == "QueueMember":
                try:
                    translated = ev.translate(f, now)
                except ev.BadEvent as e:
                    self._rejected(Rejected("bad_event", str(e)))
                    continue
                if translated is not None:
                    out.append(translated)
            elif f.event in ("QueueEntry", "QueueParams"):
                out.append(f)
        return out
