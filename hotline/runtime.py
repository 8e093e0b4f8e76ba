"""The composition root's runtime: builds and wires every part, starts them in order and stops
them in reverse. ``hotline serve`` and ``hotline simulate`` both run on it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agents.desk_stream import DeskStreams
from agents.operator import SimulatedOperator
from agents.seat_lifecycle import SeatLifecycle
from agents.seats import SeatChanged
from config.catalogue import load_catalogue
from config.centres import DEFAULT_CENTRE
from config.knowledge import FILE_NAME as KNOWLEDGE_FILE
from config.knowledge import load_starter
from config.overflow import OverflowRules, load_overflow
from config.pause_codes import load_pause_codes
from config.settings import Settings, callback_window
from config.skills import load_skills
from hotline.backfill import Backfill, BackfillReport
from hotline.bus import Bus
from hotline.callback_job import CallbackJob, callback_rules
from hotline.controller import Controller
from hotline.desk import Desk, DeskSettings
from hotline.early_warning_job import EarlyWarningJob, early_warning_job
from hotline.periodic import every
from hotline.queue_log_sink import QueueLogSink
from hotline.supervision_job import SupervisionJob
from ivr.metrics import register_ivr_metrics
from ivr.server import DbIvrDeps, app_of, start_agi_server, stop_agi_server
from knowledge.live import LiveIndex
from knowledge.service import load_starter_articles
from metrics.burst_series import BurstSeries
from metrics.collector import make_registry
from metrics.ticket_series import TicketSeries
from pbx import events as ev
from pbx.ami import AmiAuthError, AmiLink
from pbx.gateway import AmiGateway
from pbx.simulator import CallerInfo, Simulator, SimulatorConfig
from pbx.simulator.agi import run_ivr, typical_caller
from routing.overflow import Overflower, QueueLive
from routing.suggestions import Suggester
from tickets.burst_counts import store_counts
from tickets.db import make_engine, session_factory, upgrade
from tickets.service import TicketDraft
from tickets.spool import Spool
from tickets.workflow import dispatch_choices
from tickets.writer import TicketWriter

__all__ = ["ConfigurationError", "Runtime", "simulator_config"]

log = logging.getLogger(__name__)

#: How simulated callers rate a call in the survey: 1 satisfied, 2 basically, 3 dissatisfied.
SURVEY_WEIGHTS = (80, 15, 5)


def spool_dir_for(base: Path, database_url: str) -> Path:
    """The spool of one database: ``<base>/<12 hex of the URL's hash>``, so that tickets
    spooled for one database are never written into another."""
    digest = hashlib.sha256(database_url.encode("utf-8")).hexdigest()[:12]
    return Path(base) / digest


class ConfigurationError(Exception):
    """The backend cannot run with these settings; the message says which and how to fix it."""


def _login_refused(e: AmiAuthError) -> ConfigurationError:
    return ConfigurationError(
        f"{e}. Asterisk is up but refuses our manager login: check the user and secret of "
        "HOTLINE_AMI_URL against Asterisk's manager.conf"
    )


def simulator_config(settings: Settings) -> SimulatorConfig:
    """The embedded PBX of ``hotline serve``: the ``HOTLINE_SIM_*`` settings that are set,
    over :class:`SimulatorConfig`'s defaults (the only ones); no seed set means a random one."""
    given = {
        "seats": settings.sim_seats,
        "speed": settings.sim_speed,
        "ring_time_s": settings.sim_ring_s,
        "queue": settings.sim_queue,
        "wrapup_s": settings.wrapup_s,
        "service_level_s": settings.service_level_s,
        "seed": settings.sim_seed if settings.sim_seed is not None else secrets.randbelow(2**31),
        # A district's embedded PBX numbers its calls as its Asterisk would (systemname);
        # the default centre's keeps the bare <epoch>.<n> of a single-centre site.
        "systemname": settings.centre if settings.centre != DEFAULT_CENTRE else None,
    }
    return SimulatorConfig(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str | None = None,
        simulation: SimulatorConfig | None = None,
        agi_port: int | None = None,
        durable: bool = True,
        warm_knowledge: bool = True,
        seats_by_desk: bool = False,
        overflow: OverflowRules | None = None,
    ) -> None:
        """``durable=False``: the database is a scratch one (a simulation's temporary file):
        its commits need not survive a power cut, so SQLite does not wait for the disk
        (:func:`tickets.db.make_engine`). ``warm_knowledge=False``: the knowledge base's
        search index is built on its first search instead of at start (a simulation, where
        nobody searches, is spared jieba's half second of CPU). ``seats_by_desk``: the
        embedded PBX's seats are signed in through the desk API by its simulated operators
        (:mod:`hotline.sim_operators`), not logged in through the gateway at start.
        ``overflow``: the rules of overflow between centres (default ``overflow.yaml`` in
        the configuration folder; ``OverflowRules()``: none)."""
        self.settings = settings
        self.durable = durable
        self.warm_knowledge = warm_knowledge
        self.seats_by_desk = seats_by_desk
        self._agi_port = settings.agi_port if agi_port is None else agi_port
        self.agi: asyncio.Server | None = None
        self.database_url = database_url or settings.database_url
        #: The embedded PBX's configuration (used when no HOTLINE_AMI_URL is set).
        self.simulation = simulation or simulator_config(settings)
        self.simulator: Simulator | None = None
        self.engine: AsyncEngine | None = None
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self.writer: TicketWriter | None = None
        self.spool: Spool | None = None
        self.link: AmiLink | None = None
        #: The actions on Asterisk (``pause_member``, ``add_member``, ``originate``, ...) for
        #: domain code; built once the link exists (:meth:`start`).
        self.gateway: AmiGateway | None = None
        #: The embedded PBX's queue_log rows into the database (and HOTLINE_QUEUE_LOG_FILE),
        #: as Asterisk writes them; None with a real Asterisk (it writes its own).
        self.queue_log: QueueLogSink | None = None
        self._stopping = False
        operator = SimulatedOperator(
            resolve_share=settings.instant_resolution_share, seed=settings.operator_seed
        )
        #: The controller's notices; subscribers are registered here and in :meth:`start`.
        self.bus = Bus(on_error=self._subscriber_failed)
        self.now: Callable[[], float] = time.time
        #: The operators' streams and drafts (hotline.desk): it decides for the seats where
        #: someone is signed in, the simulated operator for the others.
        self.desk = Desk(
            DeskStreams(replay=settings.desk_replay),
            simulated=operator,
            sessions=lambda: self.sessions,
            now=lambda: self.now(),
            seat_state=self._seat_state,
            resolution_changed=lambda resolved: self.controller.resolution_changed(resolved),
            settings=DeskSettings(
                earlier_tickets=settings.desk_earlier_tickets,
                repeat_days=settings.repeat_caller_days,
                full_number=settings.desk_full_number,
                wrapup_limit_s=settings.draft_wrapup_limit_s,
                sweep_s=settings.draft_sweep_s,
                presence_grace_s=settings.desk_presence_grace_s,
                centre=settings.centre,
            ),
        )
        pause_codes = load_pause_codes(settings.config_dir)
        self.controller = Controller(
            operator=self.desk,
            wrapup_s=self._wrapup(),
            on_anomaly=self._rejected,
            bus=self.bus,
            service_level_s=settings.service_level_s,
            short_abandon_s=settings.short_abandon_s,
            centre=settings.centre,
            after_call_codes=[c for c, p in pause_codes.codes.items() if p.auto_ready],
        )
        self.desk.subscribe(self.bus)
        #: Gets every byte read from the AMI socket, when set before :meth:`start` (replay
        #: captures).
        self.record_raw: Callable[[bytes], None] | None = None
        self.registry, self.link_metrics = make_registry(
            self.controller, lambda: self.now(), pause_codes=pause_codes.codes
        )
        assert self.link_metrics.live is not None
        self.bus.subscribe(TicketDraft, self.link_metrics.live.ticket_drafted, name="metrics")
        self.ivr_metrics = register_ivr_metrics(self.registry)
        self._logins = 0
        #: The tickets of calls answered while we were away, from the queue_log (built in
        #: :meth:`start`; run after every resync by :meth:`_resynced`).
        self.backfill: Backfill | None = None
        self.supervision: SupervisionJob | None = None
        self.callbacks: CallbackJob | None = None
        self.early_warning: EarlyWarningJob | None = None
        self._backfill_task: asyncio.Task[None] | None = None
        self._backfill_again = False
        #: Calls the live path drafted a ticket for in this process (the backfill leaves them
        #: alone); the newest ones only, insertion-ordered.
        self._drafted: dict[str, None] = {}
        self.bus.subscribe(TicketDraft, self._note_drafted, name="backfill")
        #: Overflow between centres: the IVR asks it, with the controller's live state. The
        #: embedded PBX keeps the rules between queues it has (running one queue, it sends
        #: every district's callers there: no caller is moved, or counted as moved).
        rules = overflow if overflow is not None else load_overflow(settings.config_dir)
        if settings.ami is None:
            has = {q.name for q in self.simulation.queues} or {self.simulation.queue}
            kept = (r for r in rules.rules if r.from_queue in has and r.to_queue in has)
            rules = OverflowRules(tuple(kept))
        self.overflow = Overflower(rules, self._queue_live, lambda: self.now())
        #: The knowledge base's search index (built in a worker thread from :meth:`start`).
        self.knowledge = LiveIndex(lambda: self.sessions)
        #: The departments and matters (config/departments.yaml, config/matters.csv; ConfigError
        #: names file and line) and the routing help over them, built on first use.
        self.catalogue = load_catalogue(settings.config_dir)
        self._routing_base = functools.cache(lambda: Suggester(self.catalogue))
        #: The routing help taught the dispatchers' choices (:meth:`relearn_routing`).
        self._routing_taught: Suggester | None = None
        self._relearn_task: asyncio.Task[None] | None = None
        #: The operators' seats: sign-in, pause with a code, sign-out over the gateway, kept in
        #: the store and put back after each resync (agents.seat_lifecycle).
        self.seat_lifecycle = SeatLifecycle(
            board=self.controller.seats,
            gateway=lambda: self.gateway,
            sessions=lambda: self.sessions,
            now=lambda: self.now(),
            skills=load_skills(settings.config_dir),
            pause_codes=pause_codes,
            auto_pause_rings=settings.seat_auto_pause_rings,
            confirm_timeout_s=settings.seat_confirm_timeout_s,
        )
        self.bus.subscribe(SeatChanged, self.seat_lifecycle.on_seat_changed, name="seats")
        self.bus.subscribe(
            ev.AgentRingNoAnswer, self.seat_lifecycle.on_ring_unanswered, name="auto_pause"
        )

    def _ivr_finished(self, linkedid: str, variables: dict[str, str]) -> None:
        """What the IVR set for a call: for the screen pop, and its queue priority."""
        self.desk.ivr_finished(linkedid, variables)
        self.controller.calls.note_priority(linkedid, variables.get("QUEUE_PRIO", ""))

    def _queue_live(self, queue: str) -> QueueLive:
        """A queue's ready seats and longest wait now, as the controller knows them."""
        now = self.now()
        return QueueLive(
            self.controller.seats.ready_in(queue, now),
            self.controller.calls.longest_wait_s(queue, now),
        )

    def _seat_state(self, interface: str) -> str:
        seat = self.controller.seats.seats.get(interface)
        return seat.state(self.now()) if seat is not None else "logged_out"

    def _wrapup(self) -> float:
        return self.simulation.wrapup_s if self.settings.ami is None else self.settings.wrapup_s

    def _subscriber_failed(self, subscriber: str) -> None:
        self.link_metrics.subscriber_errors.labels(subscriber=subscriber).inc()

    async def start(self) -> None:
        s = self.settings
        m = self.link_metrics
        await upgrade(self.database_url)
        self.engine = make_engine(self.database_url, durable=self.durable)
        self.sessions = session_factory(self.engine, self.settings.centre)
        m.db_up.set(1)
        await self._load_knowledge_starter()
        if self.warm_knowledge:
            self.knowledge.warm()
            # The routing help's index (seconds for a 7,000-matter list), off the event loop,
            # then taught the dispatchers' choices, and again every HOTLINE_ROUTING_RELEARN_S.
            self._relearn_task = asyncio.get_running_loop().create_task(self._relearn_loop())
        self.spool = Spool(spool_dir_for(s.spool_dir, self.database_url))
        self.writer = TicketWriter(
            self.sessions,
            on_written=m.tickets_written.inc,
            on_error=m.ticket_write_errors.inc,
            on_db_up=self._db_up,
            spool=self.spool,
        )
        self.writer.start()
        self.bus.subscribe(TicketDraft, self.writer.submit, name="ticket_writer")
        self.desk.start()
        self.supervision = SupervisionJob(
            lambda: self.sessions,
            self.now,
            {d: url.get_secret_value() for d, url in s.escalation_webhooks.items()},
            interval_s=s.supervision_interval_s,
            timeout_s=s.escalation_timeout_s,
        )
        self.supervision.start()
        self.registry.register(TicketSeries(self.supervision))
        # Tickets are stamped by the database's clock (created_at): the wall clock's windows.
        self.early_warning = early_warning_job(
            s, store_counts(lambda: self.sessions), time.time, self.catalogue
        )
        self.early_warning.start()
        self.registry.register(BurstSeries(self.early_warning))
        if s.callback_channel:
            self.callbacks = CallbackJob(
                lambda: self.sessions,
                lambda: self.gateway,
                self.now,
                channel=s.callback_channel,
                rules=callback_rules(s),
                hours=callback_window(s.callback_hours),
                interval_s=s.callback_interval_s,
            )
            self.callbacks.start()
        self.backfill = Backfill(
            self.sessions,
            source=s.queue_log_source,
            centre=s.centre,
            seen=self._seen_live,
            stale_after_s=s.backfill_stale_after_s,
        )
        await self.seat_lifecycle.load()
        self.seat_lifecycle.start()
        self.agi = await start_agi_server(
            s.agi_host,
            self._agi_port,
            DbIvrDeps(self.sessions, now=lambda: self.now(), centre=s.centre),
            config_dir=s.config_dir,
            metrics=self.ivr_metrics,
            on_finish=self._ivr_finished,
            overflow=self.overflow if self.overflow.queues else None,
        )
        target = s.ami
        if target is None:
            # The traffic model's patience is how long a caller waits in the queue; the
            # operators log in through the gateway (below).
            config = replace(self.simulation, patience_in_queue=True, seats_logged_in=False)
            self.queue_log = QueueLogSink(self.sessions, path=s.queue_log_file)
            self.queue_log.start()
            self.simulator = Simulator(config, queue_log=self.queue_log.write)
            self.controller.defer_guessed_tickets = True
            if config.ivr:
                self.simulator.core.pre_queue = self._simulated_ivr(config.seed)
                self.simulator.core.post_call = self._simulated_survey(config.seed)
            port = await self.simulator.start(host="127.0.0.1", port=0)
            self.now = self.simulator.clock.now
            host, username, secret = "127.0.0.1", config.username, self.simulator.secret
        else:
            host, port, username, secret = target.host, target.port, target.username, target.secret
            await self._check_queue_log_fed()
        self.link = AmiLink(
            host=host,
            port=port,
            username=username,
            secret=secret,
            on_event=self.controller.handle,
            on_rejected=self._rejected,
            on_snapshot=self.controller.reconcile,
            on_resynced=self._resynced,
            on_link=self._link_changed,
            now=lambda: self.now(),
            action_timeout=s.action_timeout_s,
            ping_interval=s.ami_ping_interval_s,
            backoff_base=s.ami_backoff_base_s,
            backoff_cap=s.ami_backoff_cap_s,
            record_raw=self.record_raw,
        )
        self.gateway = AmiGateway(self.link)
        # Asterisk not up yet is an outage (retried with back-off, /readyz 503 meanwhile);
        # a refused login is a configuration error.
        try:
            await self.link.start()
        except AmiAuthError as e:
            raise _login_refused(e) from None
        if (
            self.simulator is not None
            and not self.simulator.config.seats_logged_in
            and not self.seats_by_desk
        ):
            await self._log_in_simulated_operators()

    async def _load_knowledge_starter(self) -> None:
        """The starter articles of ``config/knowledge.yaml`` into an empty knowledge base
        (a base that has articles is left as it is: the API edits it from then on)."""
        assert self.sessions is not None
        if not (self.settings.config_dir / KNOWLEDGE_FILE).exists():
            log.warning(
                "no %s in %s: no starter articles", KNOWLEDGE_FILE, self.settings.config_dir
            )
            return
        starter = load_starter(self.settings.config_dir)  # ConfigError: file, line and fix
        async with self.sessions() as session:
            stored = await load_starter_articles(
                session,
                starter,
                at=datetime.fromtimestamp(self.now(), UTC),
            )
        if stored:
            log.info("knowledge base: %d starter articles loaded", stored)

    async def serve(self, server: Any) -> None:
        """Run ``server`` (a ``uvicorn.Server``) until it stops; if meanwhile the AMI link gives
        up because Asterisk came up and refused the login, stop the server and raise
        :class:`ConfigurationError`."""
        assert self.link is not None
        serving = asyncio.ensure_future(server.serve())
        refused = asyncio.ensure_future(self.link.wait_refused())
        try:
            await asyncio.wait((serving, refused), return_when=asyncio.FIRST_COMPLETED)
            if not serving.done():
                server.should_exit = True
                await serving
                raise _login_refused(refused.result())
            await serving
        finally:
            serving.cancel()
            refused.cancel()

    async def _log_in_simulated_operators(self) -> None:
        """The embedded PBX's operators log in as on a real site: a ``QueueAdd`` of each seat
        through the gateway, once the link is up and before any caller arrives, one after
        the other so that the queue's member order (its ring order) is the seats' order."""
        assert self.simulator is not None and self.gateway is not None
        for seat in self.simulator.seats:
            await self.gateway.add_member(
                seat.queue,
                seat.interface,
                member_name=seat.name,
                state_interface=seat.state_interface,
                penalty=seat.penalty,
            )

    @property
    def agi_port(self) -> int:
        assert self.agi is not None
        return int(self.agi.sockets[0].getsockname()[1])

    def _simulated_ivr(self, seed: int):  # type: ignore[no-untyped-def]
        """The embedded PBX's AGI() step: the simulated caller goes through our own IVR over
        FastAGI, pressing keys as a seeded typical caller would (the same call, the same keys).
        A caller whose traffic model drew a district (``ivr_choice``) chooses it in the menu
        first. A queue the IVR names that the embedded PBX does not have (the district queues
        when it runs one queue) becomes the PBX's own queue."""
        assert self.simulator is not None and self.agi is not None
        queues = self.simulator.core.queues
        default = self.simulation.queue
        menus = app_of(self.agi).menus

        async def pre_queue(info: CallerInfo) -> dict[str, str]:
            rng = random.Random(f"{seed}/ivr/{info.linkedid}")
            district = (info.attrs.get("ivr_choice") or {}).get("district", "")
            way = menus.keys_to_district(district) if district and district != "city" else {}
            caller = typical_caller(rng, way)
            result = await run_ivr("127.0.0.1", self.agi_port, info, caller)
            wanted = result.get("IVR_QUEUE", "")
            result["QUEUE"] = wanted if wanted in queues else default
            return result

        return pre_queue

    def _simulated_survey(self, seed: int):  # type: ignore[no-untyped-def]
        """The embedded PBX's survey after a call the operator ended: the caller answers our
        IVR's ``survey`` script over FastAGI (``agi_arg_1`` = the linkedid), 1 satisfied,
        2 basically satisfied, 3 dissatisfied, drawn from a seeded rng per call."""
        assert self.agi is not None
        question = app_of(self.agi).menus.system_sounds.survey_question.sound

        async def post_call(info: CallerInfo) -> dict[str, str]:
            rng = random.Random(f"{seed}/survey/{info.linkedid}")
            answer = rng.choices("123", weights=SURVEY_WEIGHTS)[0]

            def press(prompt: str) -> str | None:
                return answer if prompt == question else None

            return await run_ivr("127.0.0.1", self.agi_port, info, press, script="survey")

        return post_call

    # -- backfill from the queue_log ---------------------------------------------------------

    #: How many drafted calls :attr:`_drafted` remembers (a busy day is about 14,000).
    DRAFTED_MEMORY = 50_000
    #: Wait before trying a failed backfill again (the database may be down).
    BACKFILL_RETRY_S = 15.0

    def _note_drafted(self, draft: TicketDraft) -> None:
        drafted = self._drafted
        drafted[draft.call_uniqueid] = None
        if len(drafted) > self.DRAFTED_MEMORY:
            del drafted[next(iter(drafted))]

    def _seen_live(self, callid: str) -> bool:
        """Whether the live path owns this call's ticket: talking now, or drafted here."""
        return callid in self._drafted or callid in self.controller.calls.talking

    def _resynced(self) -> object:
        """After every (re)login and resync: the controller settles what it saw, then the
        backfill writes the tickets of the calls it could not see."""
        rep = self.controller.after_resync()
        self.request_backfill()
        if not self._stopping:
            self.seat_lifecycle.request_restore()  # what Asterisk forgot of the seats
        return rep

    def request_backfill(self) -> None:
        """Run the backfill now, or once more after the run in progress."""
        if self.backfill is None or self._stopping:
            return
        if self._backfill_task is not None and not self._backfill_task.done():
            self._backfill_again = True
            return
        self._backfill_task = asyncio.get_running_loop().create_task(self._backfill_loop())

    async def _backfill_loop(self) -> None:
        assert self.backfill is not None and self.writer is not None
        m = self.link_metrics
        while not self._stopping:
            self._backfill_again = False
            try:
                # Drafts of a crashed process (spool) and of this one reach the database
                # before the backfill looks for tickets (hotline.backfill, rule 3).
                await self.writer.drain(timeout=30.0)
                report = await self.backfill.run()
            except Exception as e:  # the database down, most likely: try again later
                m.backfill_runs.labels(result="failed").inc()
                log.warning("backfill from the queue_log failed (%s); retrying", e)
                await asyncio.sleep(self.BACKFILL_RETRY_S)
                self._backfill_again = True
            else:
                self._backfill_done(report)
            if not self._backfill_again:
                return

    async def _check_queue_log_fed(self) -> None:
        """A real Asterisk feeds the queue_log table only when configured to (README, "The
        queue_log in PostgreSQL"); until a row is seen, guessed calls keep their live draft."""
        assert self.backfill is not None
        try:
            fed = await self.backfill.queue_log_fed()
        except Exception:  # the database down at start: the first backfill will tell
            return
        self.controller.defer_guessed_tickets = fed
        if not fed:
            log.warning(
                "the queue_log table is empty: Asterisk does not write its queue_log into "
                'this database (README, "The queue_log in PostgreSQL"); calls answered while '
                "the controller is away cannot get their tickets"
            )

    def _backfill_done(self, report: BackfillReport) -> None:
        if report.rows or report.settled_id:
            self.controller.defer_guessed_tickets = True
        m = self.link_metrics
        m.backfill_runs.labels(result="ok").inc()
        m.backfill_tickets.inc(report.written)
        for reason, n in report.malformed.items():
            m.queue_log_rows_malformed.labels(reason=reason).inc(n)

    async def wait_backfill(self, timeout: float = 60.0) -> BackfillReport | None:
        """Wait for the backfill in progress (if any); its report."""
        task = self._backfill_task
        while task is not None and not task.done():
            await asyncio.wait_for(asyncio.shield(task), timeout)
            task = self._backfill_task
        return self.backfill.last if self.backfill is not None else None

    def _rejected(self, reason: str) -> None:
        self.link_metrics.frames_rejected.labels(reason=reason).inc()

    def _link_changed(self, up: bool) -> None:
        m = self.link_metrics
        m.ami_connected.set(1 if up else 0)
        if up:
            self._logins += 1
            if self._logins > 1:
                m.ami_reconnects.inc()
            log.info(
                "AMI link up and state synced from Asterisk: %d seats, %d waiting",
                len(self.controller.seats.seats),
                sum(len(q) for q in self.controller.calls.waiting.values()),
            )
        elif not self._stopping:  # our own close at shutdown is no outage
            log.warning("AMI link down: /readyz answers 503 until it is back and resynced")

    def _db_up(self, up: bool) -> None:
        self.link_metrics.db_up.set(1 if up else 0)

    @property
    def ami_connected(self) -> bool:
        """Logged in and resynced (what ``/readyz`` asks)."""
        up = self.link is not None and self.link.ready
        self.link_metrics.ami_connected.set(1 if up else 0)
        return up

    async def database_answers(self, timeout: float = 2.0) -> bool:
        if self.engine is None:
            return False
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            self._db_up(False)
            return False
        self._db_up(True)
        return True

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until every event the PBX has sent is applied and every ticket is stored.

        A ``Ping`` answered means every event sent before it has arrived (one TCP stream, in
        order); it is waited for as long as the link keeps delivering (a backlog of events is
        late, not lost: :meth:`pbx.ami.AmiLink.sync`); then the ticket writer is drained.
        """
        assert self.link is not None and self.writer is not None
        await self.link.sync()
        await self.writer.drain(timeout)
        await self.desk.flush()

    def routing_help(self) -> Suggester:
        """The routing help: over the catalogue, taught the dispatchers' choices once they are
        read (:meth:`relearn_routing`)."""
        return self._routing_taught or self._routing_base()

    async def relearn_routing(self) -> int:
        """Teach the routing help the dispatchers' choices in the store (the matter each
        dispatched ticket went as, with its description); the number of choices read."""
        loop = asyncio.get_running_loop()
        base = await loop.run_in_executor(None, self._routing_base)
        if self.sessions is None:
            return 0
        async with self.sessions() as session:
            choices = await dispatch_choices(session, limit=self.settings.routing_choices)
        self._routing_taught = await loop.run_in_executor(None, base.taught, choices)
        return len(choices)

    async def _relearn_loop(self) -> None:
        async def relearn() -> None:
            n = await self.relearn_routing()
            log.info("routing help taught %d dispatchers' choices", n)

        await every(self.settings.routing_relearn_s, relearn, "teaching the routing help", log)

    async def stop(self) -> None:
        self._stopping = True
        if self._relearn_task is not None:
            self._relearn_task.cancel()
        if self._backfill_task is not None:
            self._backfill_task.cancel()
            try:
                await self._backfill_task
            except (asyncio.CancelledError, Exception):
                pass
        await self.knowledge.stop()
        await self.seat_lifecycle.close()
        if self.link is not None:
            await self.link.close()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.queue_log is not None:  # after the PBX: its last rows are in
            await self.queue_log.close()
        if self.agi is not None:
            await stop_agi_server(self.agi)
        if self.supervision is not None:
            await self.supervision.stop()
        if self.callbacks is not None:
            await self.callbacks.stop()
        if self.early_warning is not None:
            await self.early_warning.stop()
        await self.desk.stop()
        if self.writer is not None:
            await self.writer.stop()
        if self.engine is not None:
            await self.engine.dispose()
