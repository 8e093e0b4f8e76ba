"""Simulated operators that work through the desk API, as a person at a desktop does: sign in
(``POST /api/v1/auth/token``), open the live stream (``/api/v1/me/stream``, the token as the
second subprotocol), sign in to the seat (``POST /api/v1/me/seat/sign-in``: Asterisk's
``QueueAdd``), and on each ``connected`` screen pop search the knowledge base (``GET
/api/v1/knowledge/search``) and submit the call's draft (``POST
/api/v1/me/drafts/{call}/submit`` with an ``Idempotency-Key``); now and then a break
(``POST /api/v1/me/seat/pause`` with a pause code, then ``ready``); the access token
refreshed before it expires; at the end sign out of the seat and of the account.

Why: ``hotline serve`` with the embedded PBX and ``hotline simulate`` then cross the real
interface, HTTP and WebSocket, on every call, so a demo or an end-to-end test exercises what
a desktop uses, not a shortcut past it (issue 11, item 7).

A client only: it knows the API's paths and JSON, the pause codes (handed in, as a desktop is
configured with them) and :class:`agents.operator.SimulatedOperator`, the seeded model of what
an operator decides, so the same seed and call (its ``Linkedid``) give the same kind and
outcome whether a robot submits it or the fallback decides it. It imports nothing of the
server (``pyproject.toml``'s import contract says so). Hand-written because it is the
simulation of a person; httpx and websockets do the I/O.

**Time.** Requests go out at once (a screen pop is answered in milliseconds of real time,
well inside the wrap-up limit at any speed the PBX runs); breaks are drawn in the PBX's time
(``clock``: its virtual seconds, ``speed`` of them per real second), so a break of ten
minutes lasts ten simulated minutes however fast the PBX runs. Tokens live in real time (the
people's clock, as the server keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from agents.operator import SimulatedOperator

__all__ = ["BreakCode", "FleetCounts", "RobotAccount", "RobotFleet", "RobotRefused"]

log = logging.getLogger(__name__)

#: What callers ask, per kind: the robot's description and its knowledge-base query (each
#: finds an article of the starter set, config/knowledge.yaml).
TOPICS: dict[str, tuple[str, ...]] = {
    "consultation": (
        "社保卡丢了怎么补办",
        "住房公积金怎么提取",
        "户口迁入需要什么材料",
        "异地就医备案怎么办理",
        "居住证怎么办理",
        "普通护照怎么申请",
        "新生儿落户",
        "失业保险金怎么申领",
    ),
    "complaint": (
        "夜间施工噪声扰民",
        "物业乱收费",
        "出租车拒载",
        "被拖欠工资",
        "预付卡商家关门不退费",
    ),
    "report": (
        "违章搭建举报",
        "过期食品举报",
        "路边违法停车",
        "工厂排放废气",
    ),
    "help": (
        "家里闻到燃气味",
        "小区停水了",
        "路灯不亮",
        "道路积水内涝",
    ),
    "suggestion": (
        "建议增加公交线路和站点",
        "建议增加生活垃圾清运次数",
        "建议行道树及时修剪",
    ),
}
KIND_LABELS = {
    "consultation": "咨询",
    "complaint": "投诉",
    "report": "举报",
    "help": "求助",
    "suggestion": "建议",
}
#: How often a break takes each pause code (codes not named: weight 1).
BREAK_WEIGHTS = {"restroom": 6.0, "meeting": 2.0, "lunch": 1.0, "training": 1.0}
#: A break lasts this share of its code's limit, drawn evenly.
BREAK_SHARE = (0.2, 0.6)
#: The access token is refreshed when this share of its life has gone.
REFRESH_AT = 0.8
#: Tries of one request that failed on the way (the link, a 5xx, a 503), a short wait between.
TRIES = 3


class RobotRefused(RuntimeError):
    """The API refused a step a robot cannot do without (sign-in, seat sign-in): the message
    has the status and the API's own words."""


@dataclass(frozen=True, slots=True)
class RobotAccount:
    """A simulated operator's account: user name, password (generated, never shown) and the
    seat (its phone's queue member interface)."""

    username: str
    password: str = field(repr=False)
    seat: str


@dataclass(frozen=True, slots=True)
class BreakCode:
    """A pause code an operator may take a break with, and its limit (seconds)."""

    code: str
    limit_s: float


@dataclass(slots=True)
class FleetCounts:
    """What the robots did: operators signed in to their seats, drafts submitted, breaks
    taken, access tokens refreshed, and submissions given up (``failed``)."""

    signed_in: int = 0
    submitted: int = 0
    breaks: int = 0
    refreshed: int = 0
    failed: int = 0


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))[:300]
    except ValueError:
        return r.text[:300]


class DeskRobot:
    """One simulated operator at one seat."""

    def __init__(
        self,
        account: RobotAccount,
        http: httpx.AsyncClient,
        ws_url: str,
        *,
        decider: SimulatedOperator,
        counts: FleetCounts,
        clock: Callable[[], float],
        speed: float,
        breaks_per_hour: float,
        break_codes: Sequence[BreakCode],
    ) -> None:
        self.account = account
        self.http = http
        self.ws_url = ws_url
        self.decider = decider
        self.counts = counts
        self.clock = clock
        self.speed = speed
        self.breaks_per_hour = breaks_per_hour
        self.break_codes = tuple(break_codes)
        self._access = ""
        self._refresh = ""
        self._refresh_due = 0.0
        self._token_lock = asyncio.Lock()
        #: The last ``seq`` of the stream seen (0: none yet).
        self.last_seq = 0
        self.on_call: str | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._listening = asyncio.Event()
        self._handled: set[str] = set()
        self._submitting: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.seat_signed_in = False

    # -- the account -------------------------------------------------------------------------

    async def authenticate(self) -> None:
        """``POST /api/v1/auth/token``; the refresher keeps the token fresh from then on."""
        a = self.account
        r = await self.http.post(
            "/api/v1/auth/token", json={"username": a.username, "password": a.password}
        )
        if r.status_code != 200:
            raise RobotRefused(f"{a.username}: sign-in answered {r.status_code}: {_detail(r)}")
        self._took(r.json())

    def _took(self, tokens: dict[str, Any]) -> None:
        self._access = str(tokens["access_token"])
        self._refresh = str(tokens["refresh_token"])
        self._refresh_due = time.monotonic() + REFRESH_AT * float(tokens["expires_in"])

    async def _refresher(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self._refresh_due - time.monotonic()))
            async with self._token_lock:
                try:
                    r = await self.http.post(
                        "/api/v1/auth/refresh", json={"refresh_token": self._refresh}
                    )
                except httpx.HTTPError as e:
                    log.warning("%s: token refresh failed (%s)", self.account.username, e)
                    self._refresh_due = time.monotonic() + 1.0
                    continue
                if r.status_code == 200:
                    self._took(r.json())
                    self.counts.refreshed += 1
                    continue
                log.warning(
                    "%s: refresh refused (%s): signing in again", self.account.username, r.text
                )
                try:
                    await self.authenticate()
                except (RobotRefused, httpx.HTTPError) as e:
                    log.warning("%s: %s", self.account.username, e)
                    self._refresh_due = time.monotonic() + 1.0

    async def _call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """One request with the access token; tried again after a failure on the way (the
        link, a 5xx), and after a 401 with a fresh sign-in. (Every request a robot makes
        may be repeated: a submission carries its Idempotency-Key.)"""
        r: httpx.Response | None = None
        for attempt in range(TRIES):
            last = attempt + 1 == TRIES
            sent = {"Authorization": f"Bearer {self._access}", **(headers or {})}
            try:
                r = await self.http.request(method, path, headers=sent, **kw)
            except httpx.HTTPError:
                if last:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if r.status_code == 401 and not last:
                async with self._token_lock:
                    await self.authenticate()
            elif r.status_code >= 500 and not last:
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                return r
        assert r is not None
        return r

    # -- the shift ---------------------------------------------------------------------------

    async def open_desk(self) -> None:
        """Signed in, the stream open (the first message read: the server knows someone is
        at the seat), the token refresher running."""
        await self.authenticate()
        self._tasks.append(asyncio.ensure_future(self._refresher()))
        self._tasks.append(asyncio.ensure_future(self._stream()))
        async with asyncio.timeout(30.0):
            await self._listening.wait()

    async def sign_in_to_seat(self) -> None:
        r = await self._call("POST", "/api/v1/me/seat/sign-in", json={})
        if r.status_code != 200:
            raise RobotRefused(
                f"{self.account.username}: seat sign-in at {self.account.seat} answered "
                f"{r.status_code}: {_detail(r)}"
            )
        self.seat_signed_in = True
        self.counts.signed_in += 1

    def begin_breaks(self) -> None:
        if self.seat_signed_in and self.breaks_per_hour > 0 and self.break_codes:
            self._tasks.append(asyncio.ensure_future(self._breaks()))

    async def finish(self) -> None:
        """The end of the shift: no more breaks, the seat signed out, the stream closed, the
        sign-in ended."""
        self._stopping = True
        for task in self._tasks[2:]:  # the breaks: not the refresher nor the stream yet
            task.cancel()
        if self.seat_signed_in:
            try:
                r = await self._call("POST", "/api/v1/me/seat/sign-out")
                if r.status_code != 200:
                    log.warning("%s: seat sign-out: %s", self.account.username, _detail(r))
            except httpx.HTTPError as e:
                log.warning("%s: seat sign-out failed (%s)", self.account.username, e)
            self.seat_signed_in = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._refresh:
            with contextlib.suppress(httpx.HTTPError):
                await self.http.post("/api/v1/auth/logout", json={"refresh_token": self._refresh})
        await self.http.aclose()

    @property
    def busy(self) -> bool:
        """Submissions under way."""
        return bool(self._submitting)

    # -- the live stream ---------------------------------------------------------------------

    async def _stream(self) -> None:
        """Listen to the seat's stream; reconnect (resuming after the last ``seq``) when it
        drops, until the shift ends."""
        while not self._stopping:
            url = self.ws_url + (f"?after={self.last_seq}" if self.last_seq else "")
            try:
                async with connect(
                    url, subprotocols=["bearer", self._access], proxy=None, open_timeout=30
                ) as ws:
                    await self._read(ws)
            except ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd is not None else None
                if code == 4401 and not self._stopping:
                    async with self._token_lock:
                        with contextlib.suppress(RobotRefused, httpx.HTTPError):
                            await self.authenticate()
            except (OSError, InvalidHandshake, TimeoutError) as e:
                log.warning("%s: stream: %s", self.account.username, e)
            if not self._stopping:
                await asyncio.sleep(0.1)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            self.last_seq = max(self.last_seq, int(msg.get("seq", 0)))
            kind = msg.get("kind")
            if kind == "snapshot":
                call = msg.get("call") or None
                self._set_call(call.get("call") if call else None)
                for uid in msg.get("open_drafts", ()):
                    linkedid = call.get("linkedid") if call and call.get("call") == uid else None
                    self._spawn_submit(str(uid), linkedid)
                self._listening.set()
            elif kind == "connected":
                self._set_call(str(msg.get("call", "")) or None)
                if msg.get("draft"):
                    self._spawn_submit(str(msg["call"]), str(msg["linkedid"]))
            elif kind == "ended" and msg.get("call") == self.on_call:
                self._set_call(None)

    def _set_call(self, call: str | None) -> None:
        self.on_call = call
        if call is None:
            self._idle.set()
        else:
            self._idle.clear()

    # -- the ticket --------------------------------------------------------------------------

    def _spawn_submit(self, call: str, linkedid: str | None) -> None:
        if call in self._handled:
            return
        self._handled.add(call)
        task = asyncio.ensure_future(self._submit(call, linkedid))
        self._submitting.add(task)
        task.add_done_callback(self._submitting.discard)

    async def _submit(self, call: str, linkedid: str | None) -> None:
        try:
            if linkedid is None:
                r = await self._call("GET", f"/api/v1/me/drafts/{call}")
                if r.status_code != 200:
                    raise RobotRefused(f"draft {call}: {r.status_code} {_detail(r)}")
                linkedid = str(r.json()["linkedid"])
            body = await self.write_ticket(linkedid)
            r = await self._call(
                "POST",
                f"/api/v1/me/drafts/{call}/submit",
                json=body,
                headers={"Idempotency-Key": f"{self.account.username}/{call}"},
            )
            if r.status_code != 200:
                raise RobotRefused(f"submit {call}: {r.status_code} {_detail(r)}")
            self.counts.submitted += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.counts.failed += 1
            log.warning("%s: a draft not submitted: %s", self.account.username, e)

    async def write_ticket(self, linkedid: str) -> dict[str, Any]:
        """What the operator hands in for the call: the seeded decision (kind, resolved on
        the spot) and what the caller asked; the answer, when resolved, from the best
        article the knowledge base finds for it."""
        decision = self.decider.decide(linkedid)
        rng = random.Random(f"{self.decider.seed}/desk/{linkedid}")
        topic = rng.choice(TOPICS.get(decision.kind, TOPICS["consultation"]))
        label = KIND_LABELS.get(decision.kind, decision.kind)
        body: dict[str, Any] = {"kind": decision.kind, "description": f"来电{label}：{topic}"}
        hits: list[dict[str, Any]] = []
        r = await self._call("GET", "/api/v1/knowledge/search", params={"q": topic, "limit": 3})
        if r.status_code == 200:
            hits = r.json()
        if decision.resolved_on_call:
            if hits:
                best = hits[0]
                body["answer"] = f"按知识库《{best['title']}》答复：{best['snippet']}"
            else:
                body["answer"] = "已当场答复来电人"
        return body

    # -- breaks ------------------------------------------------------------------------------

    async def _until(self, moment: float) -> None:
        """Wait until the PBX's clock reaches ``moment`` (a clock, not an event: polled)."""
        while (left := moment - self.clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(1.0, max(0.005, left / self.speed)))

    async def _breaks(self) -> None:
        rng = random.Random(f"{self.decider.seed}/breaks/{self.account.username}")
        weights = [BREAK_WEIGHTS.get(c.code, 1.0) for c in self.break_codes]
        while True:
            await self._until(self.clock() + rng.expovariate(self.breaks_per_hour / 3600.0))
            await self._idle.wait()  # not in the middle of a call
            code = rng.choices(self.break_codes, weights)[0]
            length = rng.uniform(*BREAK_SHARE) * code.limit_s
            try:
                r = await self._call("POST", "/api/v1/me/seat/pause", json={"code": code.code})
            except httpx.HTTPError as e:
                log.warning("%s: pause failed (%s)", self.account.username, e)
                continue
            if r.status_code != 200:
                log.warning("%s: pause refused: %s", self.account.username, _detail(r))
                continue
            self.counts.breaks += 1
            await self._until(self.clock() + length)
            r = await self._call("POST", "/api/v1/me/seat/ready")
            if r.status_code != 200:
                log.warning("%s: ready refused: %s", self.account.username, _detail(r))


class RobotFleet:
    """The simulated operators of one PBX, against the API at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        accounts: Sequence[RobotAccount],
        *,
        decider: SimulatedOperator,
        clock: Callable[[], float],
        speed: float,
        breaks_per_hour: float = 0.0,
        break_codes: Sequence[BreakCode] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.counts = FleetCounts()
        ws_url = "ws" + self.base_url.removeprefix("http") + "/api/v1/me/stream"
        self.robots = [
            DeskRobot(
                a,
                # each its own connections, as each desktop has: one pool for all would be
                # looked through on every request (httpcore), a cost that grows with the seats
                httpx.AsyncClient(
                    base_url=self.base_url,
                    timeout=30.0,
                    trust_env=False,  # the process's own port: never through a proxy
                    limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
                ),
                ws_url,
                decider=decider,
                counts=self.counts,
                clock=clock,
                speed=speed,
                breaks_per_hour=breaks_per_hour,
                break_codes=break_codes,
            )
            for a in accounts
        ]

    async def start(self) -> None:
        """Every robot signed in with its stream open (all at once), then signed in to its
        seat one after the other, in the order given: Asterisk's ring order is the order
        of the ``QueueAdd``\\ s, so the same seats give the same run."""
        await asyncio.gather(*(r.open_desk() for r in self.robots))
        for robot in self.robots:
            await robot.sign_in_to_seat()

    def begin_breaks(self) -> None:
        """Every robot takes breaks from now on (drawn on the PBX's clock from now)."""
        for robot in self.robots:
            robot.begin_breaks()

    def seen(self, seat: str) -> int:
        """The last ``seq`` the robot at ``seat`` has read of its stream (0: none)."""
        return max((r.last_seq for r in self.robots if r.account.seat == seat), default=0)

    @property
    def busy(self) -> bool:
        return any(r.busy for r in self.robots)

    async def stop(self) -> None:
        """Every robot finishes its shift (signs out); the connections close."""
        await asyncio.gather(*(r.finish() for r in self.robots), return_exceptions=True)
