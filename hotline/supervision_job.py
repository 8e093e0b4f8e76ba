"""The supervision job of ``hotline serve``: every ``HOTLINE_SUPERVISION_INTERVAL_S`` it scans
the running tickets (:func:`tickets.supervision.scan`) and escalates each one newly due soon
or overdue to its department's webhook (``HOTLINE_ESCALATION_WEBHOOKS``), leader-instructed
cases first.

**Never blocking, nothing lost.** The scan only hands escalations over; each is delivered by
a task of its own (at most :data:`PARALLEL` at once), retried with a doubling back-off (up to
``max_backoff_s``) until the webhook answers 2xx, and only then recorded as escalated
(``tickets.escalated``), so a webhook that is down delays its escalations and a restart
resends them; it never stops the scans or the other departments'. A department with no
webhook (and no ``"*"`` default) is recorded as escalated at once: the flag is still on the
supervisors' list (``GET /api/v1/supervision``).

The webhook gets a JSON POST: ``{"ticket", "department", "level" ("due_soon" or
"overdue"), "state", "due_at", "leader_instructed"}``: a ticket number, no personal data.
Webhook URLs may carry a token, so they come from the environment only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.periodic import every
from tickets.supervision import Flag, count_by_state, mark_escalated, scan

__all__ = ["PARALLEL", "SupervisionJob"]

log = logging.getLogger(__name__)

#: Escalations delivered at once.
PARALLEL = 8


class SupervisionJob:
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
        self._sessions = sessions
        self._now = now
        self.webhooks = dict(webhooks)
        self.interval_s = interval_s
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._loop_task: asyncio.Task[None] | None = None
        #: (ticket id, level) -> its delivery task.
        self._deliveries: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._gate = asyncio.Semaphore(PARALLEL)
        self.latest: list[Flag] = []
        #: Tickets in each lifecycle state at the last scan (for the metrics).
        self.by_state: dict[str, int] = {}
        self.sent = 0
        self.failed_attempts = 0

    @property
    def pending(self) -> int:
        return len(self._deliveries)

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._deliveries.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self._client.aclose()

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
            key = (f.ticket_id, int(f.level))
            if f.to_escalate and key not in self._deliveries:
                task = asyncio.get_running_loop().create_task(self._deliver(f))
                self._deliveries[key] = task
                task.add_done_callback(lambda _t, key=key: self._deliveries.pop(key, None))
        return flags

    async def drain(self) -> None:
        """Wait for the deliveries handed over so far (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries.values(), return_exceptions=True)

    async def _loop(self) -> None:
        await every(self.interval_s, self.scan_once, "supervision scan", log)

    async def _deliver(self, flag: Flag) -> None:
        url = self.webhooks.get(flag.department) or self.webhooks.get("*")
        backoff = self.first_backoff_s
        while url:
            async with self._gate:
                ok = await self._post(url, flag)
            if ok:
                self.sent += 1
                break
            self.failed_attempts += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        sessions = self._sessions()
        if sessions is not None:
            async with sessions() as session:
                await mark_escalated(session, [flag])

    async def _post(self, url: str, flag: Flag) -> bool:
        body: dict[str, Any] = {
            "ticket": flag.number,
            "department": flag.department,
            "level": flag.level.label,
            "state": flag.state,
            "due_at": flag.due_at.isoformat() if flag.due_at else None,
            "leader_instructed": flag.leader_instructed,
        }
        try:
            r = await self._client.post(url, json=body)
        except httpx.HTTPError as e:
            log.warning("escalation of %s to %s failed: %s", flag.number, flag.department, e)
            return False
        if r.is_success:
            return True
        log.warning(
            "escalation of %s to %s answered %s", flag.number, flag.department, r.status_code
        )
        return False
