"""One loop for the service's periodic jobs (supervision scans, callback rounds, relearning the
routing help): run the work, and on a failure (the store down, mostly) log one line and try
again next time; only cancellation ends it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["every"]


async def every(
    interval_s: float, work: Callable[[], Awaitable[Any]], what: str, log: logging.Logger
) -> None:
    """``await work()`` now and every ``interval_s`` seconds after each end, for ever."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("%s failed (%s); next in %.0f s", what, e, interval_s)
        await asyncio.sleep(interval_s)
