"""``hotline report --month YYYY-MM --out DIR``: the monthly KPI report of the store at
``HOTLINE_DATABASE_URL`` as ``monthly-report-YYYY-MM.html`` (with its plots inline),
``.pdf`` and ``.csv`` in DIR (created when missing). The rules are ``report.yaml`` and the
departments' names ``departments.yaml`` in ``HOTLINE_CONFIG_DIR``. Figures are as of now
(the dispatches of the month followed to this moment); ``--as-of`` names another moment.
Prints the paths written; a bad month, a database that cannot be reached, a folder that
cannot be written or a missing Chinese font end it with ``error:`` and exit code 2.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError, OperationalError

from config.catalogue import load_catalogue
from config.report import load_report_rules
from config.yamlfile import ConfigError
from hotline.cli.common import aware_time, fail, load_settings
from metrics.kpi import MonthlyReport, month_bounds
from metrics.kpi_queries import report_of_month
from metrics.report_render import FontMissing, write_files
from tickets.db import make_engine, session_factory

__all__ = ["report"]


async def _read(url: str, month: str, config_dir: Path, as_of: datetime) -> MonthlyReport:
    rules = load_report_rules(config_dir)
    names = {c: d.name for c, d in load_catalogue(config_dir).departments.items()}
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await report_of_month(session, month, rules, as_of, names)
    finally:
        await engine.dispose()


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            pass
    except OSError as e:
        raise fail(f"--out {out}: cannot write there ({e.strerror or e})") from None


def report(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (local, UTC+8).")],
    out: Annotated[Path, typer.Option(help="The folder the HTML, PDF and CSV go to.")],
    as_of: Annotated[
        str | None, typer.Option(help="Follow the dispatches to this moment (ISO 8601, zone).")
    ] = None,
) -> None:
    """Write the monthly KPI report (HTML with plots, PDF, CSV) into a folder."""
    try:
        month_bounds(month)
    except ValueError as e:
        raise fail(f"--month: {str(e).removeprefix('month: ')}") from None
    at = datetime.now(UTC) if as_of is None else aware_time("--as-of", as_of)
    settings = load_settings()
    _writable(out)
    try:
        found = asyncio.run(_read(settings.database_url, month, settings.config_dir, at))
    except ConfigError as e:
        raise fail(f"the configuration in {settings.config_dir}:\n{e}") from None
    except (OSError, DBAPIError, OperationalError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise fail(f"the database at HOTLINE_DATABASE_URL cannot be used: {first}") from None
    try:
        paths = write_files(found, out)
    except FontMissing as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"--out {out}: cannot write there ({e.strerror or e})") from None
    for p in paths:
        print(os.fspath(p))
