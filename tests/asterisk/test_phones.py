"""Real SIP phones (pyVoIP, ``pbx/phones.py``) as seats: registered to the private Asterisk as
peers of the shipped ``sip.conf``, queue members ``SIP/<peer>``, rung by ``Queue()``. They
answer, send audio for the talk time and hang up; the controller's books still equal
Asterisk's, and a seat whose phone is not registered counts as ``unavailable``."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import sqlite3

import pytest

from pbx.private_asterisk import free_port

from .conftest import make_ivr_config, make_pbx, settings_for
from .people import Caller, Driver, call, eventually, wait_quiet

pytestmark = pytest.mark.asterisk
pyVoIP = pytest.importorskip("pyVoIP", reason="pyVoIP is not installed")

Q = "hotline"


def _phone(pbx, peer: str, talk_s: float):
    from pbx.phones import SeatPhone

    low = 41000 + 20 * random.randrange(900)  # above Asterisk's RTP range, one range a phone
    return SeatPhone(
        "127.0.0.1",
        pbx.sip_port,
        peer,
        pbx.sip_secrets[peer],
        sip_port=free_port(socket.SOCK_DGRAM),
        rtp_ports=(low, low + 19),
        talk_s=talk_s,
    )


async def test_sip_seats_answer_and_an_unregistered_one_is_unavailable(
    pbx, runtime, tmp_path
) -> None:
    seat1, seat2 = _phone(pbx, "seat8001", 2.0), _phone(pbx, "seat8002", 2.0)
    board = runtime.controller.seats.seats
    try:
        await asyncio.to_thread(seat1.start)
        await asyncio.to_thread(seat2.start)
        async with Driver(pbx) as gw:
            for peer in ("seat8001", "seat8002"):
                iface = f"SIP/{peer}"
                await gw.add_member(Q, iface, member_name=f"座席{peer[4:]}", state_interface=iface)
            await eventually(lambda: len(board) == 2, what="both seats on the board")
            now = runtime.now
            assert {s.state(now()) for s in board.values()} == {"ready"}

            await asyncio.to_thread(seat2.stop)  # de-registers: the device goes unavailable
            await eventually(
                lambda: board["SIP/seat8002"].state(now()) == "unavailable", 10, "unavailable"
            )
            assert board["SIP/seat8001"].state(now()) == "ready"

            callers = [Caller(f"市民{i}", f"1380000{i:04d}", patience=25) for i in range(3)]
            for c in callers:
                await call(gw, c)
                await asyncio.sleep(0.3)
            await wait_quiet(gw, 60)
            await runtime.settle()
            status = await gw.queue_status(Q)
    finally:
        for phone in (seat1, seat2):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(phone.stop)

    params = status.params[Q]
    st = runtime.controller.calls.stats[Q]
    assert st.offered == 3 == st.answered + st.abandoned
    assert (st.answered, st.abandoned) == (params.completed, params.abandoned)
    assert st.answered >= 1  # one seat, wrap-up 10 s: the others may run out of patience
    members = {m.interface: m for m in status.members}
    assert members["SIP/seat8002"].status == 5  # AST_DEVICE_UNAVAILABLE
    assert board["SIP/seat8001"].calls_taken == seat1.stats.answered == st.answered
    assert seat2.stats.rung == 0
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        rows = db.execute("SELECT seat, caller_name FROM tickets").fetchall()
    assert len(rows) == st.answered
    assert {r[0] for r in rows} == {"座席8001"}


#: Citizens' phones registered to Asterisk (a site's callers come over a trunk instead).
CALLER_PEERS = """
[caller2001](seat)
context = callers
callerid = "市民" <13900002001>
secret = set-by-the-harness
call-limit = 10
"""


@pytest.fixture
def sip_pbx(asterisk_install, tmp_path, keyed_config):
    a = make_pbx(asterisk_install, tmp_path / "asterisk", keyed_config, extra_sip=CALLER_PEERS)
    try:
        a.start()
        yield a
    finally:
        a.stop()


@pytest.fixture(scope="module")
def keyed_config(tmp_path_factory):
    return make_ivr_config(tmp_path_factory.mktemp("keyed"), 4000)


async def test_a_sip_caller_keys_the_ivr_and_talks_to_a_sip_seat(
    sip_pbx, tmp_path, keyed_config
) -> None:
    from hotline.runtime import Runtime
    from pbx.phones import CallerPhone

    pbx = sip_pbx
    rt = Runtime(settings_for(pbx, tmp_path, keyed_config))
    seat = _phone(pbx, "seat8001", 2.0)
    low = 41000 + 20 * random.randrange(900)
    caller = CallerPhone(
        "127.0.0.1",
        pbx.sip_port,
        "caller2001",
        pbx.sip_secrets["caller2001"],
        sip_port=free_port(socket.SOCK_DGRAM),
        rtp_ports=(low, low + 19),
    )
    try:
        await rt.start()
        await asyncio.to_thread(seat.start)
        await asyncio.to_thread(caller.start)
        async with Driver(pbx) as gw:
            await gw.add_member("urgent", "SIP/seat8001", member_name="座席8001")
            # 1: Mandarin; 6: urgent outages. The seat talks 2 s and hangs up.
            ended = await asyncio.to_thread(
                caller.dial, "12345", keys="16", first_key_s=1.0, key_gap_s=1.0, patience_s=40
            )
            await wait_quiet(gw, 30)
            await rt.settle()
            status = await gw.queue_status("urgent")
    finally:
        for phone in (caller, seat):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(phone.stop)
        await rt.stop()
    assert ended == "remote"  # Asterisk's BYE reached the caller (pyVoIP's ACK fixed)
    st = rt.controller.calls.stats["urgent"]
    assert st.offered == st.answered == status.params["urgent"].completed == 1
    assert seat.stats.answered == 1 and seat.stats.hung_up_by_seat == 1
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        rows = db.execute("SELECT queue, seat, caller_num, caller_name FROM tickets").fetchall()
    assert rows == [("urgent", "座席8001", "13900002001", "市民")]


async def test_hotline_phones_runs_seats_and_callers(sip_pbx) -> None:
    import json
    import os
    import sys

    pbx = sip_pbx
    env = dict(os.environ)
    env["HOTLINE_AMI_URL"] = pbx.ami_url
    env["HOTLINE_SIP_SECRETS"] = ",".join(f"{p}={s}" for p, s in pbx.sip_secrets.items())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.cli", "phones",
        "--seats", "seat8001..seat8002", "--callers", "caller2001", "--queue", "hotline",
        "--port", str(pbx.sip_port), "--calls", "2", "--calls-per-minute", "30",
        "--talk-mean", "2", "--patience-mean", "40", "--seed", "1",
        "--rtp-base", str(41000 + 20 * random.randrange(800)),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["seats"] == 2 and summary["calls"] == 2
    async with Driver(pbx) as gw:
        status = await gw.queue_status("hotline")
    members = {m.interface: m for m in status.members}
    assert set(members) == {"SIP/seat8001", "SIP/seat8002"}
    # the phones stopped: de-registered, so Asterisk sees the devices unavailable
    assert {m.status for m in members.values()} == {5}
    params = status.params["hotline"]
    assert params.completed == summary["answered"]
    assert params.completed + params.abandoned == 2
