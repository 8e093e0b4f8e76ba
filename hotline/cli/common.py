"""What every command shares: the settings read once with errors that name the variable, the
log format, and ``error:`` lines on stderr that end a command with exit code 2."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import typer
from pydantic import ValidationError
from rich.console import Console

from config.settings import Settings

__all__ = ["aware_time", "err", "fail", "load_settings", "setup_logging"]

err = Console(stderr=True, soft_wrap=True)


def load_settings() -> Settings:
    """The settings from the environment; on an invalid value, ``error: HOTLINE_X: why`` and
    exit 2."""
    try:
        return Settings()
    except ValidationError as e:
        for error in e.errors():
            name = "HOTLINE_" + "_".join(str(p) for p in error["loc"]).upper()
            err.print(f"[red]error:[/] {name}: {error['msg']}")
        raise typer.Exit(2) from None


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # the simulated operators' requests to the process's own API: one line each, not news
    logging.getLogger("httpx").setLevel(logging.WARNING)


def fail(message: str) -> typer.Exit:
    """Print ``message`` (each of its lines) as ``error:`` on stderr; the exit (code 2) to raise.

    Usage: ``raise fail("--calls-per-hour must be > 0")``."""
    for line in message.splitlines() or [""]:
        err.print(f"[red]error:[/] {line}")
    return typer.Exit(2)


def aware_time(option: str, value: str) -> datetime:
    """``value`` of ``option`` as an aware UTC datetime (ISO 8601 with its zone); a value that
    is not one, or has no zone, ends the command with an ``error:`` naming the option."""
    example = "(e.g. 2026-11-30T08:00+08:00)"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date and time {example}") from None
    if at.tzinfo is None:
        raise fail(f"{option} {value!r} has no time zone {example}")
    return at.astimezone(UTC)
