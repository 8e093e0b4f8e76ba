"""Whether the hotline is open at a moment: the menus' opening hours on working days and rest
days (told apart by the Chinese calendar, :mod:`config.calendar`), in the hotline's time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from config.calendar import is_workday
from ivr.menu_model import Menus

__all__ = ["is_open"]


def is_open(menus: Menus, when: datetime) -> bool:
    """True when ``when`` (aware) is inside the opening hours."""
    tz = timezone(timedelta(hours=menus.hours.utc_offset_hours))
    local = when.astimezone(tz)
    span = menus.hours.workday if is_workday(local.date()) else menus.hours.restday
    if menus.hours.workday is None and menus.hours.restday is None:
        return True  # no hours configured: always open
    if span is None:
        return False
    t = local.time().replace(tzinfo=None)
    if span.open <= span.close:
        return span.open <= t < span.close
    return t >= span.open or t < span.close  # a span across midnight
