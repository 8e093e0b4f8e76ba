"""Faults on command: what goes wrong between a controller and a real Asterisk, made to happen
when a test says so.

>>> # faults = Faults(sim)
>>> # faults.drop()                       # every AMI socket closes at once (no Goodbye)
>>> # await faults.stall(3.0)             # Asterisk reads nothing and says nothing for 3 s
>>> # faults.garbage("too_long")          # a malformed frame on every logged-in socket
>>> # await faults.restart(down_s=0.5)    # Asterisk restarts (README s17)

A **restart** does what Asterisk 20 does on ``core restart now`` (README s17): a
``SoftHangupRequest`` (Cause 4) for every channel, ``QueueCallerAbandon`` for each waiting
caller and ``AgentComplete`` for each talking call (the calls are gone: those callers are cut
off), then ``Shutdown`` (``Shutdown: Cleanly``, ``Restart: True``), then every socket closes
without ``Goodbye``. The PBX then refuses connections for ``down_s`` real seconds; the new
"process" starts with its queue counters at zero, its ``Uptime`` at zero and a new
``Uniqueid`` epoch (the sequence starts again at 0). The seats (static members) come back.

Only the public face of the simulator is used (its core, clock and AMI server), so the
fault machinery needs no hook in the simulator's own files.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from pbx.codec import encode_message
from pbx.simulator.model import PREQUEUE, RETRY, RINGING, TALKING, WAITING

if TYPE_CHECKING:
    from pbx.simulator import Simulator

__all__ = ["GARBAGE", "Faults"]

log = logging.getLogger(__name__)

#: Malformed input a real link can carry, by name (the codec's and the controller's
#: rejection reasons are in brackets).
GARBAGE: dict[str, bytes] = {
    # a frame far over the codec's 64 KiB cap [too_long]
    "too_long": b"Event: VarSet\r\nValue: " + b"x" * (70 * 1024) + b"\r\n\r\n",
    # a header line without ": " [bad_header]
    "bad_header": b"Event: Newexten\r\nthis line has no colon\r\nUniqueid: 1.1\r\n\r\n",
    # bytes that are not UTF-8 [bad_utf8]
    "bad_utf8": b"Event: Newexten\r\nCallerIDName: \xff\xfe\xfd\r\n\r\n",
    # LF-only line ends (accepted, not rejected)
    "lf_only": b"Event: Newexten\nUniqueid: 1.1\n\n",
    # an event name nobody knows (ignored, not rejected)
    "unknown_event": b"Event: NoSuchEvent\r\nFoo: bar\r\n\r\n",
    # a used event without a field we need [missing_field]
    "missing_field": b"Event: QueueCallerJoin\r\nQueue: hotline\r\n\r\n",
    # an absurd value [bad_value]
    "negative_holdtime": (
        b"Event: QueueCallerAbandon\r\nQueue: hotline\r\nUniqueid: 1.1\r\nHoldTime: -5\r\n\r\n"
    ),
    # a call nobody knows [unknown_call]
    "unknown_uniqueid": (
        b"Event: AgentConnect\r\nQueue: hotline\r\nUniqueid: 999999.999999\r\n"
        b"Interface: Local/8001@agents/n\r\nHoldTime: 1\r\nRingTime: 1\r\n\r\n"
    ),
    # a response nobody asked for [unmatched_response]
    "stray_response": b"Response: Success\r\nActionID: nobody-asked\r\n\r\n",
    # a frame of nothing but blank-ish lines [empty]
    "empty": b" \r\n\r\n",
}


class Faults:
    """Fault injection for one :class:`~pbx.simulator.Simulator` (running, started)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.restarts = 0
        #: Calls cut off by restarts: (waiting callers, talking calls).
        self.cut_off_waiting = 0
        self.cut_off_talking = 0

    # -- link faults ------------------------------------------------------------------------
    def drop(self) -> int:
        """Abort every AMI connection at once (a network cut); returns how many."""
        sessions = list(self.sim.server.sessions)
        for s in sessions:
            s.abort()  # what the PBX wrote before the cut still goes out
        log.info("fault: dropped %d AMI connection(s)", len(sessions))
        return len(sessions)

    async def stall(self, seconds: float) -> None:
        """Asterisk hangs: for ``seconds`` (real) it reads no action and writes nothing, on
        every open connection; the sockets stay open. A client that notices (an unanswered
        ``Ping``) and reconnects gets a fresh, working session."""
        stalled = [s for s in self.sim.server.sessions if not s.closing]
        for s in stalled:
            s.closing = True  # the session ignores reads and drops writes while set
            if s.transport is not None:
                s.transport.pause_reading()
        log.info("fault: stalled %d AMI connection(s) for %g s", len(stalled), seconds)
        await asyncio.sleep(seconds)
        for s in stalled:
            if s.transport is not None and not s.transport.is_closing():
                s.closing = False
                s.transport.resume_reading()

    def garbage(self, what: str | bytes) -> int:
        """Write malformed bytes (a :data:`GARBAGE` name, or raw bytes) to every logged-in
        connection, between two whole frames; returns how many got them."""
        data = GARBAGE[what] if isinstance(what, str) else what
        n = 0
        for s in self.sim.server.sessions:
            if s.authenticated and not s.closing:
                s.write(data)
                n += 1
        return n

    # -- restart ----------------------------------------------------------------------------
    async def restart(
        self, down_s: float = 0.5, *, restart: bool = True, forget_dynamic_members: bool = False
    ) -> tuple[int, int]:
        """Restart the PBX (see the module's docstring); returns the calls cut off as
        (waiting, talking). Connections are refused for ``down_s`` real seconds.
        ``forget_dynamic_members``: the new process has none (an Asterisk without
        ``persistentmembers``, or whose astdb was lost): only the static members are back."""
        sim = self.sim
        core = sim.core
        clock = sim.clock
        clock.run_due()
        now = f"{clock.now():.6f}"
        for ch in list(core.channels.values()):
            core._hangup_request("SoftHangupRequest", ch, 4)
        waiting = talking = 0
        # Waiting callers first (so that a seat freed by an ended call rings nobody), then
        # the talking calls.
        callers = list({id(c): c for c in core.owners.values()}.values())
        for caller in callers:
            if caller.state in (WAITING, RINGING, RETRY, PREQUEUE):
                core._abandon(caller, cause=16)
                waiting += 1
        for caller in callers:
            if caller.state == TALKING:
                if caller.timer is not None:
                    caller.timer.cancel()
                    caller.timer = None
                core._end_call_caller(caller)
                talking += 1
        core.emit(
            {
                "Event": "Shutdown",
                "Privilege": "system,all",
                "Timestamp": now,
                "Shutdown": "Cleanly",
                "Restart": "True" if restart else "False",
            }
        )
        server = sim.server
        host, port = "127.0.0.1", sim.port
        if server._server is not None:
            sockets = server._server.sockets
            if sockets:
                host = sockets[0].getsockname()[0]
            server._server.close()
        for s in list(server.sessions):
            s.abort()  # no Goodbye; the events of the shutdown above still go out
        server.sessions.clear()
        if server._server is not None:
            await server._server.wait_closed()
            server._server = None
        # The new process: counters, uptime and the Uniqueid sequence start again.
        for q in core.queues.values():
            q.holdtime = q.talktime = q.completed = q.abandoned = 0
            q.completed_in_sl = q.abandoned_in_sl = 0
            for m in q.members.values():
                m.calls_taken = 0
                m.last_call = 0
            if forget_dynamic_members:
                for key in [k for k, m in q.members.items() if m.membership != "static"]:
                    del q.members[key]
        core._uid_seq = 0
        server.started_at = clock.now()
        self.restarts += 1
        self.cut_off_waiting += waiting
        self.cut_off_talking += talking
        log.info(
            "fault: PBX restarted (%d waiting and %d talking calls cut off); down for %g s",
            waiting,
            talking,
            down_s,
        )
        await asyncio.sleep(down_s)
        if port is not None:
            await server.start(host, port)
        return waiting, talking


def frame(headers: dict[str, str]) -> bytes:
    """One AMI message's bytes (for tests that craft their own garbage)."""
    return encode_message(headers)
