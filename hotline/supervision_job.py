"""The supervision job of ``hotline serve``: every ``HOTLINE_SUPERVISION_INTERVAL_S`` it scans
the running tickets (:func:`tickets.supervision.scan`) and escalates each one newly due soon
or overdue to its department's webhook (``HOTLINE_ESCALATION_WEBHOOKS``), leader-instructed
cases first.

**Never blocking, nothing lost.** The scan only hands escalations over to the webhook poster
(:mod:`hotline.webhooks`: a task each, retried with a doubling back-off until the webhook
answers 2xx); each is recorded as escalated (``tickets.escalated``) only once delivered, so a
webhook that is down delays its escalations and a restart resends them; it never stops the
scans or the other departments'. A department with no webhook (and no ``"*"`` default) is
recorded as escalated at once: the flag is still on the supervisors' list
(``GET /api/v1/supervision``).

The webhook gets a JSON POST: ``{"ticket", "department", "level" ("due_soon" or
"overdue"), "state", "due_at", "leader_instructed"}``: a ticket number, no personal data.
Webhook URLs may carry a token, so they come from the environment only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.webhooks import PostingJob
from tickets.supervision import Flag, count_by_state, mark_escalated, scan

__all__ = ["SupervisionJob"]

log = logging.getLogger(__name__)


class SupervisionJob(PostingJob):
    what = "supervision scan"

    def __init__(
        self,
        sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
        now: Callable[[], float],
        webhooks: Mapping[str, str],
        *,
        interval_s: float = 60.0,
        timeout_s: float = 5.0,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # The poster's deliveries are keyed by (ticket id, level).
        super().__init__(
            interval_s=interval_s,
            timeout_s=timeout_s,
            first_backoff_s=first_backoff_s,
            max_backoff_s=max_backoff_s,
            transport=transport,
        )
        self._sessions = sessions
        self._now = now
        self.webhooks = dict(webhooks)
        self.latest: list[Flag] = []
        #: Tickets in each lifecycle state at the last scan (for the metrics).
        self.by_state: dict[str, int] = {}

    @property
    def pending(self) -> int:
        return self.poster.pending

    @property
    def sent(self) -> int:
        return self.poster.sent

    @property
    def failed_attempts(self) -> int:
        return self.poster.failed_attempts

    async def scan_once(self) -> list[Flag]:
        """Scan now; hand the new escalations over (without waiting for them)."""
        sessions = self._sessions()
        if sessions is None:
            return []
        async with sessions() as session:
            flags = await scan(session, datetime.fromtimestamp(self._now(), UTC))
            by_state = await count_by_state(session)
        self.latest, self.by_state = flags, by_state
        for f in flags:  # already in order: leader-instructed first
            if f.to_escalate:
                self.poster.post(
                    (f.ticket_id, int(f.level)),
                    self.webhooks.get(f.department) or self.webhooks.get("*"),
                    _body(f),
                    f"escalation of {f.number} to {f.department}",
                    then=lambda f=f: self._escalated(f),
                )
        return flags

    async def run_once(self) -> list[Flag]:
        return await self.scan_once()

    async def _escalated(self, flag: Flag) -> None:
        sessions = self._sessions()
        if sessions is not None:
            async with sessions() as session:
                await mark_escalated(session, [flag])


def _body(flag: Flag) -> dict[str, Any]:
    return {
        "ticket": flag.number,
        "department": flag.department,
        "level": flag.level.label,
        "state": flag.state,
        "due_at": flag.due_at.isoformat() if flag.due_at else None,
        "leader_instructed": flag.leader_instructed,
    }
