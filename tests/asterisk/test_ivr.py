"""Our IVR answers the real ``AGI()`` of the shipped dialplan: the caller's keys (DTMF sent by
the caller's phone, read by ``GET DATA``) choose the queue, the self-service lookup serves a
caller with an open ticket without an operator, and the survey after the call stores its
rating on the call's ticket."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from hotline.runtime import Runtime

from .conftest import make_ivr_config, settings_for
from .people import Caller, add_seats, call, wait_quiet, wait_until

pytestmark = pytest.mark.asterisk

#: Wide enough that a key sent 1 s after the previous one lands in the next GET DATA.
DIGIT_MS = 4000


@pytest.fixture(scope="module")
def keyed_config(tmp_path_factory):
    return make_ivr_config(tmp_path_factory.mktemp("keyed"), DIGIT_MS)


@pytest_asyncio.fixture
async def rt(pbx, tmp_path, keyed_config):
    r = Runtime(settings_for(pbx, tmp_path, keyed_config, instant_resolution_share=0.0))
    try:
        await r.start()
        yield r
    finally:
        await r.stop()


def _ivr_exits(rt: Runtime) -> dict[tuple[str, str], float]:
    out = {}
    for metric in rt.registry.collect():
        if metric.name == "hotline_ivr_sessions":
            for s in metric.samples:
                if s.name.endswith("_total"):
                    out[(s.labels["menu"], s.labels["exit"])] = s.value
    return out


async def test_keys_choose_the_queue(rt, pbx, driver, tmp_path) -> None:
    await add_seats(driver, [8001], "urgent")
    # 1: Mandarin; 6: urgent outages (queue urgent, priority 8)
    await call(driver, Caller("赵敏", "13700000006", talk=1, keys="ww1ww6"))
    await wait_quiet(driver, 40)
    await rt.settle()
    st = rt.controller.calls.stats
    assert st["urgent"].offered == st["urgent"].answered == 1
    assert "hotline" not in st or st["hotline"].offered == 0
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        assert db.execute("SELECT queue, caller_name FROM tickets").fetchall() == [
            ("urgent", "赵敏")
        ]
    enter = [r for r in pbx.queue_log() if len(r) > 4 and r[4] == "ENTERQUEUE"]
    assert [r[2] for r in enter] == ["urgent"]
    assert any(exit_ == "queue" for (_, exit_) in _ivr_exits(rt))


async def test_a_caller_with_an_open_ticket_is_served_by_the_self_service(rt, pbx, driver) -> None:
    from tickets.service import TicketDraft, create_tickets

    now = datetime.now(UTC)
    draft = TicketDraft(
        caller_num="13600000005",
        caller_name="孙强",
        queue="hotline",
        seat="座席8001",
        linkedid="1.1",
        call_uniqueid="1.1",
        joined_at=now,
        answered_at=now,
        ended_at=now,
        kind="consultation",
        resolved_on_call=False,
    )
    assert rt.sessions is not None
    async with rt.sessions() as s, s.begin():
        await create_tickets(s, [draft])
    # the open-ticket offer comes first: 1 = hear its progress; then silence: served
    await call(driver, Caller("孙强", "13600000005", keys="ww1"))
    await wait_quiet(driver, 40)
    await rt.settle()
    exits = _ivr_exits(rt)
    assert sum(v for (_, e), v in exits.items() if e == "self_service") == 1, exits
    assert rt.ivr_metrics.self_served == 1
    assert not [r for r in pbx.queue_log() if len(r) > 4 and r[4] == "ENTERQUEUE"]


async def test_the_survey_after_the_call_rates_its_ticket(rt, pbx, driver, tmp_path) -> None:
    await add_seats(driver, [8001])
    # 1: Mandarin, 0: the operator (queue hotline); the seat talks 2 s and
    # hangs up, then the caller presses 2 (basically satisfied) in the survey
    await call(driver, Caller("周杰", "13500000002", talk=2, keys="ww1ww0", survey="2"))
    db_path = tmp_path / "tickets.db"

    async def rated():
        await rt.settle()
        with sqlite3.connect(db_path) as db:
            return db.execute(
                "SELECT caller_name, satisfaction FROM tickets WHERE satisfaction IS NOT NULL"
            ).fetchall()

    assert await wait_until(rated, 40, "the survey's rating on the ticket") == [("周杰", 2)]
    await wait_quiet(driver, 20)
    assert ("survey", "survey") in _ivr_exits(rt) or any(m == "survey" for (m, _) in _ivr_exits(rt))
