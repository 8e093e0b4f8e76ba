"""The embedded PBX's AMI server: Asterisk 20's manager protocol over TCP.

Framing is :class:`pbx.codec.AmiCodec` in the ``server`` role; every response and event is
written with :func:`pbx.codec.encode_message`. One :class:`asyncio.Protocol` per connection, no
task per connection. Texts are Asterisk's (``main/manager.c``, ``apps/app_queue.c``), checked
against the recording ``actions.driver.ami`` in ``tests/recordings``.

Behaviour worth knowing:

* Banner ``Asterisk Call Manager/9.0.0\\r\\n`` (one line, no blank line after it).
* Header names of incoming actions are matched case-insensitively; ``ActionID`` is echoed as
  the second header of the response and as the last header of each list event.
* Before login only ``Login``/``Logoff``/``Challenge`` are allowed (others: ``Permission
  denied``), as in manager.c's ``process_message``. A wrong secret is answered after
  ``auth_fail_delay_s`` real seconds, then the socket is closed; nothing else is read meanwhile.
* ``Events: off`` at login: no asynchronous events (not even ``FullyBooted``), but list events of
  the session's own actions still come. ``Events: call,agent`` keeps those classes only.
* Events are written to each transport's buffer; a reader more than ``max_buffer`` bytes behind
  is disconnected rather than letting memory grow without bound.
* What one turn of the event loop writes to a session (a batch of the PBX's events, answers)
  goes out as one ``transport.write`` at the end of the turn, in order: one system call for
  the batch instead of one per event (the simulated day sends ~85 events per call).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pbx.codec import AmiCodec, Frame, encode_message
from pbx.simulator.core import (
    RES_EXISTS,
    RES_NOSUCHQUEUE,
    RES_NOT_DYNAMIC,
    RES_OKAY,
    PbxCore,
)

if TYPE_CHECKING:
    from pbx.simulator.clock import Clock

__all__ = ["BANNER", "AmiServer", "AmiSession"]

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})
_EVENT_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)


def ast_true(value: str) -> bool:
    return value.strip().lower() in _TRUE


def _event_mask(value: str | None) -> frozenset[str] | None:
    """None = every class; an empty set = no events."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in _TRUE or v == "all":
        return None
    if v in _FALSE or not v:
        return frozenset()
    classes = frozenset(p.strip() for p in v.split(",") if p.strip())
    if "all" in classes:
        return None
    return classes & _EVENT_CLASSES


class AmiSession(asyncio.Protocol):
    """One AMI connection."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.codec = AmiCodec("server")
        self.transport: asyncio.Transport | None = None
        self.authenticated = False
        self._wanted: dict[str, bool] = {}  # privilege -> wants(privilege), for this mask
        self.events = frozenset()  # no events before login
        self.closing = False
        self._variables: list[str] = []
        self._out: list[bytes] = []  # written this turn of the loop, flushed at its end
        self._out_size = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._loop = asyncio.get_event_loop()
        self.server.sessions.add(self)
        transport.write(BANNER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        self.closing = True
        self.transport = None

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.codec.feed(data)
        for item in self.codec.frames():
            if self.closing:
                return
            if isinstance(item, Frame):
                try:
                    self.handle(item)
                except Exception:
                    log.exception("AMI action failed")
                    self._send_error(_actionid(item), "Internal error")

    # -- output ----------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        t = self.transport
        if t is None or self.closing:
            return
        out = self._out
        out.append(data)
        self._out_size += len(data)
        if len(out) == 1:
            assert self._loop is not None
            self._loop.call_soon(self.flush)
        queued = t.get_write_buffer_size() + self._out_size
        if queued > self.server.max_buffer:
            log.warning("AMI reader too slow (%d bytes queued): disconnecting", queued)
            self.closing = True
            out.clear()
            self._out_size = 0
            t.abort()

    def flush(self) -> None:
        """Hand what was written this turn to the transport, as one write."""
        out = self._out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._out_size = 0
        t = self.transport
        if t is not None:
            t.write(data)

    def send(self, headers: dict[str, str]) -> None:
        self.write(encode_message(headers))

    @property
    def events(self) -> frozenset[str] | None:
        """The event classes this session takes (None: every class)."""
        return self._events

    @events.setter
    def events(self, mask: frozenset[str] | None) -> None:
        self._events = mask
        self._wanted.clear()

    def wants(self, privilege: str) -> bool:
        wanted = self._wanted.get(privilege)
        if wanted is None:
            mask = self._events
            if mask is None:
                wanted = True
            else:
                wanted = any(p in mask for p in privilege.split(","))
            self._wanted[privilege] = wanted
        return wanted

    def _response(self, kind: str, aid: str | None, **rest: str) -> dict[str, str]:
        h = {"Response": kind}
        if aid:
            h["ActionID"] = aid
        h.update(rest)
        return h

    def _send_error(self, aid: str | None, message: str) -> None:
        self.send(self._response("Error", aid, Message=message))

    def _send_ack(self, aid: str | None, message: str) -> None:
        self.send(self._response("Success", aid, Message=message))

    def close(self) -> None:
        self.flush()
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Cut the connection (no Goodbye). What was written before still goes out first,
        as it would have from the kernel's buffer when each event was its own write."""
        self.flush()
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    # -- actions -------------------------------------------------------------------------
    def handle(self, frame: Frame) -> None:
        h = {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in frame.headers.items()}
        self._variables = [
            x
            for k, v in frame.headers.items()
            if k.lower() == "variable"
            for x in (v if isinstance(v, list) else [v])
        ]
        action = h.get("action", "").strip()
        aid = h.get("actionid")
        if not action:
            self._send_error(aid, "Missing action in request")
            return
        name = action.lower()
        if not self.authenticated and name not in ("login", "logoff", "challenge"):
            self._send_error(aid, "Permission denied")
            return
        handler: Callable[[dict[str, str], str | None], None] | None = getattr(
            self, "_do_" + name, None
        )
        if handler is None:
            self._send_error(
                aid,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )
            return
        # Bring the PBX up to date before answering, so replies and events stay in time order.
        self.server.clock.run_due()
        handler(h, aid)

    def _do_login(self, h: dict[str, str], aid: str | None) -> None:
        srv = self.server
        if self.authenticated:
            self._send_ack(aid, "Already authenticated")
            return
        if h.get("username", "") != srv.username or h.get("secret", "") != srv.secret:
            self.closing = True  # read nothing more; answer after the delay, then close
            loop = asyncio.get_running_loop()

            def fail() -> None:
                t = self.transport
                if t is None:
                    return
                self.flush()
                t.write(
                    encode_message(self._response("Error", aid, Message="Authentication failed"))
                )
                t.close()

            srv._pending.add(loop.call_later(srv.auth_fail_delay_s, fail))
            return
        self.authenticated = True
        self.events = _event_mask(h.get("events", "on"))
        self._send_ack(aid, "Authentication accepted")
        if self.wants("system"):
            uptime = str(int(max(0.0, srv.clock.now() - srv.started_at)))
            self.send(
                {
                    "Event": "FullyBooted",
                    "Privilege": "system,all",
                    "Uptime": uptime,
                    "LastReload": uptime,
                    "Status": "Fully Booted",
                }
            )

    def _do_logoff(self, h: dict[str, str], aid: str | None) -> None:
        self.send(self._response("Goodbye", aid, Message="Thanks for all the fish."))
        self.close()

    def _do_challenge(self, h: dict[str, str], aid: str | None) -> None:
        self._send_error(aid, "Must specify AuthType")

    def _do_ping(self, h: dict[str, str], aid: str | None) -> None:
        self.send(
            self._response("Success", aid, Ping="Pong", Timestamp=f"{self.server.clock.now():.6f}")
        )

    def _do_events(self, h: dict[str, str], aid: str | None) -> None:
        self.events = _event_mask(h.get("eventmask", "off"))
        self.send(
            self._response("Success", aid, Events="Off" if self.events == frozenset() else "On")
        )

    def _list(
        self, aid: str | None, message: str, items: list[dict[str, str]], complete: str
    ) -> None:
        self.send(self._response("Success", aid, EventList="start", Message=message))
        for item in items:
            if aid:
                item["ActionID"] = aid
            self.send(item)
        done = {"Event": complete}
        if aid:
            done["ActionID"] = aid
        done["EventList"] = "Complete"
        done["ListItems"] = str(len(items))
        self.send(done)

    def _do_queuestatus(self, h: dict[str, str], aid: str | None) -> None:
        items = self.server.core.queue_status(h.get("queue", ""), h.get("member", ""))
        self._list(aid, "Queue status will follow", items, "QueueStatusComplete")

    def _do_queuesummary(self, h: dict[str, str], aid: str | None) -> None:
        items = self.server.core.queue_summary(h.get("queue", ""))
        self._list(aid, "Queue summary will follow", items, "QueueSummaryComplete")

    def _do_queueadd(self, h: dict[str, str], aid: str | None) -> None:
        queue, interface = h.get("queue", ""), h.get("interface", "")
        if not queue:
            self._send_error(aid, "'Queue' not specified.")
            return
        if not interface:
            self._send_error(aid, "'Interface' not specified.")
            return
        try:
            penalty = int(h.get("penalty", "0") or 0)
        except ValueError:
            penalty = 0
        try:
            wrapuptime = int(h.get("wrapuptime", "0") or 0)
        except ValueError:
            wrapuptime = 0
        res = self.server.core.add_member(
            queue,
            interface,
            name=h.get("membername", ""),
            state_interface=h.get("stateinterface", ""),
            penalty=penalty,
            paused=ast_true(h.get("paused", "")),
            reason=h.get("reason", ""),
            wrapuptime=wrapuptime,
        )
        if res == RES_OKAY:
            self._send_ack(aid, "Added interface to queue")
        elif res == RES_EXISTS:
            self._send_error(aid, "Unable to add interface: Already there")
        elif res == RES_NOSUCHQUEUE:
            self._send_error(aid, "Unable to add interface to queue: No such queue")
        else:
            self._send_error(aid, "Out of memory")

    def _do_queueremove(self, h: dict[str, str], aid: str | None) -> None:
        queue, interface = h.get("queue", ""), h.get("interface", "")
        if not queue or not interface:
            self._send_error(aid, "Need 'Queue' and 'Interface' parameters.")
            return
        res = self.server.core.remove_member(queue, interface)
        if res == RES_OKAY:
            self._send_ack(aid, "Removed interface from queue")
        elif res == RES_EXISTS:
            self._send_error(aid, "Unable to remove interface: Not there")
        elif res == RES_NOSUCHQUEUE:
            self._send_error(aid, "Unable to remove interface from queue: No such queue")
        elif res == RES_NOT_DYNAMIC:
            self._send_error(aid, "Member not dynamic")
        else:
            self._send_error(aid, "Out of memory")

    def _do_queuepause(self, h: dict[str, str], aid: str | None) -> None:
        interface, paused_s = h.get("interface", ""), h.get("paused", "")
        if not interface or not paused_s:
            self._send_error(aid, "Need 'Interface' and 'Paused' parameters.")
            return
        paused = ast_true(paused_s)
        ok = self.server.core.pause_member(
            interface, paused, queue=h.get("queue") or None, reason=h.get("reason", "")
        )
        if not ok:
            self._send_error(aid, "Interface not found")
        else:
            self._send_ack(
                aid,
                "Interface paused successfully" if paused else "Interface unpaused successfully",
            )

    # -- channels and the dialplan ---------------------------------------------------------
    def _do_coreshowchannels(self, h: dict[str, str], aid: str | None) -> None:
        items = self.server.core.core_show_channels()
        self.send(self._response("Success", aid, EventList="start", Message="Channels will follow"))
        for item in items:
            out = {"Event": item.pop("Event")}
            if aid:
                out["ActionID"] = aid
            out.update(item)
            self.send(out)
        done = {"Event": "CoreShowChannelsComplete"}
        if aid:
            done["ActionID"] = aid
        done["EventList"] = "Complete"
        done["ListItems"] = str(len(items))
        self.send(done)

    def _do_getvar(self, h: dict[str, str], aid: str | None) -> None:
        var = h.get("variable", "")
        if not var:
            self._send_error(aid, "No variable specified")
            return
        value = self.server.core.getvar(var, h.get("channel") or None)
        if value is None:
            self._send_error(aid, "No such channel")
            return
        self.send(self._response("Success", aid, Variable=var, Value=value))

    def _do_setvar(self, h: dict[str, str], aid: str | None) -> None:
        var = h.get("variable", "")
        if not var:
            self._send_error(aid, "No variable specified")
            return
        if not self.server.core.setvar(var, h.get("value", ""), h.get("channel") or None):
            self._send_error(aid, "No such channel")
            return
        self._send_ack(aid, "Variable Set")

    def _do_hangup(self, h: dict[str, str], aid: str | None) -> None:
        channel = h.get("channel", "")
        if not channel:
            self._send_error(aid, "No channel specified")
            return
        try:
            cause = int(h.get("cause", "0") or 0)
        except ValueError:
            cause = 0
        if not self.server.core.hangup_channel(channel, cause):
            self._send_error(aid, "No such channel")
            return
        self._send_ack(aid, "Channel Hungup")

    def _do_redirect(self, h: dict[str, str], aid: str | None) -> None:
        channel = h.get("channel", "")
        if not channel:
            self._send_error(aid, "Channel not specified")
            return
        try:
            prio = int(h.get("priority", "1") or 1)
        except ValueError:
            self._send_error(aid, f"Invalid priority '{h.get('priority')}'")
            return
        err = self.server.core.redirect(channel, h.get("context", ""), h.get("exten", ""), prio)
        if err:
            self._send_error(aid, err)
        else:
            self._send_ack(aid, "Redirect successful")

    def _do_originate(self, frame_h: dict[str, str], aid: str | None) -> None:
        core = self.server.core
        channel = frame_h.get("channel", "")
        if not channel:
            self._send_error(aid, "Channel not specified")
            return
        context, exten = frame_h.get("context", ""), frame_h.get("exten", "")
        app = frame_h.get("application", "")
        if not app and not core.extension_exists(context, exten):
            self._send_error(aid, "Extension does not exist.")
            return
        variables: dict[str, str] = {}
        for item in self._variables:
            for part in item.split(","):
                if "=" in part:
                    k, v = part.split("=", 1)
                    variables[k.strip()] = v
        is_async = ast_true(frame_h.get("async", ""))
        result: dict[str, dict[str, str]] = {}

        def on_response(resp: dict[str, str]) -> None:
            result["r"] = resp
            if not is_async:
                return
            ev = {"Event": "OriginateResponse", "Privilege": "call,all"}
            ev["Timestamp"] = f"{self.server.clock.now():.6f}"
            if aid:
                ev["ActionID"] = aid
            ev.update(resp)
            core.emit(ev)

        if is_async:
            self._send_ack(aid, "Originate successfully queued")
        core.originate(
            channel,
            context=context,
            exten=exten,
            application=app,
            data=frame_h.get("data", ""),
            callerid=frame_h.get("callerid", ""),
            variables=variables,
            on_response=on_response,
        )
        if not is_async:
            if result.get("r", {}).get("Response") == "Success":
                self._send_ack(aid, "Originate successfully queued")
            else:
                self._send_error(aid, "Originate failed")

    def _do_command(self, h: dict[str, str], aid: str | None) -> None:
        command = h.get("command", "").strip()
        lines = self.server.core.cli(command)
        if lines is None:
            words = command.split()
            self.send(
                self._response(
                    "Error",
                    aid,
                    Message="Command output follows",
                    Output=f"No such command '{command}' (type 'core show help "
                    f"{' '.join(words[:2])}' for other possible commands)",
                )
            )
            return
        self.send(self._response("Success", aid, Message="Command output follows", Output=lines))


def _actionid(frame: Frame) -> str | None:
    for k, v in frame.headers.items():
        if k.lower() == "actionid":
            return v[0] if isinstance(v, list) else v
    return None


class AmiServer:
    """Listens for AMI connections and broadcasts the core's events to logged-in sessions."""

    def __init__(
        self,
        core: PbxCore,
        clock: Clock,
        *,
        username: str,
        secret: str,
        auth_fail_delay_s: float = 1.0,
        max_buffer: int = 64 * 1024 * 1024,
    ) -> None:
        self.core = core
        self.clock = clock
        self.username = username
        self.secret = secret
        self.auth_fail_delay_s = auth_fail_delay_s
        self.max_buffer = max_buffer
        self.sessions: set[AmiSession] = set()
        self.started_at = clock.now()
        self._server: asyncio.Server | None = None
        self._pending: set[asyncio.TimerHandle] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 5038) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: AmiSession(self), host, port)
        return self._server.sockets[0].getsockname()[1]

    def wants(self, privilege: str) -> bool:
        """Whether a logged-in session takes events of this ``Privilege``."""
        for s in self.sessions:
            if s.authenticated and s.wants(privilege):
                return True
        return False

    def broadcast(self, headers: dict[str, str]) -> None:
        """Send one event to every logged-in session that wants its class."""
        if not self.sessions:
            return
        data: bytes | None = None
        privilege = headers.get("Privilege", "")
        for s in list(self.sessions):
            if s.authenticated and s.wants(privilege):
                if data is None:
                    data = encode_message(headers)
                s.write(data)

    async def close(self) -> None:
        for h in self._pending:
            h.cancel()
        self._pending.clear()
        if self._server is not None:
            self._server.close()
        for s in list(self.sessions):
            s.abort()
        self.sessions.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
