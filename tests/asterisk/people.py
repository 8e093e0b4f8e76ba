"""The tests' simulated people on a real Asterisk (``sim_extensions.conf``), driven over AMI
through the gateway: seats (``Local/8001@agents/n``) and callers originated into the shipped
dialplan (``Local/12345@callers/n``, the caller's phone in ``[caller-sim]``)."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from pbx.gateway import AmiGateway
from pbx.private_asterisk import PrivateAsterisk

#: Caller names as the citizens' phones send them (raw UTF-8 on the wire).
NAMES = [
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄晓明",
    "周杰",
    "吴秀英",
    "徐丽",
    "孙强",
    "马超",
    "朱婷",
    "胡军",
    "郭靖",
    "何欢",
    "高峰",
    "林晓",
    "罗娟",
]


def seat_interface(n: int) -> str:
    return f"Local/{n}@agents/n"


async def add_seats(
    gw: AmiGateway, seats: list[int], queue: str = "hotline", *, penalty: int = 0
) -> None:
    for n in seats:
        await gw.add_member(
            queue,
            seat_interface(n),
            member_name=f"座席{n}",
            penalty=penalty,
            state_interface=f"Local/{n}@agents",
        )


@dataclass
class Caller:
    name: str
    number: str
    patience: float | None = None
    talk: float = 3
    maxwait: int | None = None
    keys: str = ""
    survey: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def caller_id(self) -> str:
        return f'"{self.name}" <{self.number}>'

    def variables(self) -> dict[str, str]:
        v = {"__TALK": f"{self.talk:g}"}
        if self.patience is not None:
            v["PATIENCE"] = f"{self.patience:g}"
        if self.maxwait is not None:
            v["MAXWAIT"] = str(self.maxwait)
        if self.keys:
            v["KEYS"] = self.keys
        if self.survey:
            v["SURVEY"] = self.survey
        v.update(self.extra)
        return v


async def call(gw: AmiGateway, c: Caller, *, exten: str = "12345") -> str:
    """Place the call; returns once Asterisk has answered it (``OriginateResponse``), so
    that its channels exist (an ``Async`` originate answers before they do). Its Uniqueid."""
    r = await gw.originate(
        f"Local/{exten}@callers/n",
        context="caller-sim",
        exten="s",
        caller_id=c.caller_id,
        variables=c.variables(),
        timeout_ms=10000,
        wait=True,
    )
    assert r.success and r.uniqueid, r
    return r.uniqueid


async def wait_until(pred, timeout: float, what: str, every: float = 0.2):
    """Await ``pred()`` (a coroutine function) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        got = await pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(every)


async def wait_quiet(gw: AmiGateway, timeout: float = 90.0) -> None:
    """Until Asterisk has no channel left and nobody waits in a queue."""

    async def quiet() -> bool:
        state = await gw.queue_status()
        return not state.entries and not await gw.channels()

    await wait_until(quiet, timeout, "Asterisk to have no calls left")


def queue_show(pbx: PrivateAsterisk, queue: str) -> dict[str, int]:
    """``queue show <queue>``'s counters: W (waiting), C (completed), A (abandoned)."""
    out = pbx.cli(f"queue show {queue}")
    m = re.search(r"has (\d+) calls.*?W:(\d+), C:(\d+), A:(\d+)", out)
    assert m, out
    return {"calls": int(m[1]), "W": int(m[2]), "C": int(m[3]), "A": int(m[4])}


class Driver:
    """A second AMI login with the gateway over it (the recordings' driver connection)."""

    def __init__(self, pbx: PrivateAsterisk) -> None:
        from config.settings import AmiTarget
        from pbx.ami import AmiLink

        t = AmiTarget.parse(pbx.ami_url)
        self.link = AmiLink(
            host=t.host,
            port=t.port,
            username=t.username,
            secret=t.secret,
            on_event=lambda e: None,
            action_timeout=10.0,
            backoff_base=0.2,
            backoff_cap=1.0,
        )
        self.gw = AmiGateway(self.link)

    async def __aenter__(self) -> AmiGateway:
        await self.link.connect()
        return self.gw

    async def __aexit__(self, *exc: object) -> None:
        await self.link.close()


async def eventually(check, timeout: float = 5.0, what: str = "") -> None:
    """Until ``check()`` (plain, sync) is true. Asterisk publishes events on its own threads:
    the event an action causes can arrive after the action's response."""

    async def pred() -> bool:
        return bool(check())

    await wait_until(pred, timeout, what or getattr(check, "__name__", "a condition"), 0.05)
