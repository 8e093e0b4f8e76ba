"""Working days by China's official calendar (package ``chinesecalendar``, imported as
``chinese_calendar``): public holidays off, weekend days made working days on. The IVR's
opening hours and the traffic model both ask it, so it is written once, here.

The package knows the years the State Council has published; for a later year (or without the
package) Monday to Friday are the working days, and :func:`calendar_last_year` tells the
configuration check to warn about it.
"""

from __future__ import annotations

import functools
from datetime import date

__all__ = ["calendar_last_year", "day_kind", "is_workday"]


def calendar_last_year() -> int | None:
    """The last year whose holidays the calendar knows; None without the package."""
    try:
        from chinese_calendar import constants
    except ImportError:
        return None
    return int(max(d.year for d in constants.holidays))


def is_workday(day: date) -> bool:
    """A working day by the Chinese calendar (holidays off, make-up weekend days on); for
    years the calendar does not know yet, Monday to Friday."""
    return day_kind(day) == "workday"


@functools.lru_cache(maxsize=1024)  # asked for every call the IVR takes; a date's kind is fixed
def day_kind(on: date) -> str:
    """``workday``, ``weekend`` or ``holiday`` (a named public holiday) for a date."""
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - a dependency; Monday to Friday then
        chinese_calendar = None
    if chinese_calendar is not None:
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(on)
        except NotImplementedError:  # a year the calendar does not know
            pass
        else:
            if not is_holiday:
                return "workday"
            return "holiday" if name else "weekend"
    return "workday" if on.weekday() < 5 else "weekend"
