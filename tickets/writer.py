"""Writes ticket drafts to the database in batches, off the event path.

The controller hands each draft over synchronously (:meth:`TicketWriter.submit`); a background
task stores them, many per transaction. A failed write is retried with capped back-off.

With a :class:`~tickets.spool.Spool` (the runtime always gives one), a failed write also
moves every draft waiting in memory to the spool on disk (fsynced), and while the database
stays unreachable each new draft is spooled as it is submitted: a ``kill -9`` during the
outage loses nothing that was handed over. When the database answers again the spool is
written first (oldest first), then the writer goes back to memory; spool files are deleted
only after their tickets are committed, and ``create_tickets`` skips tickets already stored,
so each ticket is written exactly once. At start a spool left by a crash is written first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tickets.service import TicketDraft, store_tickets
from tickets.spool import Spool

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
        spool: Spool | None = None,
        linger_s: float = 0.05,
    ) -> None:
        self._sessions = sessions
        self._batch_size = batch_size
        #: How long a draft may wait for others to share its transaction.
        self._linger = linger_s
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
        self.spool = spool
        #: True while drafts go to the spool (the database failed and has not answered since).
        self.spooling = bool(spool)
        self.spooled = 0

    @property
    def pending(self) -> int:
        return len(self._queue) + (self.spool.count() if self.spooling and self.spool else 0)

    def submit(self, draft: TicketDraft) -> None:
        if self.spooling and self.spool is not None:
            try:
                self.spooled += self.spool.append([draft])
            except OSError:
                log.exception("spooling a ticket failed; it waits in memory")
                self._queue.append(draft)
        else:
            self._queue.append(draft)
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        if self.spooling:
            self._idle.clear()
        self._task = asyncio.create_task(self._run(), name="ticket-writer")

    def _to_spool(self) -> None:
        """The database failed: make every draft in memory durable, and spool from now on."""
        assert self.spool is not None
        if self._queue:
            try:
                self.spooled += self.spool.append(self._queue)
            except OSError:
                log.exception("spooling %d tickets failed; they wait in memory", len(self._queue))
                return
            self._queue.clear()
        if not self.spooling:
            log.warning("database unreachable: tickets go to the spool in %s", self.spool.dir)
        self.spooling = True

    async def _flush_spool(self) -> None:
        """Write every spooled draft (oldest first); raises if the database fails."""
        spool = self.spool
        assert spool is not None
        spool.rotate()
        for path in spool.batches():
            drafts = spool.read(path)
            for i in range(0, len(drafts), self._batch_size):
                batch = drafts[i : i + self._batch_size]
                async with self._sessions() as session, session.begin():
                    created = await store_tickets(session, batch)
                self.written += len(created)
                self._on_written(len(created))
            spool.remove(path)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every submitted draft is stored."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        try:
            await self.drain(timeout)
        except TimeoutError:
            if self.spooling and self.spool is not None:
                log.warning(
                    "ticket writer stopped with %d tickets in the spool (%s): they are written "
                    "at the next start",
                    self.spool.count(),
                    self.spool.dir,
                )
            else:
                log.error("ticket writer stopped with %d tickets not written", len(self._queue))
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.spool is not None:
            self.spool.close()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            if self.spooling and self.spool is not None:
                try:
                    await self._flush_spool()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self._on_error()
                    self._on_db_up(False)
                    log.warning("database still unreachable; spool kept, retry in %.1f s", backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                self.spooling = False
                if self.spool:  # drafts spooled while the last file was being written
                    self.spooling = True
                    continue
                backoff = 0.1
                self._on_db_up(True)
                log.warning("database answers again: the spool is written")
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._linger and len(self._queue) < self._batch_size:
                # Let the batch fill: a transaction costs the same for 1 ticket or 50.
                await asyncio.sleep(self._linger)
            batch = [self._queue[i] for i in range(min(self._batch_size, len(self._queue)))]
            try:
                async with self._sessions() as session, session.begin():
                    await store_tickets(session, batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._on_error()
                self._on_db_up(False)
                log.exception("writing %d tickets failed; retrying in %.1f s", len(batch), backoff)
                if self.spool is not None:
                    self._to_spool()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            for _ in batch:
                self._queue.popleft()
            self.written += len(batch)
            self._on_written(len(batch))
            self._on_db_up(True)
