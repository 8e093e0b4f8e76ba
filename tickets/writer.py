"""Writes ticket drafts to the database in batches, off the event path.

The controller hands each draft over synchronously (:meth:`TicketWriter.submit`); a background
task stores them, many per transaction. A failed write keeps its batch and is retried with
capped back-off, so a database hiccup delays tickets but loses none while the process lives.
(Surviving a crash during a database outage needs the durable spool of a later change.)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tickets.service import TicketDraft, create_tickets

__all__ = ["TicketWriter"]

log = logging.getLogger(__name__)


class TicketWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 500,
        on_written: Callable[[int], None] = lambda n: None,
        on_error: Callable[[], None] = lambda: None,
        on_db_up: Callable[[bool], None] = lambda up: None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._sessions = sessions
        self._batch_size = batch_size
        self._queue: deque[TicketDraft] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._on_written = on_written
        self._on_error = on_error
        self._on_db_up = on_db_up
        self._max_backoff = max_backoff_s
        self._task: asyncio.Task[None] | None = None
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, draft: TicketDraft) -> None:
        self._queue.append(draft)
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ticket-writer")

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every submitted draft is stored."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        try:
            await self.drain(timeout)
        except TimeoutError:
            log.error("ticket writer stopped with %d tickets not written", len(self._queue))
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue[i] for i in range(min(self._batch_size, len(self._queue)))]
            try:
                async with self._sessions() as session, session.begin():
                    await create_tickets(session, batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._on_error()
                self._on_db_up(False)
                log.exception("writing %d tickets failed; retrying in %.1f s", len(batch), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            for _ in batch:
                self._queue.popleft()
            self.written += len(batch)
            self._on_written(len(batch))
            self._on_db_up(True)
