"""The embedded PBX's simulated operators in a running process: an account for each seat and
a robot at each (:mod:`hotline.desk_robots`) that works through the process's own HTTP port.
``hotline serve`` (with the embedded PBX) and ``hotline simulate`` start them, unless switched
off (``HOTLINE_SIM_OPERATORS=false``, ``--no-operators``): then the runtime logs the seats in
through the gateway and the simulated operator decides every call's ticket, as before.

**Accounts.** One operator per seat, named ``sim-<extension>`` (``sim-8001`` at
``Local/8001@agents/n``), display name the seat's member name, a password generated at each
start and held in memory only (``agents.passwords.hash_generated_secret``); made or given the
new password as ``hotline users add`` would, audited as the ``system``. A seat that a person's
account names is left to that person (they sign in to it through the API); a disabled
``sim-`` account stays disabled, and its seat stays empty.

**Who decides.** The robots and the fallback draw from one seeded model
(:class:`agents.operator.SimulatedOperator` with ``HOTLINE_INSTANT_RESOLUTION_SHARE`` and
``HOTLINE_OPERATOR_SEED``): a call gets the same kind and outcome whichever decides it, so the
figures of a run do not depend on whether the robots are on.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agents.accounts import Actor, list_users, provision_generated
from agents.audit import SYSTEM_ROLE
from agents.operator import SimulatedOperator
from agents.passwords import GENERATED_SECRET_BYTES
from config.pause_codes import PauseCodes
from hotline.desk_robots import BreakCode, FleetCounts, RobotAccount, RobotFleet
from pbx.simulator import MemberConfig

__all__ = ["PREFIX", "SimOperators", "break_codes", "provision_accounts", "robot_username"]

log = logging.getLogger(__name__)

#: The user names of the simulated operators begin so.
PREFIX = "sim-"
SYSTEM = Actor("system", SYSTEM_ROLE)


def robot_username(interface: str) -> str:
    """``sim-8001`` for ``Local/8001@agents/n`` (or ``SIP/8001``)."""
    resource = interface.partition("/")[2] or interface
    ext = resource.split("@", 1)[0].split("/", 1)[0]
    cleaned = "".join(c for c in ext.lower() if c.isalnum() or c in "._-")
    return PREFIX + (cleaned or "seat")


def break_codes(codes: PauseCodes) -> list[BreakCode]:
    """The codes an operator takes a break with: not the backend's own (``system``), not the
    wrap-up after a call (``auto_ready``), not the supervisors' forced pause."""
    return [
        BreakCode(code, p.limit_s)
        for code, p in codes.codes.items()
        if not p.system and not p.auto_ready and code != codes.supervisor_code
    ]


async def provision_accounts(
    sessions: Any, seats: Sequence[MemberConfig], *, at: datetime | None = None
) -> list[RobotAccount]:
    """An operator account with a new generated password for each seat not a person's, in
    the seats' order (see the module's docstring)."""
    at = at or datetime.now(UTC)
    accounts: list[RobotAccount] = []
    async with sessions() as session:
        people = {
            u.seat
            for u in await list_users(session)
            if u.seat and u.active and not u.username.startswith(PREFIX)
        }
        for seat in seats:
            if seat.interface in people:
                log.info("seat %s is a person's: no simulated operator there", seat.interface)
                continue
            secret = secrets.token_urlsafe(GENERATED_SECRET_BYTES)
            try:
                user = await provision_generated(
                    session,
                    username=robot_username(seat.interface),
                    display_name=seat.name,
                    seat=seat.interface,
                    secret=secret,
                    at=at,
                    by=SYSTEM,
                )
            except ValueError as e:
                log.warning("no simulated operator at %s: %s", seat.interface, e)
                continue
            if user is None:
                log.warning("no simulated operator at %s: its account is disabled", seat.interface)
                continue
            accounts.append(RobotAccount(user.username, secret, seat.interface))
    return accounts


class SimOperators:
    """The robots of a runtime's embedded PBX, against ``base_url`` (the process's own API)."""

    def __init__(self, runtime: Any, base_url: str, *, breaks_per_hour: float = 0.0) -> None:
        self.runtime = runtime
        self.base_url = base_url
        self.breaks_per_hour = breaks_per_hour
        self.fleet: RobotFleet | None = None

    async def start(self) -> None:
        """Accounts made, every robot signed in to its seat, the knowledge index ready (the
        first screen pop's search must not wait for jieba's dictionary; the runtime began
        building it at start, and it goes on while the robots sign in)."""
        rt = self.runtime
        assert rt.simulator is not None and rt.sessions is not None
        accounts = await provision_accounts(rt.sessions, rt.simulator.seats)
        s = rt.settings
        self.fleet = RobotFleet(
            self.base_url,
            accounts,
            decider=SimulatedOperator(
                resolve_share=s.instant_resolution_share, seed=s.operator_seed
            ),
            clock=lambda: rt.now(),
            speed=rt.simulator.config.speed,
            breaks_per_hour=self.breaks_per_hour,
            break_codes=break_codes(rt.seat_lifecycle.pause_codes),
        )
        await self.fleet.start()
        await rt.knowledge.ready()
        log.info("%d simulated operators signed in through the desk API", len(accounts))

    def begin_breaks(self) -> None:
        """From now on the robots take breaks (after the PBX's day has begun: a break is
        drawn on its clock)."""
        if self.fleet is not None:
            self.fleet.begin_breaks()

    @property
    def counts(self) -> FleetCounts:
        return self.fleet.counts if self.fleet is not None else FleetCounts()

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until every robot has read the last message of its seat's stream and handed
        in what it was writing (after the calls ended and the runtime settled)."""
        fleet = self.fleet
        if fleet is None:
            return
        desk = self.runtime.desk
        async with asyncio.timeout(timeout):
            while (  # noqa: ASYNC110  (several conditions of two parties: polled)
                desk.busy
                or fleet.busy
                or any(
                    fleet.seen(r.account.seat) < desk.streams.log(r.account.seat).last_seq
                    for r in fleet.robots
                    if r.seat_signed_in
                )
            ):
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.fleet is not None:
            await self.fleet.stop()
