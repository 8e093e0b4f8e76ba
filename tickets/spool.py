"""A durable spool of ticket drafts on local disk, for while the database is unreachable.

Files under one directory (``HOTLINE_SPOOL_DIR``, default ``var/spool``):

* ``active.jsonl``: drafts appended one JSON object a line; every :meth:`Spool.append` ends in
  ``flush`` + ``os.fsync`` before it returns, so a draft the writer was told is spooled
  survives ``kill -9`` and a power cut (the directory is fsynced when a file is created or
  renamed, too).
* ``batch-<n>.jsonl``: the active file, renamed (atomically) when a flush to the database
  begins; new drafts go to a fresh ``active.jsonl`` meanwhile. A batch file is deleted only
  after the database committed its tickets.

Exactly once: a crash after the commit but before the delete sends that batch again at the
next start; ``tickets.service.create_tickets`` skips every draft whose call is already stored
(unique ``(call_uniqueid, answered_at)``), so no ticket is written twice. A line torn by a
crash in the middle of a write (only the last line of a file can be) is skipped and logged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from pathlib import Path

from tickets.service import TicketDraft

__all__ = ["Spool", "draft_from_json", "draft_to_json"]

log = logging.getLogger(__name__)

_TIMES = ("joined_at", "answered_at", "ended_at")


def draft_to_json(d: TicketDraft) -> str:
    row = {f.name: getattr(d, f.name) for f in fields(d)}
    for name in _TIMES:
        row[name] = row[name].isoformat()
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def draft_from_json(line: str) -> TicketDraft:
    row = json.loads(line)
    for name in _TIMES:
        row[name] = datetime.fromisoformat(row[name])
    return TicketDraft(**row)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Append-only, fsynced JSON-lines spool of :class:`TicketDraft`."""

    ACTIVE = "active.jsonl"

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fh = None
        nums = [self._num(p) for p in self.dir.glob("batch-*.jsonl")]
        self._next = max(nums, default=0) + 1

    @staticmethod
    def _num(p: Path) -> int:
        try:
            return int(p.stem.split("-", 1)[1])
        except (IndexError, ValueError):
            return 0

    def append(self, drafts: Iterable[TicketDraft]) -> int:
        """Write drafts durably; returns how many. Raises ``OSError`` if the disk refuses."""
        lines = [draft_to_json(d) + "\n" for d in drafts]
        if not lines:
            return 0
        if self._fh is None:
            path = self.dir / self.ACTIVE
            new = not path.exists()
            self._fh = open(path, "a", encoding="utf-8")
            if new:
                _fsync_dir(self.dir)
        self._fh.write("".join(lines))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return len(lines)

    def rotate(self) -> None:
        """Close the active file and rename it to the next batch file (if it has drafts)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        active = self.dir / self.ACTIVE
        if active.exists():
            if active.stat().st_size == 0:
                active.unlink()
                return
            active.rename(self.dir / f"batch-{self._next:06d}.jsonl")
            self._next += 1
            _fsync_dir(self.dir)

    def batches(self) -> list[Path]:
        """The batch files, oldest first."""
        return sorted(self.dir.glob("batch-*.jsonl"), key=self._num)

    def read(self, path: Path) -> list[TicketDraft]:
        out: list[TicketDraft] = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    out.append(draft_from_json(line))
                except (ValueError, TypeError, KeyError) as e:
                    log.error("spool %s line %d unreadable (%s): skipped", path.name, n, e)
        return out

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        _fsync_dir(self.dir)

    def __bool__(self) -> bool:
        """True while anything is spooled (active or batch files)."""
        return (self.dir / self.ACTIVE).exists() or bool(self.batches())

    def count(self) -> int:
        """Drafts on disk (lines), for metrics and tests."""
        n = 0
        for p in [*self.batches(), self.dir / self.ACTIVE]:
            if p.exists():
                with open(p, "rb") as fh:
                    n += sum(1 for line in fh if line.strip())
        return n

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
