"""Callbacks on a real Asterisk: the callback job originates the citizen's phone into the
shipped ``[hotline-callback]``, the IVR's callback survey runs over FastAGI, the citizen keys
the rating (DTMF from the phone), and the ticket is called back or reopened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from hotline.runtime import Runtime
from tests.tickets.calls import answered, replied, ticket_numbers
from tickets import workflow

from .conftest import make_ivr_config, settings_for
from .people import wait_until

pytestmark = pytest.mark.asterisk

#: Wide enough for the phone's key, sent 2 s after it answers, to land in the GET DATA.
DIGIT_MS = 6000


@pytest.fixture(scope="module")
def keyed_config(tmp_path_factory):
    return make_ivr_config(tmp_path_factory.mktemp("callback"), DIGIT_MS)


@pytest_asyncio.fixture
async def rt(pbx, tmp_path, keyed_config):
    r = Runtime(
        settings_for(
            pbx,
            tmp_path,
            keyed_config,
            # the citizens' phones of sim_extensions.conf: each keys its number's last digit
            callback_channel="Local/{number}@citizen-sim/n",
            callback_delay_s=0.0,
            callback_interval_s=0.5,
            callback_hours="00:00-24:00",
        )
    )
    try:
        await r.start()
        yield r
    finally:
        await r.stop()


async def test_a_replied_ticket_is_called_back_and_rated_by_key(rt) -> None:
    at = datetime.now(UTC) - timedelta(minutes=5)
    # the citizens' phones key their number's last digit: satisfied, dissatisfied
    drafts = answered(at, ["13800000001", "13800000003"], prefix="cb")
    numbers = await ticket_numbers(rt.sessions, drafts)
    await replied(rt.sessions, numbers, at)

    async def rated():
        async with rt.sessions() as s:
            got = {}
            for number in numbers:
                t = await workflow.find(s, number)
                got[number] = (t.status, t.rating)
        return got if all(r for _, r in got.values()) else None

    got = await wait_until(rated, 60, "both citizens' ratings")
    assert got == {
        numbers[0]: ("called_back", "satisfied"),
        numbers[1]: ("reopened", "dissatisfied"),
    }
    async with rt.sessions() as s:
        steps = await workflow.steps_of(s, (await workflow.find(s, numbers[0])).id)
    assert (steps[-1].step, steps[-1].actor) == ("call_back", "ivr-callback")
    assert rt.callbacks is not None and rt.callbacks.asked == 2
