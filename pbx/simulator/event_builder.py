"""Building the AMI events of the embedded PBX: the header dicts Asterisk 20 sends for channels
(``Newchannel``, ``Newstate``, ``VarSet``, ``Hangup``, ``Cdr``, dial and bridge events), queue
callers and agents (``QueueCaller*``, ``Agent*``, ``QueueMember*``) and AGI commands.

Header names and their order are copied from the recordings in ``tests/recordings``. Every event
goes out through one sink, ``emit(headers)``; nothing here decides anything about a call.
The classes no one listens to (``wants(privilege)`` false: no in-process subscriber and no AMI
session asking for them, e.g. a link logged in with ``Events: call,agent,system``) are not
built: ``VarSet``, ``Cdr`` and ``AGIExec*``, the frequent ones; their state changes (the
variable set, the command counter) still happen.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pbx.simulator.clock import Clock
from pbx.simulator.model import Caller, Channel, Emit, Leg, Member, Queue, fmt_time
from pbx.simulator.queue_log_rows import QueueLogRows

__all__ = ["CAUSE_TXT", "PRESENTATION", "EventBuilder"]

CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 26: "Answered elsewhere"}
#: The presentation header NewCallerid carries for our callers.
PRESENTATION = {"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"}
_SET_VARIABLE = re.compile(r'^SET VARIABLE\s+(\S+)\s+"?(.*?)"?$', re.IGNORECASE)


class EventBuilder(QueueLogRows):
    """Turns the state changes of the PBX into AMI events, emitted in Asterisk's order (and
    into queue_log rows, :class:`~.queue_log_rows.QueueLogRows`)."""

    clock: Clock
    emit: Emit
    #: Whether anyone listens to events of this ``Privilege`` (see the module's docstring).
    wants: Callable[[str], bool]
    varset: str
    channels: dict[str, Channel]
    owners: dict[str, Caller]
    _cmd_seq: int

    def _event(self, name: str, privilege: str) -> dict[str, str]:
        return {
            "Event": name,
            "Privilege": privilege,
            "Timestamp": f"{self.clock.now():.6f}",
        }

    def _chan_event(self, name: str, ch: Channel, **extra: str) -> None:
        h = self._event(name, "call,all")
        ch.headers(h)
        h.update(extra)
        self.emit(h)

    def _newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        if state == 6 and not ch.answered:
            ch.answered = self.clock.now()
        self._chan_event("Newstate", ch)

    def _varset(self, ch: Channel, name: str, value: str, level: str = "all") -> None:
        ch.vars[name.lstrip("_")] = value
        if self.varset == "none" or (level == "all" and self.varset != "all"):
            return
        if not self.wants("dialplan,all"):
            self.clock.now()  # the clock reads exactly as when the event was built
            return
        h = self._event("VarSet", "dialplan,all")
        ch.headers(h)
        h["Variable"] = name
        h["Value"] = value
        self.emit(h)

    def _hangup_request(self, name: str, ch: Channel, cause: int) -> None:
        self._chan_event(name, ch, Cause=str(cause))

    def _hangup(self, ch: Channel, cause: int) -> None:
        self._chan_event("Hangup", ch, Cause=str(cause), **{"Cause-txt": CAUSE_TXT[cause]})
        self.channels.pop(ch.name, None)
        self.owners.pop(ch.name, None)

    def _cdr(self, ch: Channel, dest_channel: str = "", last_app: str = "", last_data: str = ""):
        now = self.clock.now()
        if not self.wants("cdr,all"):
            return
        h = self._event("Cdr", "cdr,all")
        answered = ch.answered
        h.update(
            {
                "AccountCode": ch.accountcode,
                "Source": ch.cid_num if ch.cid_num != "<unknown>" else "",
                "Destination": ch.dest_exten or ch.exten,
                "DestinationContext": ch.dest_context or ch.context,
                "CallerID": f'"{ch.cid_name}" <{ch.cid_num}>',
                "Channel": ch.name,
                "DestinationChannel": dest_channel,
                "LastApplication": last_app or ch.app,
                "LastData": last_data if last_app else ch.appdata,
                "StartTime": fmt_time(ch.created),
                "AnswerTime": fmt_time(answered) if answered else "",
                "EndTime": fmt_time(now),
                "Duration": str(int(now - ch.created)),
                "BillableSeconds": str(int(now - answered)) if answered else "0",
                "Disposition": "ANSWERED" if answered else "NO ANSWER",
                "AMAFlags": "DOCUMENTATION",
                "UniqueID": ch.uniqueid,
                "UserField": "",
            }
        )
        self.emit(h)

    def _dial_event(self, name: str, src: Channel | None, dest: Channel, **extra: str) -> None:
        h = self._event(name, "call,all")
        if src is not None:
            src.headers(h)
        dest.headers(h, "Dest")
        h.update(extra)
        self.emit(h)

    def _caller_event(self, name: str, caller: Caller, q: Queue, **extra: str) -> None:
        h = self._event(name, "agent,all")
        caller.chan2.headers(h)
        h["Queue"] = q.name
        h.update(extra)
        self.emit(h)

    def _agent_event(self, name: str, caller: Caller, leg: Leg | None, m: Member, **extra: str):
        h = self._event(name, "agent,all")
        caller.chan2.headers(h)
        if leg is not None:
            leg.chan1.headers(h, "Dest")
        h["Queue"] = m.queue
        h["Interface"] = m.interface
        h["MemberName"] = m.name
        h.update(extra)
        self.emit(h)

    def _member_event(self, name: str, m: Member) -> None:
        h = self._event(name, "agent,all")
        m.headers(h)
        self.emit(h)

    def _local_bridge(self, c1: Channel, c2: Channel) -> None:
        h = self._event("LocalBridge", "call,all")
        c1.headers(h, "LocalOne")
        c2.headers(h, "LocalTwo")
        h["Context"] = c2.context
        h["Exten"] = c2.exten
        h["LocalOptimization"] = "No"
        self.emit(h)

    def _bridge_event(self, name: str, bridge: str, n: int, ch: Channel | None = None) -> None:
        h = self._event(name, "call,all")
        h.update(
            {
                "BridgeUniqueid": bridge,
                "BridgeType": "basic",
                "BridgeTechnology": "simple_bridge",
                "BridgeCreator": "<unknown>",
                "BridgeName": "<unknown>",
                "BridgeNumChannels": str(n),
                "BridgeVideoSourceMode": "none",
            }
        )
        if ch is not None:
            ch.headers(h)
        self.emit(h)

    def agi_exec(self, ch: Channel, command: str, result_code: str = "200", result="Success"):
        """AGIExecStart/AGIExecEnd around one AGI command run on ``ch`` (SET VARIABLE sets it)."""
        self._cmd_seq += 1
        if not self.wants("agi,all"):
            self.clock.now()
            m = _SET_VARIABLE.match(command)
            if m:
                self._varset(ch, m.group(1), m.group(2), "some")
            return
        cid = str(100000000 + (self._cmd_seq * 7919) % 900000000)
        h = self._event("AGIExecStart", "agi,all")
        ch.headers(h)
        h["CommandId"] = cid
        h["Command"] = command
        self.emit(h)
        m = _SET_VARIABLE.match(command)
        if m:
            self._varset(ch, m.group(1), m.group(2), "some")
        h = self._event("AGIExecEnd", "agi,all")
        ch.headers(h)
        h.update(CommandId=cid, Command=command, ResultCode=result_code, Result=result)
        self.emit(h)
