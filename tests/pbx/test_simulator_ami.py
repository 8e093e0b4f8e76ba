"""The embedded PBX's AMI server on a real socket: bytes and texts as Asterisk 20 sends them.

Expected texts are from tests/recordings/actions.driver.ami.gz and raw_sample.txt.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from pbx.codec import AmiCodec, Banner, Frame, encode_message
from pbx.simulator import MemberConfig, Simulator, SimulatorConfig, TrafficSpec

EPOCH = 1_800_000_000.0


@pytest.fixture
async def sim():
    s = Simulator(
        SimulatorConfig(
            seats=2, speed=1000.0, epoch=EPOCH, auth_fail_delay_s=0.2, wrapup_s=0.0, secret="s3cret"
        )
    )
    await s.start(host="127.0.0.1", port=0)
    yield s
    await s.stop()


class Client:
    """A bare AMI client on our codec."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.codec = AmiCodec("client")
        self.banner: Banner | None = None
        self.raw = b""

    @classmethod
    async def connect(cls, port: int) -> Client:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w)

    def send(self, **headers: str) -> None:
        self.writer.write(encode_message(headers))

    async def frame(self, within: float = 3.0) -> Frame:
        while True:
            item = self.codec.next_frame()
            if isinstance(item, Banner):
                self.banner = item
                continue
            if item is not None:
                assert isinstance(item, Frame), item
                return item
            data = await asyncio.wait_for(self.reader.read(65536), within)
            if not data:
                raise EOFError
            self.raw += data
            self.codec.feed(data)

    async def until(self, pred, within: float = 3.0) -> list[Frame]:
        out = []
        while True:
            f = await self.frame(within)
            out.append(f)
            if pred(f):
                return out

    async def login(self, events: str = "on", aid: str = "L") -> Frame:
        self.send(Action="Login", ActionID=aid, Username="hotline", Secret="s3cret", Events=events)
        return await self.frame()

    async def eof(self, within: float = 3.0) -> bool:
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), within)
                if not data:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self) -> None:
        self.writer.close()


async def test_banner_bytes_exact(sim):
    r, w = await asyncio.open_connection("127.0.0.1", sim.port)
    data = await asyncio.wait_for(r.read(100), 2)
    assert data == b"Asterisk Call Manager/9.0.0\r\n"
    w.close()


async def test_login_ok_then_fully_booted(sim):
    c = await Client.connect(sim.port)
    c.send(Action="Login", ActionID="raw-1", Username="hotline", Secret="s3cret", Events="on")
    resp = await c.frame()
    booted = await c.frame()
    assert c.raw.startswith(
        b"Asterisk Call Manager/9.0.0\r\nResponse: Success\r\nActionID: raw-1\r\n"
        b"Message: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n"
        b"Uptime: "
    )
    assert resp.headers == {
        "Response": "Success",
        "ActionID": "raw-1",
        "Message": "Authentication accepted",
    }
    assert list(booted.headers) == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    assert booted.headers["Status"] == "Fully Booted"
    c.send(Action="Login", ActionID="again", Username="hotline", Secret="s3cret")
    assert (await c.frame()).headers["Message"] == "Already authenticated"
    c.close()


async def test_bad_secret_waits_then_errors_and_closes(sim):
    c = await Client.connect(sim.port)
    t0 = time.monotonic()
    c.send(Action="Login", ActionID="bad-1", Username="hotline", Secret="wrong")
    c.send(Action="Ping", ActionID="ignored")
    f = await c.frame()
    assert time.monotonic() - t0 >= 0.18
    assert f.headers == {
        "Response": "Error",
        "ActionID": "bad-1",
        "Message": "Authentication failed",
    }
    assert c.raw == (
        b"Asterisk Call Manager/9.0.0\r\nResponse: Error\r\nActionID: bad-1\r\n"
        b"Message: Authentication failed\r\n\r\n"
    )
    assert await c.eof()


async def test_actions_before_login_are_denied(sim):
    c = await Client.connect(sim.port)
    c.send(Action="QueueStatus", ActionID="q")
    f = await c.frame()
    assert f.headers == {"Response": "Error", "ActionID": "q", "Message": "Permission denied"}
    c.send(ActionID="no-action-header")
    f = await c.frame()
    assert f.headers["Message"] == "Missing action in request"
    c.close()


async def test_ping_unknown_missing_and_case_insensitive_headers(sim):
    c = await Client.connect(sim.port)
    await c.login(events="off")
    c.writer.write(b"action: ping\r\nactionid: p1\r\n\r\n")
    f = await c.frame()
    assert list(f.headers) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert f.headers["Ping"] == "Pong" and f.headers["ActionID"] == "p1"
    assert float(f.headers["Timestamp"]) >= EPOCH
    c.send(Action="NoSuchAction", ActionID="drv-4")
    f = await c.frame()
    assert f.headers == {
        "Response": "Error",
        "ActionID": "drv-4",
        "Message": "Invalid/unknown command: NoSuchAction. "
        "Use Action: ListCommands to show available commands.",
    }
    c.send(ActionID="no-action-header", Foo="bar")
    f = await c.frame()
    assert f.headers == {
        "Response": "Error",
        "ActionID": "no-action-header",
        "Message": "Missing action in request",
    }
    c.close()


async def test_logoff_says_goodbye_and_closes(sim):
    c = await Client.connect(sim.port)
    await c.login()
    await c.frame()  # FullyBooted
    c.send(Action="Logoff", ActionID="bye")
    f = await c.frame()
    assert f.headers == {
        "Response": "Goodbye",
        "ActionID": "bye",
        "Message": "Thanks for all the fish.",
    }
    assert await c.eof()


async def test_queue_member_actions_texts_and_events(sim):
    drv = await Client.connect(sim.port)
    await drv.login(events="off")
    rec = await Client.connect(sim.port)
    await rec.login(events="on")
    await rec.frame()  # FullyBooted

    async def act(**h):
        drv.send(**h)
        return (await drv.frame()).headers

    add = dict(
        Action="QueueAdd",
        Queue="hotline",
        Interface="Local/8009@agents/n",
        StateInterface="Local/8009@agents",
        MemberName="Agent 8009",
        Penalty="0",
        Paused="false",
    )
    assert await act(ActionID="a1", **add) == {
        "Response": "Success",
        "ActionID": "a1",
        "Message": "Added interface to queue",
    }
    assert await act(ActionID="a2", **add) == {
        "Response": "Error",
        "ActionID": "a2",
        "Message": "Unable to add interface: Already there",
    }
    assert (await act(ActionID="a3", **{**add, "Queue": "nosuchqueue"}))["Message"] == (
        "Unable to add interface to queue: No such queue"
    )
    assert (
        await act(
            Action="QueueRemove", ActionID="a4", Queue="hotline", Interface="Local/8099@agents/n"
        )
    )["Message"] == ("Unable to remove interface: Not there")
    assert (
        await act(
            Action="QueuePause",
            ActionID="a5",
            Queue="hotline",
            Interface="Local/8099@agents/n",
            Paused="true",
        )
    )["Message"] == ("Interface not found")
    r = await act(
        Action="QueuePause",
        ActionID="a6",
        Interface="Local/8009@agents/n",
        Paused="true",
        Reason="午休",
    )
    assert r == {
        "Response": "Success",
        "ActionID": "a6",
        "Message": "Interface paused successfully",
    }
    r = await act(
        Action="QueuePause",
        ActionID="a7",
        Queue="hotline",
        Interface="Local/8009@agents/n",
        Paused="false",
    )
    assert r["Message"] == "Interface unpaused successfully"
    r = await act(
        Action="QueueRemove", ActionID="a8", Queue="hotline", Interface="Local/8009@agents/n"
    )
    assert r == {"Response": "Success", "ActionID": "a8", "Message": "Removed interface from queue"}
    # The recorder saw the member events; the driver (Events: off) saw none.
    got = await rec.until(lambda f: f.event == "QueueMemberRemoved")
    assert [f.event for f in got] == [
        "QueueMemberAdded",
        "QueueMemberPause",
        "QueueMemberPause",
        "QueueMemberRemoved",
    ]
    assert got[1].headers["PausedReason"] == "午休" and got[1].headers["Paused"] == "1"
    assert got[2].headers["PausedReason"] == "" and got[2].headers["Paused"] == "0"
    assert all("Timestamp" in f.headers for f in got)
    drv.send(Action="Ping", ActionID="last")
    assert (await drv.frame()).headers["ActionID"] == "last"  # nothing else was queued
    drv.close()
    rec.close()


async def test_queue_status_list_shape(sim):
    c = await Client.connect(sim.port)
    await c.login(events="off")
    # Two callers talking (2 seats) and one waiting, then look at the queue.
    for i, name in enumerate(["张三", "李四", "王五"]):
        sim.core.caller_arrive("hotline", f"1380000123{i}", name, patience=900.0, talk=900.0)
    await asyncio.sleep(0.01)  # 10 virtual seconds: both seats answer
    c.send(Action="QueueStatus", ActionID="qs", Queue="hotline")
    frames = await c.until(lambda f: f.event == "QueueStatusComplete")
    first = frames[0]
    assert first.headers == {
        "Response": "Success",
        "ActionID": "qs",
        "EventList": "start",
        "Message": "Queue status will follow",
    }
    items = frames[1:-1]
    assert [f.event for f in items] == ["QueueParams", "QueueMember", "QueueMember", "QueueEntry"]
    assert all(f.headers["ActionID"] == "qs" and list(f.headers)[-1] == "ActionID" for f in items)
    params, m1, _, entry = (f.headers for f in items)
    assert list(params)[:13] == [
        "Event",
        "Queue",
        "Max",
        "Strategy",
        "Calls",
        "Holdtime",
        "TalkTime",
        "Completed",
        "Abandoned",
        "ServiceLevel",
        "ServicelevelPerf",
        "ServicelevelPerf2",
        "Weight",
    ]
    assert params["Calls"] == "1" and params["Strategy"] == "rrmemory"
    assert list(m1) == [
        "Event",
        "Queue",
        "Name",
        "Location",
        "StateInterface",
        "Membership",
        "Penalty",
        "CallsTaken",
        "LastCall",
        "LastPause",
        "LoginTime",
        "InCall",
        "Status",
        "Paused",
        "PausedReason",
        "Wrapuptime",
        "ActionID",
    ]
    # an operator seat is a dynamic member, as operators who log in are on a real site
    assert (m1["Name"], m1["Location"], m1["Membership"]) == (
        "Agent 8001",
        "Local/8001@agents/n",
        "dynamic",
    )
    assert (m1["InCall"], m1["Status"]) == ("1", "2")
    assert list(entry) == [
        "Event",
        "Queue",
        "Position",
        "Channel",
        "Uniqueid",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Wait",
        "Priority",
        "ActionID",
    ]
    assert entry["CallerIDName"] == "王五" and entry["Position"] == "1"
    done = frames[-1].headers
    assert done == {
        "Event": "QueueStatusComplete",
        "ActionID": "qs",
        "EventList": "Complete",
        "ListItems": "4",
    }
    c.send(Action="QueueStatus", ActionID="none", Queue="nosuchqueue")
    frames = await c.until(lambda f: f.event == "QueueStatusComplete")
    assert len(frames) == 2 and frames[-1].headers["ListItems"] == "0"
    c.close()


async def test_events_reach_logged_in_sessions_whole_utf8(sim):
    rec = await Client.connect(sim.port)
    await rec.login(events="on")
    off = await Client.connect(sim.port)
    await off.login(events="off")
    anon = await Client.connect(sim.port)  # never logs in: gets nothing
    sim.core.caller_arrive("hotline", "13800001234", "张三", patience=50.0, talk=5.0)
    frames = await rec.until(lambda f: f.event == "AgentComplete")
    join = next(f for f in frames if f.event == "QueueCallerJoin")
    assert join.headers["CallerIDName"] == "张三"
    assert "张三".encode() in rec.raw
    off.send(Action="Ping", ActionID="p")
    assert (await off.frame()).headers.get("Ping") == "Pong"
    anon.send(Action="Logoff", ActionID="x")  # allowed before login
    assert (await anon.frame()).headers["Response"] == "Goodbye"
    for c in (rec, off):
        c.close()


async def test_traffic_over_the_wire_and_stop_closes_connections():
    s = Simulator(SimulatorConfig(seats=20, speed=2000.0, seed=5, epoch=EPOCH, secret="s3cret"))
    port = await s.start(port=0)
    rec = await Client.connect(port)
    await rec.login()
    fut = s.run_traffic(
        TrafficSpec(calls=100, hours=0.1, patience_mean_s=60.0, talk_mean_s=60.0, start_at=EPOCH)
    )
    await asyncio.wait_for(fut, 15)
    joins = 0
    try:
        while True:
            f = await rec.frame(within=0.3)
            joins += f.event == "QueueCallerJoin"
    except (TimeoutError, EOFError):
        pass
    assert joins == 100
    await s.stop()
    assert await rec.eof()


async def test_seats_are_dynamic_members_and_only_configured_members_are_static() -> None:
    """Operator seats can log out (QueueRemove); a member queues.conf names cannot, with
    Asterisk's answer (app_queue.c, manager_remove_queue_member: RES_NOT_DYNAMIC)."""
    s = Simulator(
        SimulatorConfig(
            seats=1,
            speed=1000.0,
            epoch=EPOCH,
            secret="s3cret",
            members=(MemberConfig.seat("hotline", 9001),),
        )
    )
    await s.start(host="127.0.0.1", port=0)
    try:
        c = await Client.connect(s.port)
        await c.login()
        await c.frame()  # FullyBooted
        c.send(Action="QueueStatus", ActionID="qs")
        got = await c.until(lambda f: f.event == "QueueStatusComplete")
        kinds = {f.get("Location"): f.get("Membership") for f in got if f.event == "QueueMember"}
        assert kinds == {"Local/8001@agents/n": "dynamic", "Local/9001@agents/n": "static"}
        c.send(
            Action="QueueRemove", ActionID="r1", Queue="hotline", Interface="Local/9001@agents/n"
        )
        assert (await c.until(lambda f: f.get("ActionID") == "r1"))[-1].headers == {
            "Response": "Error",
            "ActionID": "r1",
            "Message": "Member not dynamic",
        }
        c.send(
            Action="QueueRemove", ActionID="r2", Queue="hotline", Interface="Local/8001@agents/n"
        )
        # the embedded PBX sends the event first, then the answer
        frames = await c.until(lambda f: f.get("ActionID") == "r2")
        removed = next(f for f in frames if f.event == "QueueMemberRemoved")
        assert (removed.get("Interface"), removed.get("Membership")) == (
            "Local/8001@agents/n",
            "dynamic",
        )
        assert frames[-1].get("Message") == "Removed interface from queue"
        c.close()
    finally:
        await s.stop()
