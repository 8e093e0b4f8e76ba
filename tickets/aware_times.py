"""Times in query parameters: ISO 8601 with the time zone (``Z`` or an offset), written as a
pattern in the OpenAPI description, so that a number (which pydantic would read as Unix
seconds) or a time without its zone is refused by the schema, naming the parameter."""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException

__all__ = ["AWARE_TIME", "parse_time"]

AWARE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


def parse_time(name: str, value: str | None) -> datetime | None:
    """The time ``value`` (already matching :data:`AWARE_TIME`), or a 422 naming ``name`` for
    one the pattern lets through that is no time (a 13th month)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: {value!r} is not a date and time") from None
