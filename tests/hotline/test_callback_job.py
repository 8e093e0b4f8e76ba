"""The callback job: replied tickets called back through an AMI Originate into the callback
survey, inside the calling hours, each attempt counted before the call is asked for and given
back when it could not be; retried, then left to an operator; a rating ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from hotline.callback_job import CONTEXT, CallbackJob
from pbx.ami_actions import AmiNotConnected
from pbx.gateway import OriginateResult
from tests.tickets.calls import answered, replied, ticket_numbers
from tickets import callbacks, workflow
from tickets.db import session_factory
from tickets.models import Ticket

REPLIED_AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 at the centre
RULES = callbacks.CallbackRules(delay=timedelta(hours=1), attempts=2, retry=timedelta(hours=2))


class FakeGateway:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, str]]] = []
        self.down = False

    async def originate(self, channel: str, **kw) -> OriginateResult:  # type: ignore[no-untyped-def]
        if self.down:
            raise AmiNotConnected("the AMI link is down")
        self.calls.append((channel, kw["context"], kw["exten"], dict(kw["variables"])))
        return OriginateResult(queued=True)


async def _replied(sessions, nums: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    numbers = await ticket_numbers(sessions, answered(REPLIED_AT, nums))
    await replied(sessions, numbers, REPLIED_AT)
    return numbers


async def test_replied_tickets_are_called_back_retried_then_left_to_an_operator(engine) -> None:
    sessions = session_factory(engine)
    first, withheld = await _replied(sessions, ["13812345671", ""])
    gw = FakeGateway()
    now = [REPLIED_AT.timestamp()]
    job = CallbackJob(
        lambda: sessions,
        lambda: gw,  # type: ignore[arg-type,return-value]
        lambda: now[0],
        channel="SIP/carrier/{number}",
        rules=RULES,
    )
    assert await job.round() == []  # replied just now: not yet
    now[0] += 3600 * 14  # Tuesday 00:00: outside the calling hours
    assert await job.round() == []
    now[0] = (REPLIED_AT + timedelta(hours=2)).timestamp()  # Monday 12:00
    gw.down = True
    assert await job.round() == [] and job.not_asked == 1
    gw.down = False
    (called,) = await job.round()  # the attempt given back above: the first again
    assert (called.number, called.attempt) == (first, 1)
    assert gw.calls == [("SIP/carrier/13812345671", CONTEXT, "s", {"TICKET": first})]
    assert await job.round() == []  # the retry interval has not passed
    now[0] += 2 * 3600 + 1
    (again,) = await job.round()
    assert again.attempt == 2
    now[0] += 2 * 3600 + 1
    assert await job.round() == []  # attempts ran out
    async with sessions() as s:
        left = await callbacks.pending(s, RULES, automatic=True)
        everyone = await callbacks.pending(s, RULES, automatic=False)
    assert {t.number for t in left} == {first, withheld}  # and the number that was withheld
    assert {t.number for t in everyone} == {first, withheld}
    assert len(gw.calls) == 2


async def test_a_rating_ends_the_calls(engine) -> None:
    sessions = session_factory(engine)
    (number,) = await _replied(sessions, ["13812345671"])
    gw = FakeGateway()
    at = (REPLIED_AT + timedelta(hours=2)).timestamp()
    job = CallbackJob(
        lambda: sessions,
        lambda: gw,  # type: ignore[arg-type,return-value]
        lambda: at,
        channel="Local/{number}@citizens",
        rules=RULES,
    )
    assert len(await job.round()) == 1
    async with sessions() as s:
        got = await workflow.record_callback(s, number, 2, REPLIED_AT + timedelta(hours=2))
    assert got == "applied"
    async with sessions() as s, s.begin():  # even were the retry due, it is called back now
        await s.execute(update(Ticket).values(callback_last_at=None))
    assert await job.round() == []
    async with sessions() as s:
        t = await s.scalar(select(Ticket))
    assert (t.status, t.rating, t.callback_attempts) == ("called_back", "basically_satisfied", 1)


async def test_operators_see_the_callbacks_left_to_them(engine) -> None:
    from types import SimpleNamespace

    import httpx

    from agents.roles import Role
    from config.settings import Settings
    from hotline.app import create_app
    from tests.agents.signin import make_user, tokens

    sessions = session_factory(engine)
    numbers = await _replied(sessions, ["13812345671", "13812345672"])
    await make_user(sessions, "op1", Role.OPERATOR)
    for channel, expected in [(None, numbers), ("SIP/carrier/{number}", [])]:
        settings = Settings(_env_file=None, callback_channel=channel)
        runtime = SimpleNamespace(sessions=sessions, now=lambda: 0.0, settings=settings)
        app = create_app(runtime)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            token = (await tokens(client, "op1"))["access_token"]
            r = await client.get(
                "/api/v1/callbacks/pending", headers={"Authorization": f"Bearer {token}"}
            )
        # no automatic calls: every replied ticket; with them: none has run out yet
        assert [t["number"] for t in r.json()] == expected, channel


def test_a_callback_channel_without_the_number_is_refused_by_name() -> None:
    import pytest
    from pydantic import ValidationError

    from config.settings import Settings

    with pytest.raises(ValidationError, match=r"put \{number\}"):
        Settings(_env_file=None, callback_channel="SIP/carrier/123")
    with pytest.raises(ValidationError, match="the start must come before the end"):
        Settings(_env_file=None, callback_hours="20:00-09:00")


async def test_the_callback_rate_counts_replies_called_back_after_them(engine) -> None:
    sessions = session_factory(engine)
    numbers = await _replied(sessions, ["13812345671", "13812345672", "13812345673"])
    day = (REPLIED_AT - timedelta(hours=1), REPLIED_AT + timedelta(hours=1))
    async with sessions() as s:
        assert (await callbacks.callback_rate(s, *day)).rate == 0.0
    async with sessions() as s:
        await workflow.record_callback(s, numbers[0], 1, REPLIED_AT + timedelta(days=2))
    async with sessions() as s:
        await workflow.record_callback(s, numbers[1], 3, REPLIED_AT + timedelta(hours=3))
    async with sessions() as s:
        got = await callbacks.callback_rate(s, *day)
        # the reply falls in the day; the call back may come later
        assert (got.replied, got.called_back) == (3, 2) and round(got.rate or 0, 3) == 0.667
        later = await callbacks.callback_rate(
            s, REPLIED_AT + timedelta(days=1), day[1] + timedelta(days=3)
        )
        assert (later.replied, later.rate) == (0, None)
