"""The FastAGI server against a scripted Asterisk side (exact bytes), and under load."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from ivr.metrics import IvrMetrics
from ivr.server import StaticDeps, app_of, start_agi_server, stop_agi_server
from pbx.simulator.agi import HANGUP, run_ivr
from tests.ivr.conftest import OPEN_NOW
from tickets.numbers import make_number

ENV = (
    b"agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1:4573/ivr\n"
    b"agi_channel: Local/12345@callers-00000000;2\nagi_language: en\nagi_type: Local\n"
    b"agi_uniqueid: 1795966595.1\nagi_version: 20.20.1\nagi_callerid: 13800001234\n"
    b"agi_calleridname: \xe5\xbc\xa0\xe4\xb8\x89\nagi_callingpres: 0\nagi_callingani2: 0\n"
    b"agi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n"
    b"agi_context: callers\nagi_extension: 12345\nagi_priority: 6\nagi_enhanced: 0.0\n"
    b"agi_accountcode: \nagi_threadid: 140245120001536\nagi_arg_1: 1795966595.0\n\n"
)


@pytest.fixture
async def server(menus):
    metrics = IvrMetrics()
    deps = StaticDeps(now=OPEN_NOW.timestamp)
    srv = await start_agi_server("127.0.0.1", 0, deps, menus=menus, metrics=metrics)
    srv.metrics = metrics  # type: ignore[attr-defined]
    srv.deps = deps  # type: ignore[attr-defined]
    yield srv
    await stop_agi_server(srv)


def _port(srv) -> int:
    return srv.sockets[0].getsockname()[1]


async def _expect(reader: asyncio.StreamReader, line: bytes) -> None:
    got = await asyncio.wait_for(reader.readline(), 2)
    assert got == line


async def _closed(reader: asyncio.StreamReader) -> None:
    assert await asyncio.wait_for(reader.read(), 2) == b""


async def test_conformance_a_call_to_the_queue(server):
    """Asterisk's side written out byte for byte, the environment split mid-character."""
    r, w = await asyncio.open_connection("127.0.0.1", _port(server))
    cut = ENV.index(b"\xe5\xbc\xa0") + 1
    w.write(ENV[:cut])
    await w.drain()
    await asyncio.sleep(0.01)
    w.write(ENV[cut:])
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    w.write(b"200 result=2\n")
    await _expect(r, b"SET VARIABLE CHANNEL(language) en\n")
    w.write(b"200 result=1\n")
    await _expect(r, b"GET DATA hotline/main-menu 5000 1\n")
    w.write(b"200 result= (timeout)\n")  # silence
    await _expect(r, b'STREAM FILE hotline/no-input ""\n')
    w.write(b"200 result=0 endpos=9120\n")
    await _expect(r, b"GET DATA hotline/main-menu 5000 1\n")
    w.write(b"200 result=4\n")
    for name, value in [
        ("IVR_QUEUE", "hotline"),
        ("IVR_SKILL", "suggestion"),
        ("IVR_KIND", "suggestion"),
        ("QUEUE_PRIO", "0"),
        ("IVR_DISTRICT", "city"),
        ("IVR_LANG", "en"),
        ("IVR_MENU", "main"),
        ("IVR_RESULT", "queue"),
    ]:
        await _expect(r, f"SET VARIABLE {name} {value}\n".encode())
        w.write(b"200 result=1\n")
    await _expect(r, b'STREAM FILE hotline/transfer ""\n')
    w.write(b"200 result=0 endpos=12000\n")
    await _closed(r)  # the script ends: Asterisk goes on to Queue()
    w.close()
    await asyncio.sleep(0.01)
    samples = {
        (s.labels.get("menu"), s.labels.get("exit")): s.value
        for m in server.metrics.registry.collect()
        for s in m.samples
        if s.name == "hotline_ivr_sessions_total"
    }
    assert samples == {("main", "queue"): 1.0}


async def test_conformance_hangup_notice_and_511(server):
    r, w = await asyncio.open_connection("127.0.0.1", _port(server))
    w.write(ENV)
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    # the caller hangs up during the prompt: -1, then the HANGUP notice
    w.write(b"200 result=-1\nHANGUP\n")
    await _closed(r)
    w.close()


async def test_conformance_hangup_notice_before_the_answer(server):
    r, w = await asyncio.open_connection("127.0.0.1", _port(server))
    w.write(ENV)
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    w.write(b"200 result=1\n")
    await _expect(r, b"SET VARIABLE CHANNEL(language) zh\n")
    w.write(b"HANGUP\n200 result=1\n")
    await _closed(r)  # nothing more is sent to a dead channel
    w.close()


async def test_conformance_510_and_multiline_520_count_as_a_failed_try(server):
    r, w = await asyncio.open_connection("127.0.0.1", _port(server))
    w.write(ENV)
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    w.write(b"510 Invalid or unknown command\n")
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    w.write(
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b" Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n"
        b"520 End of proper usage.\n"
    )
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    w.write(b"200 result=1\n")
    await _expect(r, b"SET VARIABLE CHANNEL(language) zh\n")
    w.close()


async def test_connection_closed_early_frees_the_session(server):
    app = app_of(server)
    for cut in (0, 40, len(ENV)):
        _r, w = await asyncio.open_connection("127.0.0.1", _port(server))
        w.write(ENV[:cut])
        await w.drain()
        w.close()
    for _ in range(100):
        if app.finished == 3 and not app.writers:
            break
        await asyncio.sleep(0.01)
    assert app.finished == 3 and not app.writers


async def test_garbage_answer_ends_the_session(server):
    r, w = await asyncio.open_connection("127.0.0.1", _port(server))
    w.write(ENV)
    await _expect(r, b"GET DATA hotline/welcome-language 5000 1\n")
    w.write(b"this is not AGI\n")
    await _closed(r)
    w.close()


async def test_survey_attaches_the_answer(server):
    deps = server.deps
    out = await run_ivr(
        "127.0.0.1",
        _port(server),
        {"num": "13800001234", "linkedid": "L1"},
        lambda p: "1" if p == "hotline/survey" else None,
        script="survey",
    )
    assert out["SURVEY_RESULT"] == "1" and out["AGISTATUS"] == "SUCCESS"
    assert deps.surveys == {"L1": 1}


async def test_500_concurrent_sessions(menus):
    """500 callers at once through the real server with the simulated Asterisk side."""
    metrics = IvrMetrics()
    mine = make_number(11)
    deps = StaticDeps(tickets={mine: ("13900000011", "awaiting_routing")}, now=OPEN_NOW.timestamp)
    srv = await start_agi_server("127.0.0.1", 0, deps, menus=menus, metrics=metrics)
    port = _port(srv)
    rng = random.Random(5)
    behaviours = {
        "queue": {"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]},
        "wrong": {"hotline/welcome-language": ["1"], "hotline/main-menu": ["7", "7", "7"]},
        "silent": {},
        "hangup": {"hotline/welcome-language": ["1"], "hotline/main-menu": [HANGUP]},
        "status": {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["5"],
            "hotline/enter-ticket": [mine + "#"],
            "hotline/ticket-done": ["9"],
        },
    }

    def caller(kind: str):
        left = {k: list(v) for k, v in behaviours[kind].items()}
        return lambda p: left[p].pop(0) if left.get(p) else None

    kinds = [rng.choice(list(behaviours)) for _ in range(500)]
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(
            run_ivr(
                "127.0.0.1",
                port,
                {
                    "num": "13900000011" if k == "status" else f"1380000{i:04d}",
                    "uniqueid": f"1795966595.{i}",
                },
                caller(k),
                timeout=30,
            )
            for i, k in enumerate(kinds)
        )
    )
    elapsed = time.perf_counter() - t0
    await stop_agi_server(srv)
    expect = {
        "queue": "queue",
        "wrong": "fallback",
        "silent": "fallback",
        "hangup": None,
        "status": "self_service",
    }
    for k, res in zip(kinds, results, strict=True):
        assert res.get("IVR_RESULT") == expect[k], (k, res)
        assert res["AGISTATUS"] == ("HANGUP" if k in ("hangup", "status") else "SUCCESS")
    assert app_of(srv).finished == 500 and not app_of(srv).writers
    served = sum(1 for k in kinds if k == "status")
    assert metrics.self_service_ratio == pytest.approx(served / 500)
    assert elapsed < 30


async def test_overflowed_callers_are_counted_by_queue_and_reason(menus):
    """A Xiaoshan caller while Xiaoshan has no ready seat and the city one does: sent to the
    city's queue over FastAGI, and counted; once Xiaoshan has a seat, kept there."""
    from config.overflow import OverflowRule, OverflowRules
    from routing.overflow import Overflower, QueueLive

    ready = {"xiaoshan": 0, "hotline": 2}
    overflow = Overflower(
        OverflowRules((OverflowRule("xiaoshan", "hotline", no_ready_seat=True),)),
        lambda q: QueueLive(ready.get(q, 0)),
        OPEN_NOW.timestamp,
    )
    metrics = IvrMetrics()
    deps = StaticDeps(now=OPEN_NOW.timestamp)
    srv = await start_agi_server(
        "127.0.0.1", 0, deps, menus=menus, metrics=metrics, overflow=overflow
    )
    keys = {"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]}

    async def call() -> dict[str, str]:
        left = {k: list(v) for k, v in keys.items()}
        return await run_ivr(
            "127.0.0.1",
            _port(srv),
            {"num": "057182001234", "uniqueid": "1.1"},
            lambda p: left[p].pop(0) if left.get(p) else None,
        )

    def counted() -> float:
        labels = {"from_queue": "xiaoshan", "to_queue": "hotline", "reason": "no_ready_seat"}
        value = metrics.registry.get_sample_value("hotline_calls_overflowed_total", labels)
        return value or 0.0

    try:
        out = await call()
        assert out["IVR_QUEUE"] == "hotline" and out["IVR_OVERFLOW_FROM"] == "xiaoshan"
        assert counted() == 1
        ready["xiaoshan"] = 1
        out = await call()
        assert out["IVR_QUEUE"] == "xiaoshan" and "IVR_OVERFLOW_FROM" not in out
        assert counted() == 1
    finally:
        await stop_agi_server(srv)
