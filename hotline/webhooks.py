"""Webhook deliveries of the service's jobs (escalations of overdue tickets, early warnings of
ticket bursts): a JSON POST handed over and delivered by a task of its own, so the job that
hands it over never waits for a webhook.

**Never blocking, nothing lost while running.** At most ``parallel`` posts are in flight;
each is retried with a doubling back-off (``first_backoff_s`` up to ``max_backoff_s``) until
the webhook answers 2xx, then its ``then`` callback runs (the supervision job records the
escalation there). A delivery handed over under a key already being delivered is dropped:
the first one is on its way. ``after`` chains a delivery behind another one (an alert's
clearing behind the alert itself). Webhook URLs may carry a token: logs name what was
delivered (``what``), never the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import httpx

from hotline.periodic import every

__all__ = ["PARALLEL", "PostingJob", "WebhookPoster"]

log = logging.getLogger(__name__)

#: Posts in flight at once.
PARALLEL = 8


class WebhookPoster:
    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        parallel: int = PARALLEL,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._gate = asyncio.Semaphore(parallel)
        self._deliveries: dict[Hashable, asyncio.Task[None]] = {}
        #: Posts a webhook accepted (2xx).
        self.sent = 0
        #: Posts that failed (each retried).
        self.failed_attempts = 0

    @property
    def pending(self) -> int:
        return len(self._deliveries)

    def delivering(self, key: Hashable) -> asyncio.Task[None] | None:
        return self._deliveries.get(key)

    def post(
        self,
        key: Hashable,
        url: str | None,
        body: dict[str, Any],
        what: str,
        *,
        then: Callable[[], Awaitable[None]] | None = None,
        after: asyncio.Task[None] | None = None,
    ) -> bool:
        """Hand a delivery over (without waiting for it); False if ``key`` is on its way
        already. No ``url``: nothing is posted, ``then`` still runs."""
        if key in self._deliveries:
            return False
        task = asyncio.get_running_loop().create_task(self._deliver(url, body, what, then, after))
        self._deliveries[key] = task
        task.add_done_callback(lambda _t: self._deliveries.pop(key, None))
        return True

    async def drain(self) -> None:
        """Wait for the deliveries handed over so far (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries.values(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the deliveries in progress and close the client."""
        tasks = list(self._deliveries.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self._client.aclose()

    async def _deliver(
        self,
        url: str | None,
        body: dict[str, Any],
        what: str,
        then: Callable[[], Awaitable[None]] | None,
        after: asyncio.Task[None] | None,
    ) -> None:
        if after is not None:
            await asyncio.wait([after])  # its outcome is its own: this one goes out anyway
        backoff = self.first_backoff_s
        while url:
            async with self._gate:
                ok = await self._post(url, body, what)
            if ok:
                self.sent += 1
                break
            self.failed_attempts += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        if then is not None:
            await then()

    async def _post(self, url: str, body: dict[str, Any], what: str) -> bool:
        try:
            r = await self._client.post(url, json=body)
        except httpx.HTTPError as e:
            log.warning("%s failed: %s", what, e)
            return False
        if r.is_success:
            return True
        log.warning("%s answered %s", what, r.status_code)
        return False


class PostingJob:
    """A periodic job whose findings go out as webhooks (the supervision scans, the early
    warning): its loop (:func:`hotline.periodic.every`, ``run_once`` every ``interval_s``)
    and its :class:`WebhookPoster`, started and stopped together."""

    #: Named in the log line of a failed round.
    what = "periodic job"

    def __init__(
        self,
        *,
        interval_s: float,
        timeout_s: float = 5.0,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.poster = WebhookPoster(
            timeout_s=timeout_s,
            first_backoff_s=first_backoff_s,
            max_backoff_s=max_backoff_s,
            transport=transport,
        )
        self._loop_task: asyncio.Task[None] | None = None

    async def run_once(self) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(
            every(self.interval_s, self.run_once, self.what, log)
        )

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        await self.poster.close()

    async def drain(self) -> None:
        """Wait for the deliveries handed over so far (tests, shutdown)."""
        await self.poster.drain()
