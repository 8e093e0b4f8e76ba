"""The shipped configuration (``pbx/asterisk/``) is the one that runs: a private Asterisk
starts from exactly those files, loads what they name, and lets the backend's AMI user do
what the backend needs and nothing more."""

from __future__ import annotations

import asyncio
import difflib
import os
import socket

import pytest

from config.settings import AmiTarget
from pbx.ami import AmiActionError, AmiLink
from pbx.private_asterisk import CONF_FILES, SHIPPED_DIR

from .people import add_seats, seat_interface

pytestmark = pytest.mark.asterisk

SHIPPED_QUEUES = [
    "hotline",
    "urgent",
    "xiaoshan",
    "yuhang",
    "fuyang",
    "tonglu",
    "chunan",
    "jiande",
    "linan",
]


def test_only_ports_paths_and_secrets_differ_from_the_shipped_files(pbx) -> None:
    allowed = (
        "ast",
        "port",
        "bindaddr",
        "secret",
        "udpbindaddr",
        "rtpstart",
        "rtpend",
        "HOTLINE_AGI",
        "#include",
        "load =>",
        "; added by the test harness",
        # no queue_log database given: the file alone (pbx/private_asterisk.py)
        "noload => res_config_pgsql.so",
        "queue_log => pgsql",  # ... commented out
        ";queue_log =>",
    )
    for name in CONF_FILES:
        shipped = (SHIPPED_DIR / name).read_text("utf-8").splitlines()
        ran = (pbx.etc / name).read_text("utf-8").splitlines()
        for line in difflib.unified_diff(shipped, ran, lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")) or line[1:].strip() == "":
                continue
            assert line[1:].lstrip().startswith(allowed), f"{name}: {line}"


def test_the_shipped_modules_queues_and_peers_are_loaded(pbx) -> None:
    modules = pbx.cli("module show")
    for m in ("app_queue.so", "res_agi.so", "chan_sip.so", "pbx_config.so", "res_musiconhold.so"):
        assert m in modules, m
    # exactly what modules.conf (plus the tests' own two) names: autoload = no
    loaded = {w for line in modules.splitlines() for w in line.split()[:1] if w.endswith(".so")}
    wanted = {
        line.split("=>")[1].split(";")[0].strip()
        for line in (pbx.etc / "modules.conf").read_text("utf-8").splitlines()
        if line.startswith("load =>")
    }
    assert loaded == wanted
    queues = pbx.cli("queue show")
    for q in SHIPPED_QUEUES:
        assert f"{q} has 0 calls" in queues, q
    assert "wrapuptime" not in queues  # sanity: the summary format we parse elsewhere
    peers = pbx.cli("sip show peers")
    assert "seat8001" in peers and "seat8002" in peers
    dialplan = pbx.cli("dialplan show 12345@hotline-in")
    assert f"agi://127.0.0.1:{pbx.agi_port}" in pbx.cli("dialplan show globals")
    assert "Queue(${IVR_QUEUE},c,,,${MAXWAIT})" in dialplan


def test_stop_leaves_nothing_running(pbx) -> None:
    pid = pbx.proc.pid
    pbx.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", pbx.ami_port), 1):
        pass


async def _login(pbx, record: list[bytes] | None = None, secret: str | None = None) -> AmiLink:
    t = AmiTarget.parse(pbx.ami_url)
    link = AmiLink(
        host=t.host,
        port=t.port,
        username=t.username,
        secret=secret or t.secret,
        on_event=lambda e: None,
        record_raw=record.append if record is not None else None,
        action_timeout=10.0,
    )
    await link.connect()
    return link


async def test_the_ami_user_may_do_what_the_backend_needs_and_no_more(pbx, driver) -> None:
    # allowed: every gateway action (the full matrix is in test_gateway.py)
    await add_seats(driver, [8001])
    await driver.pause_member(seat_interface(8001), True, queue="hotline", reason="培训")
    await driver.setvar("HOTLINE_TEST", "1")
    assert await driver.getvar("HOTLINE_TEST") == "1"
    # refused: CLI commands, configuration, originating into an application like System
    for action in (
        {"Action": "Command", "Command": "core show uptime"},
        {"Action": "GetConfig", "Filename": "manager.conf"},
        {
            "Action": "Originate",
            "Channel": "Local/s@parked",
            "Application": "System",
            "Data": "true",
            "Async": "true",
        },
    ):
        with pytest.raises(AmiActionError) as err:
            await driver.link.action(action)
        assert err.value.message in (
            "Permission denied",
            "Originate Access Forbidden: app or data blacklisted",
        )


async def test_events_are_filtered_to_what_the_controller_reads(pbx, driver) -> None:
    raw: list[bytes] = []
    link = await _login(pbx, raw)
    try:
        await add_seats(driver, [8001])
        await driver.originate("Local/s@parked", context="parked", exten="s", variables={"X": "1"})
        await asyncio.sleep(1.0)
        chans = await driver.channels()
        assert chans
        for c in chans:
            if c.channel.endswith(";1"):  # the ;2 half goes with it
                await driver.hangup(c.channel)
        await asyncio.sleep(0.5)
        await link.ping()
    finally:
        await link.close()
    data = b"".join(raw)
    assert b"Event: QueueMemberAdded" in data
    assert b"Event: Hangup" in data
    for noisy in (b"Event: VarSet", b"Event: Newexten", b"Event: Newchannel", b"Event: Cdr"):
        assert noisy not in data


async def test_a_wrong_secret_is_refused(pbx) -> None:
    from pbx.ami import AmiAuthError

    with pytest.raises(AmiAuthError):
        await _login(pbx, secret="wrong")
