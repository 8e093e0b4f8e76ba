"""The FastAGI server: a thin asyncio adapter around :mod:`ivr.engine` and :mod:`pbx.agi`.

One connection is one call. The server reads the ``agi_*`` environment, then alternates:
send one command, read its answer, ask the engine for the next; effects (the caller's
context, a ticket lookup, a survey answer) go to the :class:`IvrDeps` given at start. It
stops when the engine finishes, when Asterisk says ``HANGUP`` or answers 511, when the
connection closes (EOF is a hang-up, never a loop), or when an answer does not come in time;
each way it closes the socket and forgets the session.

Wiring (``hotline/runtime.py``)::

    from ivr.metrics import register_ivr_metrics
    from ivr.server import DbIvrDeps, start_agi_server, stop_agi_server
    ivr_metrics = register_ivr_metrics(self.registry)
    self.agi = await start_agi_server(
        "0.0.0.0", settings.agi_port,
        DbIvrDeps(self.sessions, now=lambda: self.now()),
        config_dir=settings.config_dir, metrics=ivr_metrics,
    )
    ...
    await stop_agi_server(self.agi)          # in stop(), before disposing the engine
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from config.centres import DEFAULT_CENTRE
from ivr.engine import (
    AgiCommand,
    AnnouncementInfo,
    CallInfo,
    ChooseQueue,
    Context,
    EffectDone,
    EffectFailed,
    Finish,
    LoadContext,
    LookupTicket,
    QueueChoice,
    RecordCallback,
    RecordSurvey,
    TicketInfo,
    TicketResult,
    next_step,
    start,
)
from ivr.menus import Menus, load_menus
from ivr.metrics import IvrMetrics
from pbx.agi import AgiDecoder, AgiEnv, AgiProtocolError, AgiReply, HangupNotice
from routing.overflow import Overflower

__all__ = [
    "DbIvrDeps",
    "IvrApp",
    "IvrDeps",
    "StaticDeps",
    "start_agi_server",
    "stop_agi_server",
]

log = logging.getLogger(__name__)


class IvrDeps(Protocol):
    """What the IVR needs from the rest of the backend (all may raise: the IVR copes)."""

    async def context(self, caller: str, district: str | None) -> Context: ...

    async def lookup_ticket(self, number: str, caller: str) -> TicketInfo | None: ...

    async def record_satisfaction(self, linkedid: str, score: int) -> str: ...

    async def record_callback(self, ticket: str, score: int) -> str: ...


class StaticDeps:
    """In-memory dependencies, for tests, the benchmark and a backend without a database."""

    def __init__(
        self,
        *,
        announcements: list[AnnouncementInfo] | None = None,
        tickets: dict[str, tuple[str, str]] | None = None,  # number -> (caller, status)
        now: Callable[[], float] = time.time,
    ) -> None:
        self.announcements = announcements or []
        self.tickets = tickets or {}
        self.now = now
        self.surveys: dict[str, int] = {}
        self.callbacks: dict[str, int] = {}

    async def context(self, caller: str, district: str | None) -> Context:
        open_ = [
            TicketInfo(n, st)
            for n, (c, st) in self.tickets.items()
            if caller and c == caller and st != "resolved"
        ]
        return Context(
            datetime.fromtimestamp(self.now(), UTC),
            tuple(self.announcements),
            open_[-1] if open_ else None,
        )

    async def lookup_ticket(self, number: str, caller: str) -> TicketInfo | None:
        found = self.tickets.get(number)
        if found is None or not caller or found[0] != caller:
            return None
        return TicketInfo(number, found[1])

    async def record_satisfaction(self, linkedid: str, score: int) -> str:
        self.surveys[linkedid] = score
        return "applied"

    async def record_callback(self, ticket: str, score: int) -> str:
        self.callbacks[ticket] = score
        return "applied"


class DbIvrDeps:
    """The IVR's dependencies on the ticket store (announcements, tickets, satisfaction).

    Announcements are read at most every ``cache_s`` seconds (one query, not one per call).
    """

    def __init__(  # type: ignore[no-untyped-def]
        self,
        sessions,
        *,
        now: Callable[[], float] = time.time,
        cache_s: float = 5.0,
        centre: str = DEFAULT_CENTRE,
    ):
        self.sessions = sessions
        #: The centre whose Asterisk runs the calls (a survey answer is its call's).
        self.centre = centre
        self.now = now
        self.cache_s = cache_s
        self._cache: tuple[float, list] | None = None  # type: ignore[type-arg]

    async def _announcements(self, at: datetime) -> list:  # type: ignore[type-arg]
        from ivr import service

        t = time.monotonic()
        if self._cache is None or t - self._cache[0] > self.cache_s:
            async with self.sessions() as session:
                rows = await service.active_announcements(session, at)
            self._cache = (t, rows)
        return [a for a in self._cache[1] if a.starts_at <= at < a.ends_at]

    async def context(self, caller: str, district: str | None) -> Context:
        from tickets import service as tickets

        at = datetime.fromtimestamp(self.now(), UTC)
        anns = await self._announcements(at)
        chosen = tuple(
            AnnouncementInfo(a.id, a.sound, a.text)
            for a in anns
            if a.district is None or a.district == (district or "city")
        )
        open_ticket = None
        if caller:
            async with self.sessions() as session:
                found = await tickets.open_ticket_status(session, caller)
            if found is not None:
                open_ticket = TicketInfo(*found)
        return Context(at, chosen, open_ticket)

    async def lookup_ticket(self, number: str, caller: str) -> TicketInfo | None:
        from tickets import service as tickets

        async with self.sessions() as session:
            t = await tickets.get_for_caller(session, number, caller)
        return TicketInfo(t.number, t.status) if t is not None else None

    async def record_satisfaction(self, linkedid: str, score: int) -> str:
        from tickets import service as tickets

        async with self.sessions() as session:
            return await tickets.record_satisfaction(session, linkedid, score, self.centre)

    async def record_callback(self, ticket: str, score: int) -> str:
        from tickets import workflow

        at = datetime.fromtimestamp(self.now(), UTC)
        async with self.sessions() as session:
            return await workflow.record_callback(session, ticket, score, at)


class IvrApp:
    """The sessions of one FastAGI server: the connection handler and what it tracks."""

    def __init__(
        self,
        menus: Menus,
        deps: IvrDeps,
        *,
        metrics: IvrMetrics | None = None,
        env_timeout: float = 10.0,
        answer_timeout: float = 300.0,
        effect_timeout: float = 5.0,
        on_finish: Callable[[str, dict[str, str]], None] | None = None,
        overflow: Overflower | None = None,
    ) -> None:
        self.menus = menus
        #: Overflow between centres: where a caller bound for a queue goes now (None: off).
        self.overflow = overflow
        #: Told ``(linkedid, variables)`` when a session finishes: what the IVR set for the
        #: call (``IVR_QUEUE``, ``IVR_LANG``, ``IVR_MENU``...), for the operator's screen pop.
        self.on_finish = on_finish
        self.deps = deps
        self.metrics = metrics
        self.env_timeout = env_timeout
        self.answer_timeout = answer_timeout
        self.effect_timeout = effect_timeout
        self.writers: set[asyncio.StreamWriter] = set()
        self.finished = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        if self.metrics:
            self.metrics.active.inc()
        menu, exit_ = "start", "error"
        try:
            menu, exit_ = await self._session(reader, writer)
        except (ConnectionError, AgiProtocolError, TimeoutError, asyncio.IncompleteReadError) as e:
            log.info("FastAGI session ended early: %s", type(e).__name__)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("FastAGI session failed")
        finally:
            self.writers.discard(writer)
            self.finished += 1
            if self.metrics:
                self.metrics.active.dec()
                self.metrics.finished(menu, exit_)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, str]:
        decoder = AgiDecoder()
        items: deque[object] = deque()

        async def read_item(timeout: float) -> object:
            if items:  # already read: no wait, so no timeout to arm
                return items.popleft()
            async with asyncio.timeout(timeout):
                while not items:
                    data = await reader.read(4096)
                    if not data:
                        return HangupNotice()  # the connection closed: the channel is gone
                    items.extend(decoder.feed(data))
            return items.popleft()

        env = await read_item(self.env_timeout)
        if not isinstance(env, AgiEnv):
            raise AgiProtocolError("the connection did not start with the agi_ environment")
        call = CallInfo.from_env(env)
        queues = self.overflow.queues if self.overflow is not None else frozenset()
        state, cmd = start(self.menus, call, queues)
        hist = self.metrics.command_seconds if self.metrics else None
        while not isinstance(cmd, Finish):
            answer: object
            if isinstance(cmd, AgiCommand):
                if decoder.hungup:
                    answer = HangupNotice()
                else:
                    writer.write(cmd.line)
                    t0 = time.perf_counter()
                    answer = await read_item(self.answer_timeout)
                    if hist is not None:
                        hist.observe(time.perf_counter() - t0)
                    if not isinstance(answer, AgiReply | HangupNotice):
                        raise AgiProtocolError(f"unexpected {type(answer).__name__}")
            else:
                answer = await self._effect(cmd)
            state, cmd = next_step(state, answer)  # type: ignore[arg-type]
        moved_from = cmd.variables.get("IVR_OVERFLOW_FROM", "")
        if self.metrics and moved_from and cmd.exit in ("queue", "fallback"):
            self.metrics.overflowed.labels(
                from_queue=moved_from,
                to_queue=cmd.variables.get("IVR_QUEUE", ""),
                reason=cmd.variables.get("IVR_OVERFLOW_REASON", ""),
            ).inc()
        if self.on_finish is not None:
            try:
                self.on_finish(call.linkedid, dict(cmd.variables))
            except Exception:
                log.exception("the IVR's on_finish hook failed")
        return cmd.menu, cmd.exit

    async def _effect(self, cmd: object) -> object:
        try:
            async with asyncio.timeout(self.effect_timeout):
                if isinstance(cmd, LoadContext):
                    return await self.deps.context(cmd.caller, cmd.district)
                if isinstance(cmd, LookupTicket):
                    return TicketResult(await self.deps.lookup_ticket(cmd.number, cmd.caller))
                if isinstance(cmd, RecordSurvey):
                    return EffectDone(await self.deps.record_satisfaction(cmd.linkedid, cmd.score))
                if isinstance(cmd, RecordCallback):
                    return EffectDone(await self.deps.record_callback(cmd.ticket, cmd.score))
                if isinstance(cmd, ChooseQueue):
                    moved = self.overflow.choose(cmd.queue) if self.overflow else None
                    if moved is None:
                        return QueueChoice(cmd.queue)
                    return QueueChoice(moved.to_queue, moved.from_queue, moved.reason)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("IVR effect %s failed: %s", type(cmd).__name__, e)
            return EffectFailed(str(e))
        raise TypeError(f"unknown effect {cmd!r}")

    def close_all(self) -> None:
        for w in list(self.writers):
            w.close()


_APPS: weakref.WeakKeyDictionary[asyncio.Server, IvrApp] = weakref.WeakKeyDictionary()


async def start_agi_server(
    host: str,
    port: int,
    deps: IvrDeps,
    *,
    menus: Menus | None = None,
    config_dir: Path | str | None = None,
    metrics: IvrMetrics | None = None,
    answer_timeout: float = 300.0,
    on_finish: Callable[[str, dict[str, str]], None] | None = None,
    overflow: Overflower | None = None,
) -> asyncio.Server:
    """Listen for FastAGI on ``host:port`` (port 0: any free port, see
    ``server.sockets[0].getsockname()``). Menus come from ``menus`` or ``config_dir``
    (default: the shipped ``config/``); an invalid file raises ``ConfigError``.
    ``overflow``: callers move between centres by the live state (:mod:`routing.overflow`)."""
    if menus is None:
        from config.settings import CONFIG_DIR

        menus = load_menus(config_dir or CONFIG_DIR)
    app = IvrApp(
        menus,
        deps,
        metrics=metrics,
        answer_timeout=answer_timeout,
        on_finish=on_finish,
        overflow=overflow,
    )
    server = await asyncio.start_server(app.handle, host, port, limit=256 * 1024, backlog=1024)
    _APPS[server] = app
    return server


def app_of(server: asyncio.Server) -> IvrApp:
    return _APPS[server]


async def stop_agi_server(server: asyncio.Server, timeout: float = 5.0) -> None:
    """Stop listening, close every open session (their callers go on in the dialplan) and
    wait until all are done."""
    server.close()
    app = _APPS.get(server)
    if app is not None:
        app.close_all()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await server.wait_closed()
