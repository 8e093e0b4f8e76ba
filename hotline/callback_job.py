"""The callback job of ``hotline serve`` (回访): every ``HOTLINE_CALLBACK_INTERVAL_S``, inside
the calling hours, the tickets replied for ``HOTLINE_CALLBACK_DELAY_S`` are called back with
an AMI ``Originate`` of ``HOTLINE_CALLBACK_CHANNEL`` (the citizen's number put in its
``{number}``: ``SIP/carrier/{number}``) into the shipped dialplan's ``[hotline-callback]``,
which runs the IVR's callback survey with the ticket's number (``TICKET``); the rating keyed
in is the ticket's ``call_back`` step. A call not answered, or answered without a rating,
leaves the ticket replied: it is tried again after ``HOTLINE_CALLBACK_RETRY_S``, up to
``HOTLINE_CALLBACK_ATTEMPTS`` times, then it waits for an operator's call
(``GET /api/v1/callbacks/pending``).

Off without ``HOTLINE_CALLBACK_CHANNEL`` (the embedded PBX has no outside line to call on):
then every replied ticket waits for an operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from config.traffic import HOTLINE_TZ
from hotline.periodic import every
from pbx.ami_actions import AmiActionError, AmiNotConnected, AmiTimeout
from pbx.gateway import AmiGateway
from tickets.callbacks import CallbackRules, Due, give_back, take_due

__all__ = ["CONTEXT", "CallbackJob", "callback_rules"]

log = logging.getLogger(__name__)

#: The shipped dialplan's context that runs the callback survey (pbx/asterisk/extensions.conf).
CONTEXT = "hotline-callback"
#: Calls asked for per round (the rest wait for the next round).
PER_ROUND = 10


def callback_rules(settings: Settings) -> CallbackRules:
    return CallbackRules(
        delay=timedelta(seconds=settings.callback_delay_s),
        attempts=settings.callback_attempts,
        retry=timedelta(seconds=settings.callback_retry_s),
    )


class CallbackJob:
    def __init__(
        self,
        sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
        gateway: Callable[[], AmiGateway | None],
        now: Callable[[], float],
        *,
        channel: str,
        rules: CallbackRules,
        hours: tuple[time, time] = (time(9, 0), time(20, 0)),
        interval_s: float = 60.0,
        caller_id: str = "12345",
        ring_s: float = 45.0,
    ) -> None:
        if "{number}" not in channel:
            raise ValueError(f"channel: {channel!r} has no {{number}} for the citizen's number")
        self._sessions = sessions
        self._gateway = gateway
        self._now = now
        self.channel = channel
        self.rules = rules
        self.hours = hours
        self.interval_s = interval_s
        self.caller_id = caller_id
        self.ring_s = ring_s
        self._task: asyncio.Task[None] | None = None
        self.asked = 0
        self.not_asked = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def calling_hours(self, at: datetime) -> bool:
        local = at.astimezone(HOTLINE_TZ).time()
        return (
            self.hours[0] <= local <= self.hours[1]
            if self.hours[1] == time.max
            else (self.hours[0] <= local < self.hours[1])
        )

    async def round(self) -> list[Due]:
        """One round: the due tickets called (their attempts counted); those the call could
        not be asked for given back."""
        sessions, gateway = self._sessions(), self._gateway()
        at = datetime.fromtimestamp(self._now(), UTC)
        if sessions is None or gateway is None or not self.calling_hours(at):
            return []
        async with sessions() as session:
            due = await take_due(session, self.rules, at, PER_ROUND)
        called = []
        for d in due:
            try:
                await gateway.originate(
                    self.channel.format(number=d.caller_num),
                    context=CONTEXT,
                    exten="s",
                    caller_id=self.caller_id,
                    timeout_ms=int(self.ring_s * 1000),
                    variables={"TICKET": d.number},
                )
            except (AmiNotConnected, AmiTimeout, AmiActionError) as e:
                self.not_asked += 1
                log.warning("callback of ticket %s not asked for: %s", d.number, e)
                async with sessions() as session:
                    await give_back(session, d)
                continue
            self.asked += 1
            called.append(d)
        return called

    async def _loop(self) -> None:
        await every(self.interval_s, self.round, "callback round", log)
