"""The simulated Asterisk side of FastAGI: the environment byte for byte, Asterisk's answers."""

from __future__ import annotations

import asyncio

from pbx.simulator.agi import HANGUP, AgiCallInfo, AsteriskAgiSide, environment, run_ivr


def test_environment_is_res_agi_order():
    info = AgiCallInfo(
        "13800001234",
        "张三",
        uniqueid="1795966595.1",
        linkedid="1795966595.0",
        args=("1795966595.0",),
    )
    env = environment(info, "127.0.0.1", 4573, "ivr").decode()
    names = [line.split(":", 1)[0] for line in env.split("\n") if line]
    assert names == [
        "agi_network",
        "agi_network_script",
        "agi_request",
        "agi_channel",
        "agi_language",
        "agi_type",
        "agi_uniqueid",
        "agi_version",
        "agi_callerid",
        "agi_calleridname",
        "agi_callingpres",
        "agi_callingani2",
        "agi_callington",
        "agi_callingtns",
        "agi_dnid",
        "agi_rdnis",
        "agi_context",
        "agi_extension",
        "agi_priority",
        "agi_enhanced",
        "agi_accountcode",
        "agi_threadid",
        "agi_arg_1",
    ]
    assert env.startswith(
        "agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1:4573/ivr\n"
    )
    assert "agi_accountcode: \n" in env and env.endswith("agi_arg_1: 1795966595.0\n\n")


def test_withheld_number_is_unknown():
    env = environment(AgiCallInfo(""), "h", 1, "ivr").decode()
    assert "agi_callerid: unknown\n" in env


def test_answers_like_asterisk():
    keys = iter(["1", None, "12", "123#", HANGUP])
    side = AsteriskAgiSide(lambda p: next(keys))
    assert side.handle("STREAM FILE welcome 12") == b"200 result=49 endpos=4000\n"
    assert side.handle('STREAM FILE welcome ""') == b"200 result=0 endpos=16000\n"
    assert side.handle("GET DATA menu 5000 4") == b"200 result=12 (timeout)\n"
    assert side.handle("GET DATA menu 5000 4") == b"200 result=123\n"
    assert side.handle('SET VARIABLE IVR_NOTE "a b"') == b"200 result=1\n"
    assert side.variables["IVR_NOTE"] == "a b"
    assert side.handle("GET VARIABLE IVR_NOTE") == b"200 result=1 (a b)\n"
    assert side.handle("FLY AWAY") == b"510 Invalid or unknown command\n"
    usage = side.handle("STREAM FILE welcome")
    assert usage.startswith(b"520-Invalid command syntax.  Proper usage follows:\n")
    assert usage.endswith(b"520 End of proper usage.\n")
    assert side.handle("WAIT FOR DIGIT 3000") == b"200 result=-1\nHANGUP\n"
    assert side.handle("GET DATA menu 5000 1") == b"511 Command Not Permitted on a dead channel\n"
    assert side.handle("SET VARIABLE X 1") == b"200 result=1\n"  # runs dead


async def test_run_ivr_reports_failure_when_nobody_listens():
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    out = await run_ivr("127.0.0.1", port, {"num": "1"}, lambda p: None, timeout=2)
    assert out == {"AGISTATUS": "FAILURE"}


async def test_run_ivr_against_a_scripted_server():
    seen = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        env = b""
        while not env.endswith(b"\n\n"):
            env += await r.read(1024)
        seen.append(env)
        w.write(b"GET DATA hotline/main-menu 5000 1\n")
        seen.append(await r.readline())
        w.write(b"SET VARIABLE QUEUE_PRIO 5\n")
        seen.append(await r.readline())
        w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    out = await run_ivr(
        "127.0.0.1", port, {"num": "13900001238", "name": "钱七"}, lambda p: "3", timeout=5
    )
    srv.close()
    assert out == {"QUEUE_PRIO": "5", "AGISTATUS": "SUCCESS"}
    assert "agi_calleridname: 钱七\n" in seen[0].decode()
    assert seen[1:] == [b"200 result=3\n", b"200 result=1\n"]


async def test_typical_callers_all_reach_a_queue():
    import random

    from config.settings import CONFIG_DIR
    from ivr.menus import load_menus
    from ivr.server import StaticDeps, start_agi_server, stop_agi_server
    from pbx.simulator.agi import typical_caller

    srv = await start_agi_server(
        "127.0.0.1", 0, StaticDeps(now=lambda: 1796004000.0), menus=load_menus(CONFIG_DIR)
    )
    port = srv.sockets[0].getsockname()[1]
    rng = random.Random(3)
    outs = [
        await run_ivr("127.0.0.1", port, {"num": f"138{i:08d}"}, typical_caller(rng))
        for i in range(50)
    ]
    await stop_agi_server(srv)
    assert all(o["AGISTATUS"] == "SUCCESS" and o["IVR_QUEUE"] for o in outs)
    assert {o["IVR_RESULT"] for o in outs} <= {"queue", "fallback"}
