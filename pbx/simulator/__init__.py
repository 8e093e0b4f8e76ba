"""An embedded PBX that speaks Asterisk 20's AMI over TCP, with simulated callers and seats.

Use it from a running event loop::

    sim = Simulator(SimulatorConfig(seats=150, speed=120.0, seed=1))
    port = await sim.start(host="127.0.0.1", port=0)
    await sim.run_traffic(TrafficSpec(calls=3000, hours=1.0))
    await sim.stop()

Layout: :mod:`.clock` (virtual time), :mod:`.core` (queues, members, callers: no sockets),
:mod:`.traffic` (the seeded caller stream), :mod:`.server` (the AMI server).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from pbx.simulator.clock import ScaledClock
from pbx.simulator.core import STRATEGIES, PbxCore
from pbx.simulator.server import AmiServer
from pbx.simulator.traffic import TrafficSpec, TrafficStream

__all__ = ["STRATEGIES", "ScaledClock", "Simulator", "SimulatorConfig", "TrafficSpec"]


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Settings of the embedded PBX. Times are virtual seconds unless said otherwise."""

    seats: int = 150
    queue: str = "hotline"
    username: str = "hotline"
    secret: str | None = None  # None: a random one (see Simulator.secret)
    ring_time_s: float = 2.0  # a seat answers this long after it starts ringing
    wrapup_s: float = 10.0  # the queue's wrapuptime
    speed: float = 120.0  # virtual seconds per real second
    seed: int = 1
    strategy: str = "rrmemory"
    member_timeout_s: float = 15.0  # queue "timeout": ring a member at most this long
    retry_s: float = 1.0  # queue "retry"
    auth_fail_delay_s: float = 1.0  # REAL seconds before "Authentication failed"
    service_level_s: int = 20
    epoch: float | None = None  # virtual time at start; None = the wall clock
    first_seat: int = 8001
    max_write_buffer: int = 64 * 1024 * 1024  # bytes queued for one AMI reader before cut-off

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r} unknown; known: {sorted(STRATEGIES)}")
        if self.seats < 0:
            raise ValueError("seats must be >= 0")
        if self.speed <= 0:
            raise ValueError("speed must be > 0")


class Simulator:
    """The embedded PBX: one queue of static seats, an AMI server and caller streams."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = cfg = config or SimulatorConfig()
        #: The AMI secret: the configured one, or a random one made for this process.
        self.secret = cfg.secret or secrets.token_urlsafe(16)
        self.clock = ScaledClock(cfg.speed, cfg.epoch)
        self._listeners: list[Callable[[dict[str, str]], None]] = []
        self.core = PbxCore(self.clock, self._emit, ring_time_s=cfg.ring_time_s, rng_seed=cfg.seed)
        self.core.add_queue(
            cfg.queue,
            strategy=cfg.strategy,
            timeout=cfg.member_timeout_s,
            retry=cfg.retry_s,
            wrapuptime=cfg.wrapup_s,
            servicelevel=cfg.service_level_s,
        )
        for i in range(cfg.seats):
            ext = cfg.first_seat + i
            self.core.add_member(
                cfg.queue,
                f"Local/{ext}@agents/n",
                name=f"Agent {ext}",
                state_interface=f"Local/{ext}@agents",
                membership="static",
                event=False,
            )
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
    def stats(self) -> dict[str, int]:
        """Ground truth: offered, answered, abandoned, waiting, talking, finished."""
        return dict(self.core.stats)

    async def stop(self) -> None:
        """Stop the traffic, drop every scheduled call and close the server and connections."""
        for s in self._streams:
            s.stop()
        self.clock.close()
        await self.server.close()
