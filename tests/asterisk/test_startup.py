"""``hotline serve`` started before Asterisk: it keeps trying and follows Asterisk once it is
up (a site reboots both machines at once; systemd starts them in either order)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from hotline.runtime import Runtime

from .conftest import settings_for
from .people import Driver, add_seats, wait_until

pytestmark = pytest.mark.asterisk


async def test_serve_started_before_asterisk_connects_once_it_is_up(
    pbx_unstarted, tmp_path, ivr_config
) -> None:
    rt = Runtime(settings_for(pbx_unstarted, tmp_path, ivr_config))
    starting = asyncio.create_task(rt.start())
    try:
        await asyncio.sleep(2.0)
        if starting.done():
            starting.result()  # Asterisk not up is an outage: start() returned, not raised
        assert not rt.ami_connected
        pbx_unstarted.start()
        await asyncio.wait_for(starting, 30)

        async def up() -> bool:
            return rt.ami_connected

        await wait_until(up, 30, "the controller to log in")
        async with Driver(pbx_unstarted) as gw:
            await add_seats(gw, [8001])
        await rt.settle()
        assert "Local/8001@agents/n" in rt.controller.seats.seats
    finally:
        starting.cancel()
        with contextlib.suppress(BaseException):
            await starting
        await rt.stop()
