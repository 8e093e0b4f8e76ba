"""Where the embedded PBX's queue_log rows go: a file and the ``queue_log`` table, as Asterisk
writes them (BUILD.md, "queue_log straight into PostgreSQL").

The embedded PBX writes the rows Asterisk writes (:mod:`pbx.simulator.queue_log_rows`), so
that the default set-up exercises the path a real site uses: the backfill and the reports
read the table. Like Asterisk:

* each row is appended to the file, if one is given (Asterisk's line, flushed): the file is
  the complete copy;
* each row is inserted into the table in write order (``id`` follows it: the backfill uses
  ``id`` as its cursor), in batches, by one task of the asyncio loop;
* a call never waits for the database: while it fails, rows are lost for the table (counted
  in :attr:`QueueLogSink.lost`; they stay in the file) and the sink tries again every
  ``retry_s``, writing as soon as the database answers (Asterisk reconnects on its next write).

The rows hold caller numbers: a failure is logged with the exception's type only (a
database error's text may carry the statement's parameters).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.models import QueueLog
from pbx.queue_log import QueueLogRow, columns, format_line

__all__ = ["QueueLogSink"]

log = logging.getLogger(__name__)

_TABLE = cast(Table, QueueLog.__table__)


class QueueLogSink:
    """Takes queue_log rows (:meth:`write`, the PBX's hook) to a file and the table.

    ``sessions``: the database (None = file only); ``path``: the file (None = table only).
    Counters: :attr:`written` (rows inserted), :attr:`lost` (rows whose insert failed: the
    table will not have them, but for a batch whose COMMIT reached the database just before
    the connection broke, which is in doubt and counted lost), :attr:`file_errors`. Call
    :meth:`start` in the running loop, :meth:`close` at the end.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        *,
        path: Path | None = None,
        batch_size: int = 500,
        retry_s: float = 1.0,
        write_timeout_s: float = 5.0,
        max_pending: int = 100_000,
        linger_s: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``write_timeout_s``: a batch not committed by then failed (a database that takes
        connections but never answers must not hold rows for ever: Asterisk's
        ``PGCONNECT_TIMEOUT``); ``max_pending``: rows waiting beyond this are lost for the
        table (memory stays bounded whatever the database does); ``linger_s``: how long a
        row may wait for others to share its transaction (a PBX writes a few at a time);
        ``monotonic``: the clock of ``retry_s``."""
        self._sessions = sessions
        self._batch_size = batch_size
        self._retry_s = retry_s
        self._write_timeout_s = write_timeout_s
        self._max_pending = max_pending
        self._linger = linger_s
        self._monotonic = monotonic
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8", newline="\n")
        self.path = path
        self._queue: deque[QueueLogRow] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        #: Monotonic time before which no insert is tried (the database failed); 0 = up.
        self._retry_at = 0.0
        self.written = 0
        self.lost = 0
        self.file_errors = 0

    @property
    def db_up(self) -> bool:
        """False from a failed insert until one succeeds again."""
        return self._retry_at == 0.0

    @property
    def pending(self) -> int:
        return len(self._queue)

    def write(self, row: QueueLogRow) -> None:
        """One row, in write order: to the file now, to the table soon. Never blocks on the
        database, never raises."""
        if self._closed:
            self.lost += 1
            return
        if self._file is not None:
            try:
                self._file.write(format_line(row) + "\n")
                self._file.flush()
            except OSError as e:
                self.file_errors += 1
                if self.file_errors == 1:
                    log.error("queue_log file %s: %s; rows go on to the table", self.path, e)
        if self._sessions is None:
            return
        if self._retry_at and self._monotonic() < self._retry_at:
            self.lost += 1  # the database failed a moment ago: as Asterisk, the row is lost
            return
        if len(self._queue) >= self._max_pending:
            self.lost += 1
            return
        self._queue.append(row)
        if self._idle.is_set():
            self._idle.clear()
        if not self._wakeup.is_set():
            self._wakeup.set()

    def start(self) -> None:
        """Start the writing task (in the running loop); rows written before wait for it."""
        if self._sessions is not None and self._task is None:
            self._task = asyncio.create_task(self._run(), name="queue-log-sink")

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every row handed over is inserted or counted lost."""
        self.start()
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, timeout: float = 10.0) -> None:
        """Drain (at most ``timeout`` s; what is left is counted lost), stop, close the file."""
        try:
            await self.drain(timeout)
        except TimeoutError:
            log.error("queue_log: %d rows not inserted at shutdown", len(self._queue))
        self._closed = True
        self.lost += len(self._queue)
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._file is not None:
            self._file.close()
            self._file = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            if self._linger > 0:
                await asyncio.sleep(self._linger)
            self._wakeup.clear()
            while self._queue:
                wait = self._retry_at - self._monotonic()
                if self._retry_at and wait > 0:  # down: what waits now is lost, as in write()
                    self.lost += len(self._queue)
                    self._queue.clear()
                    break
                n = min(self._batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(n)]
                await self._insert(batch)
            if not self._queue:
                self._idle.set()

    async def _insert(self, batch: list[QueueLogRow]) -> None:
        assert self._sessions is not None
        try:
            async with asyncio.timeout(self._write_timeout_s):
                async with self._sessions() as session, session.begin():
                    await session.execute(insert(_TABLE), [columns(r) for r in batch])
        except asyncio.CancelledError:
            raise
        except Exception as e:  # any failure of the database: the rows are lost for it
            self.lost += len(batch)
            if self.db_up:
                log.warning(
                    "queue_log: inserting into the database failed (%s); rows are lost for "
                    "the table until it answers again (the file keeps them)",
                    type(e).__name__,
                )
            self._retry_at = self._monotonic() + self._retry_s
            return
        self.written += len(batch)
        if not self.db_up:
            log.info("queue_log: the database answers again (%d rows lost so far)", self.lost)
            self._retry_at = 0.0
