"""``hotline backfill --queue-log FILE``: the tickets of the answered calls in an Asterisk
queue_log *file* that have none yet, and the rows the ``queue_log`` table lacks, into
``HOTLINE_DATABASE_URL``.

For a gap during which the database was down as well as the controller: Asterisk then lost
those rows from its table (it does not buffer them) but kept them in its file. Safe to run at
any time and more than once: a call that has its ticket is never written again
(:func:`hotline.backfill.backfill_file`). Prints one JSON object: what was read and written.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from hotline.backfill import BackfillReport, backfill_file
from hotline.cli.common import aware_time, fail, load_settings, setup_logging
from tickets.db import make_engine, session_factory, upgrade

__all__ = ["backfill"]


def _since(value: str | None) -> datetime | None:
    return None if value is None else aware_time("--since", value)


async def _run(url: str, path: Path, since: datetime | None, centre: str) -> BackfillReport:
    await upgrade(url)
    engine = make_engine(url)
    try:
        sessions = session_factory(engine, centre)
        return await backfill_file(sessions, path, since=since, centre=centre)
    finally:
        await engine.dispose()


def backfill(
    queue_log: Annotated[
        Path,
        typer.Option(
            "--queue-log",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Asterisk's queue_log file (/var/log/asterisk/queue_log).",
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(help="Only calls that ended at or after this time (ISO 8601, with zone)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Write the tickets of the answered calls in a queue_log file that have none yet (as
    tickets of HOTLINE_CENTRE, whose Asterisk wrote the file)."""
    setup_logging(verbose)
    settings = load_settings()
    at = _since(since)
    try:
        report = asyncio.run(_run(settings.database_url, queue_log, at, settings.centre))
    except (OSError, DBAPIError) as e:
        raise fail(f"the database at HOTLINE_DATABASE_URL cannot be used: {e}") from None
    print(
        json.dumps(
            {
                "rows": report.rows,
                "answered_calls": report.stays,
                "tickets_written": report.written,
                "rows_restored": report.rows_restored,
                "already_ticketed": report.already_ticketed,
                "still_open": report.open_left,
                "malformed_rows": dict(report.malformed),
                "seconds": round(report.seconds, 3),
            }
        ),
        flush=True,
    )
