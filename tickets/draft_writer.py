"""Writes the operators' drafts as calls connect and end, in batches, off the event path.

The composition root hands each over synchronously from the controller's notices
(:meth:`DraftWriter.opened`, :meth:`DraftWriter.ended`); a background task stores them, many per
transaction, after a short linger (a draft is stored within about ``linger_s`` of the connect).
A failed write is retried with capped back-off; what waits stays in memory (a draft is only
the frame of the ticket: the ticket itself is written by the ticket writer, with its spool).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.centres import DEFAULT_CENTRE
from tickets.drafts import DraftOpened, mark_ended, open_drafts

__all__ = ["DraftWriter"]

log = logging.getLogger(__name__)


class DraftWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        linger_s: float = 0.02,
        max_backoff_s: float = 30.0,
        on_error: Callable[[], None] = lambda: None,
        centre: str = DEFAULT_CENTRE,
    ) -> None:
        self._sessions = sessions
        #: The centre whose calls end here (a draft is its centre's and call's).
        self._centre = centre
        self._linger = linger_s
        self._max_backoff = max_backoff_s
        self._on_error = on_error
        self._opened: list[DraftOpened] = []
        self._ended: list[tuple[str, datetime]] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        #: Changes of the batch being written now (taken off the lists, not yet committed).
        self._writing = 0
        self.written = 0

    @property
    def pending(self) -> int:
        """Changes handed over and not yet stored: waiting, or in the batch being written
        (a reader that finds no row while this is not 0 must wait: :meth:`drain`)."""
        return len(self._opened) + len(self._ended) + self._writing

    def opened(self, draft: DraftOpened) -> None:
        self._opened.append(draft)
        self._kick()

    def ended(self, call_uniqueid: str, at: datetime) -> None:
        self._ended.append((call_uniqueid, at))
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="draft-writer")

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until everything handed over is stored."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def stop(self, timeout: float = 5.0) -> None:
        try:
            await self.drain(timeout)
        except TimeoutError:
            log.error("draft writer stopped with %d changes not written", self.pending)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            if not self._opened and not self._ended:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._linger:
                await asyncio.sleep(self._linger)
            opened, ended = self._opened, self._ended
            self._opened, self._ended = [], []
            self._writing = len(opened) + len(ended)
            try:
                async with self._sessions() as session, session.begin():
                    await open_drafts(session, opened)
                    await mark_ended(session, ended, self._centre)
            except asyncio.CancelledError:
                self._writing = 0
                self._opened[:0], self._ended[:0] = opened, ended
                raise
            except Exception:
                self._writing = 0
                self._opened[:0], self._ended[:0] = opened, ended
                self._on_error()
                log.exception("writing %d drafts failed; retrying in %.1f s", len(opened), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            self._writing = 0
            backoff = 0.1
            self.written += len(opened)
