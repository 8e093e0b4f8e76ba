"""The AMI actions of the embedded PBX on calls and variables: ``Originate`` (a caller into
``[callers]``, a seat's phone into ``[hotline-spy]``), ``Redirect`` (a caller re-runs the
dialplan at a new extension, or an operator's transfer into ``[hotline-transfer]``: straight
into the queue, no IVR), ``Hangup``, ``Getvar``/``Setvar``, and the dialplan's
``extension_exists`` they check against (the contexts of the recordings' dialplan and those of
the shipped one, ``pbx/asterisk/extensions.conf``).

Each returns what the AMI server needs for its answer (a caller, a bool, or Asterisk's error
text); the events they cause go out through ``emit`` like any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pbx.simulator.chanspy import SPY_CONTEXT, SPY_MODES, ChanSpyApp
from pbx.simulator.model import PREQUEUE, RETRY, RINGING, SURVEY, TALKING, WAITING, Caller, Channel

__all__ = ["TRANSFER_CONTEXT", "Actions"]

#: The shipped dialplan's transfer context: ``q<queue>`` into that queue, ``d<number>`` out
#: to a department through ``DEPARTMENT_TRUNK``; with no trunk set (none here: there is no
#: SIP), the caller goes to ``DEFAULT_QUEUE`` instead, never to a dead end.
TRANSFER_CONTEXT = "hotline-transfer"

_LOCAL_RE = re.compile(r"^Local/([^@/]+)@([^/]+)(/n)?$", re.IGNORECASE)


class Actions(ChanSpyApp):
    """Originate, Redirect, Hangup, Getvar and Setvar."""

    def extension_exists(self, context: str, exten: str) -> bool:
        if context == "callers":
            return exten == self.caller_exten or (exten.startswith("q") and len(exten) > 1)
        if context == TRANSFER_CONTEXT:  # _q. and _d.
            return exten[:1] in ("q", "d") and len(exten) > 1
        if context == SPY_CONTEXT:
            return exten in SPY_MODES
        if context == "caller-sim":
            return exten == "s"
        if context == "agents":
            return bool(re.fullmatch(r"8\d\d\d", exten))
        if context == "tests":
            return exten in ("600", "700", "701", "702", "1001", "2001")
        return False

    def originate(
        self,
        channel: str,
        *,
        context: str = "",
        exten: str = "",
        application: str = "",
        data: str = "",
        callerid: str = "",
        variables: dict[str, str] | None = None,
        on_response: Callable[[dict[str, str]], None] | None = None,
    ) -> Caller | None:
        """Originate ``Local/<exten>@callers/n`` into ``[caller-sim]`` (or an application).

        ``on_response`` gets the OriginateResponse headers (no Event/Privilege/Timestamp):
        Success when the call is up, or Failure / Reason 0 / Uniqueid ``<unknown>``.
        """
        variables = dict(variables or {})
        num, name = _parse_callerid(callerid)
        failure = {
            "Response": "Failure",
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Reason": "0",
            "Uniqueid": "<unknown>",
            "CallerIDNum": num or "<unknown>",
            "CallerIDName": name or "<unknown>",
        }
        if context == SPY_CONTEXT and not application:
            self.spy_originate(channel, exten, variables, on_response, failure)
            return None
        m = _LOCAL_RE.match(channel)
        if not m or m.group(2) != "callers" or not self.extension_exists("callers", m.group(1)):
            if on_response is not None:
                on_response(failure)
            return None

        def respond(c1: Channel) -> None:
            if on_response is not None:
                on_response(
                    {
                        "Response": "Success",
                        "Channel": c1.name,
                        "Context": context or "",
                        "Exten": exten or "",
                        "Reason": "4",
                        "Uniqueid": c1.uniqueid,
                        "CallerIDNum": num or "<unknown>",
                        "CallerIDName": name or "<unknown>",
                    }
                )

        def fnum(key: str) -> float | None:
            try:
                v = variables.get(key, "")
                return float(v) if v != "" else None
            except ValueError:
                return None

        patience = fnum("PATIENCE")
        if application.lower() == "wait":
            patience = float(data or 0) or None
        talk = fnum("TALK")
        caller = self._start_caller(
            m.group(1),
            num or "<unknown>",
            name or "<unknown>",
            variables,
            patience=patience,
            talk=talk if talk is not None else self._default_talk(),
            on_response=respond,
        )
        caller.maxwait = fnum("MAXWAIT")
        self._start_dialplan(caller)
        return caller

    def _default_talk(self) -> float:
        lo = float(self.globals.get("DEFAULT_TALK_MIN", "5") or 5)
        hi = float(self.globals.get("DEFAULT_TALK_MAX", "20") or 20)
        return float(self.rng.randint(int(lo), int(hi)))

    def getvar(self, variable: str, channel: str | None = None) -> str | None:
        """A global (``channel`` None) or a channel variable; None if there is no such channel."""
        if not channel:
            return self.globals.get(variable, "")
        ch = self.channels.get(channel)
        if ch is None:
            return None
        up = variable.upper()
        if up == "CALLERID(NAME)":
            return ch.cid_name
        if up in ("CALLERID(NUM)", "CALLERID(NUMBER)"):
            return ch.cid_num
        if up == "CHANNEL":
            return ch.name
        if up == "UNIQUEID":
            return ch.uniqueid
        return ch.vars.get(variable, "")

    def setvar(self, variable: str, value: str, channel: str | None = None) -> bool:
        if not channel:
            self.globals[variable] = value
            return True
        ch = self.channels.get(channel)
        if ch is None:
            return False
        self._varset(ch, variable, value, "some")
        return True

    def hangup_channel(self, channel: str, cause: int = 0) -> bool:
        """AMI Hangup: False if the channel does not exist."""
        ch = self.channels.get(channel)
        if ch is None:
            return False
        caller = self.owners.get(channel)
        if caller is None:
            self._hangup(ch, cause)
            return True
        if ch is caller.chan1 or ch is caller.chan2:
            if caller.state in (WAITING, RINGING, RETRY):
                self._abandon(caller, cause=cause, by_action=ch is caller.chan2)
            elif caller.state == PREQUEUE:
                self._abandon(caller, cause=cause)
            elif caller.state == TALKING:
                if caller.timer is not None:
                    caller.timer.cancel()
                self._end_call_caller(caller)
            elif caller.state == SURVEY:
                self._end_survey(caller)
            return True
        # an agent leg
        for leg in list(caller.legs):
            if ch in (leg.chan1, leg.chan2):
                if self.queue_log is not None:
                    # wait_for_answer: the member's channel is gone (ast_read NULL): rna()
                    # with whole seconds * 1000
                    ms = (int(self.clock.now()) - int(leg.start)) * 1000
                    self._log_ring_ended("RINGNOANSWER", caller, leg, ms)
                self._cancel_leg(leg, cause)
                if caller.state == WAITING:
                    self._schedule_recheck(caller)
                return True
        if caller.agent_leg is not None and ch in (caller.agent_leg.chan1, caller.agent_leg.chan2):
            if caller.timer is not None:
                caller.timer.cancel()
            self._end_call_agent(caller)
        return True

    def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> str:
        """AMI Redirect of a caller's channel to ``callers,<exten>`` (README s8).

        Returns "" on success, else the error text.
        """
        ch = self.channels.get(channel)
        if ch is None:
            return f"Channel does not exist: {channel}"
        if not self.extension_exists(context, exten):
            return "Extension does not exist."
        caller = self.owners.get(channel)
        into = context in ("callers", TRANSFER_CONTEXT)
        if caller is None or ch not in (caller.chan1, caller.chan2) or not into:
            return ""  # nothing modelled beyond caller channels into those two
        c2 = caller.chan2
        if caller.state in (WAITING, RINGING, RETRY):
            self._cancel_timers(caller, "timer", "expire_timer")  # patience runs on
            self._chan_event("MusicOnHoldStop", c2)
            if self.queue_log is not None:
                self._log_rings_canceled(caller)
            for leg in list(caller.legs):
                self._cancel_leg(leg, 0)
            q, pos = self._leave_queue(caller)
            self._record_abandon(caller, q, pos)
            if self.queue_log is not None:  # Queue() returns -1 unhandled: app_queue's ABANDON
                self._log_left("ABANDON", caller, q.name, pos)
            self._caller_event(
                "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
            )
            self._wake_waiting_callers(q)
        elif caller.state == TALKING:
            if caller.timer is not None:
                caller.timer.cancel()
                caller.timer = None
            m, leg, hold, _talk = self._end_talk(caller)
            self._unbridge(caller, c2, leg.chan1)
            self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
            caller.bridge_id = ""
            self._agent_leg_gone(m, leg)
            start, old_q = caller.connect_time, caller.queue
            join, opos = caller.join_time, caller.original_position

            def late_complete(m=m, start=start, hold=hold, old_q=old_q) -> None:
                # The old queue's AgentComplete only comes when the caller finally hangs up:
                # Reason caller, no Dest* headers (README s8).
                if self.queue_log is not None:
                    self._log_complete("COMPLETECALLER", c2.uniqueid, old_q, m, join, start, opos)
                h = self._event("AgentComplete", "agent,all")
                c2.headers(h)
                h.update(
                    Queue=old_q,
                    Interface=m.interface,
                    MemberName=m.name,
                    HoldTime=str(hold),
                    TalkTime=str(int(self.clock.now() - start)),
                    Reason="caller",
                )
                self.emit(h)

            caller.deferred.append(late_complete)
            caller.member = None
            caller.agent_leg = None
            self._device_freed(m)
        elif caller.state != PREQUEUE:
            return ""
        else:
            self._cancel_agi_step(caller)
        # re-run the dialplan at the new place: IVR step (not for a transfer), then Queue()
        if context == TRANSFER_CONTEXT and exten.startswith("d"):
            exten = "q" + self.globals.get("QUEUE", self.default_queue)  # no trunk: fallback
        caller.exten = exten
        caller.queue = ""
        c2.context, c2.exten, c2.priority = context, exten, 1
        caller.legs.clear()
        self.stats["offered"] -= 1  # _start_dialplan counts it again
        patience_timer = caller.abandon_timer
        caller.abandon_timer = None
        caller.patience, saved = None, caller.patience
        self._start_dialplan(caller, ivr=context != TRANSFER_CONTEXT)
        caller.patience = saved
        caller.abandon_timer = patience_timer
        return ""


def _parse_callerid(text: str) -> tuple[str, str]:
    """``"Name" <num>`` -> (num, name)."""
    text = text.strip()
    m = re.match(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$', text)
    if m:
        return m.group(2).strip(), m.group(1).strip()
    return (text, "") if text else ("", "")
