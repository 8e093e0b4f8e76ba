"""An embedded PBX that speaks Asterisk 20's AMI over TCP, with simulated callers and seats.

Use it from a running event loop::

    sim = Simulator(SimulatorConfig(seats=150, speed=120.0, seed=1))
    port = await sim.start(host="127.0.0.1", port=0)
    await sim.run_traffic(TrafficSpec(calls=3000, hours=1.0))
    await sim.stop()

Layout, the pure core first (no sockets, no asyncio; every change an AMI event):

* :mod:`.config` -- :class:`SimulatorConfig`, the one configuration; queues and members;
* :mod:`.clock` -- the :class:`~.clock.Clock` protocol and the scaled clock;
  :mod:`.desclock` -- the discrete-event clock;
* :mod:`.model` -- channels, queues, members, devices, callers;
* :mod:`.queue_log_rows` -- Asterisk's queue_log rows, to an optional hook;
* :mod:`.core` -- :class:`~.core.PbxCore`, assembled from :mod:`.event_builder` (the AMI
  events), :mod:`.members` (member management, availability), :mod:`.queue_app` (join, turn,
  ring), :mod:`.queue_outcomes` (answer, hang up, abandon, time out), :mod:`.agi_steps` (IVR
  and survey, as requests), :mod:`.actions` (Originate, Redirect, Hangup, Get/Setvar) and
  :mod:`.reports` (QueueStatus, QueueSummary, CoreShowChannels, CLI);

then the asynchronous side: :mod:`.agi_runner` (runs the AGI steps), :mod:`.traffic` (the
seeded caller stream), :mod:`.server` (the AMI server), :mod:`.faults`, :mod:`.recorder`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from pbx.simulator.agi_runner import run_agi_step
from pbx.simulator.clock import Clock, ScaledClock
from pbx.simulator.config import (
    MemberConfig,
    QueueConfig,
    SimulatorConfig,
    city_centre,
    load_queues_conf,
)
from pbx.simulator.core import STRATEGIES, CallerInfo, PbxCore
from pbx.simulator.queue_log_rows import QueueLogHook
from pbx.simulator.server import AmiServer
from pbx.simulator.traffic import TrafficSpec, TrafficStream

__all__ = [
    "STRATEGIES",
    "CallerInfo",
    "MemberConfig",
    "QueueConfig",
    "QueueLogHook",
    "ScaledClock",
    "Simulator",
    "SimulatorConfig",
    "TrafficSpec",
    "city_centre",
    "load_queues_conf",
]


class Simulator:
    """The embedded PBX: queues with their operator seats, an AMI server and caller streams."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        queue_log: QueueLogHook | None = None,
    ) -> None:
        """``clock``: another :class:`~pbx.simulator.clock.Clock` than the scaled one, e.g. a
        :class:`~pbx.simulator.desclock.DesClock` to run the PBX as fast as it can (no AMI
        server then: its sessions would see time jump). ``queue_log``: takes the queue_log
        rows Asterisk would write (:mod:`.queue_log_rows`), from QUEUESTART now on; None =
        no queue_log."""
        self.config = cfg = config or SimulatorConfig()
        #: The AMI secret: the configured one, or a random one made for this process.
        self.secret = cfg.secret or secrets.token_urlsafe(16)
        self.clock: Clock = clock if clock is not None else ScaledClock(cfg.speed, cfg.epoch)
        self._listeners: list[Callable[[dict[str, str]], None]] = []
        self.core = PbxCore(self.clock, self._emit, cfg, run_agi=run_agi_step, wants=self._wants)
        if queue_log is not None:
            # Asterisk's logger writes QUEUESTART as it starts, before queues.conf is read
            self.core.queue_log = queue_log
            self.core.log_queue_start()
        queues = cfg.queues or (
            QueueConfig(
                cfg.queue,
                strategy=cfg.strategy,
                timeout=cfg.member_timeout_s,
                retry=cfg.retry_s,
                wrapuptime=cfg.wrapup_s,
                servicelevel=cfg.service_level_s,
                joinempty=cfg.joinempty,
                leavewhenempty=cfg.leavewhenempty,
            ),
        )
        for qc in queues:
            self.core.add_queue(
                qc.name,
                strategy=qc.strategy,
                timeout=qc.timeout,
                retry=qc.retry,
                wrapuptime=qc.wrapuptime,
                servicelevel=qc.servicelevel,
                weight=qc.weight,
                maxlen=qc.maxlen,
                joinempty=qc.joinempty,
                leavewhenempty=qc.leavewhenempty,
                ringinuse=qc.ringinuse,
                autofill=qc.autofill,
            )
        #: The operator seats: dynamic members, as operators who log in are on a real site.
        self.seats: tuple[MemberConfig, ...] = ()
        if cfg.queue in self.core.queues:
            self.seats = tuple(
                MemberConfig.seat(cfg.queue, cfg.first_seat + i) for i in range(cfg.seats)
            )
        boot = [(mc, "dynamic") for mc in self.seats] if cfg.seats_logged_in else []
        # Static members are only those the configuration (a queues.conf) names.
        boot += [(mc, "static") for mc in cfg.members]
        for mc, membership in boot:
            res = self.core.add_member(
                mc.queue,
                mc.interface,
                name=mc.name,
                state_interface=mc.state_interface,
                penalty=mc.penalty,
                paused=mc.paused,
                wrapuptime=mc.wrapuptime,
                membership=membership,
                event=False,  # at boot: no AMI client can be connected yet
            )
            if res != 0:
                raise ValueError(f"member {mc.interface} of queue {mc.queue!r}: error {res}")
        self.server = AmiServer(
            self.core,
            self.clock,
            username=cfg.username,
            secret=self.secret,
            auth_fail_delay_s=cfg.auth_fail_delay_s,
            max_buffer=cfg.max_write_buffer,
        )
        self._streams: list[TrafficStream] = []
        self._stream_count = 0
        self.port: int | None = None

    # -- events ----------------------------------------------------------------------------
    def _emit(self, headers: dict[str, str]) -> None:
        self.server.broadcast(headers)
        for cb in self._listeners:
            cb(headers)

    def _wants(self, privilege: str) -> bool:
        """Whether an event of this ``Privilege`` has anyone to go to: an in-process
        subscriber (they take every event) or an AMI session whose event mask lets it in."""
        return bool(self._listeners) or self.server.wants(privilege)

    def subscribe(self, callback: Callable[[dict[str, str]], None]) -> Callable[[], None]:
        """Call ``callback(headers)`` for every event, in process (no socket).

        Returns a function that unsubscribes.
        """
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    # -- life cycle ------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 5038) -> int:
        """Listen for AMI; returns the bound port (pass 0 for any free one)."""
        self.clock.now()  # bind the clock to the running loop: virtual time starts here
        self.port = await self.server.start(host, port)
        return self.port

    def begin_day(self, epoch: float) -> None:
        """Set the virtual clock to ``epoch`` before any traffic is scheduled (see
        :meth:`ScaledClock.rebase`)."""
        self.clock.rebase(epoch)

    def run_traffic(self, spec: TrafficSpec) -> asyncio.Future[dict[str, int]]:
        """Schedule a stream of callers; the future resolves when every one has hung up.

        Stream ``n`` (0, 1, ...) of this simulator draws from ``Random(seed + n)`` unless the
        spec names its own seed, so a run is reproducible.
        """
        seed = spec.seed if spec.seed is not None else self.config.seed + self._stream_count
        self._stream_count += 1
        queue = spec.queue or self.config.queue
        if queue not in self.core.queues:
            raise ValueError(f"no such queue {queue!r}")
        stream = TrafficStream(self.core, self.clock, spec, queue, seed)
        self._streams.append(stream)
        return stream.done

    @property
    def streams(self) -> tuple[TrafficStream, ...]:
        """The caller streams scheduled so far, in order (their ``records`` when kept)."""
        return tuple(self._streams)

    @property
    def stats(self) -> dict[str, int]:
        """Ground truth: offered, answered, abandoned, waiting, talking, finished."""
        return dict(self.core.stats)

    async def stop(self) -> None:
        """Stop the traffic, drop every scheduled call and close the server and connections."""
        for s in self._streams:
            s.stop()
        self.clock.close()
        await self.server.close()
