"""A supervisor listening to, whispering to or barging in on an operator's call, as the
shipped dialplan does it (``pbx/asterisk/extensions.conf``, ``[hotline-spy]``): an AMI
``Originate`` of the supervisor's phone into ``hotline-spy,<mode>``, whose ``ChanSpy`` spies
on the first channel whose name starts with the channel variable ``SPY_TARGET`` (the
operator's device and a dash, ``SIP/seat8001-``), with ``q`` (no beep), ``E`` (exit when the
spied-on channel hangs up) and ``S`` (stop when there is nothing to spy on).

What is modelled is what AMI shows of it (``apps/app_chanspy.c`` and
``main/manager_channels.c`` of Asterisk 20): the phone's ``Local`` pair comes up, the
``OriginateResponse``, then ``ChanSpyStart`` with the spyer's and the spyee's channel blocks
(``Spyer``/``Spyee`` prefixes); when the spied-on channel hangs up, ``ChanSpyStop`` and the
spyer's channels hang up; with nothing to spy on, ChanSpy returns at once and the phone hangs
up. Whisper and barge differ only in audio, which is not modelled. Only the embedded seats'
phones (``Local/8XXX@agents``) can be originated: there is no SIP here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pbx.simulator.agi_steps import AgiSteps
from pbx.simulator.model import Channel

__all__ = ["SPY_CONTEXT", "SPY_MODES", "ChanSpyApp"]

#: The dialplan context of the shipped configuration, and its extensions (one per mode).
SPY_CONTEXT = "hotline-spy"
SPY_MODES = ("listen", "whisper", "barge")

_PHONE_RE = re.compile(r"^Local/(8\d\d\d)@agents(/n)?$")


@dataclass(slots=True, eq=False)
class _Spy:
    spyer: Channel
    other: Channel
    spyee: Channel | None = None


class ChanSpyApp(AgiSteps):
    """``Originate`` into ``[hotline-spy]`` and ChanSpy's events."""

    #: Spied-on channel name -> the spies on it; the spyers' channel names -> their spy.
    _spied: dict[str, list[_Spy]]
    _spyers: dict[str, _Spy]

    def spy_originate(
        self,
        channel: str,
        exten: str,
        variables: dict[str, str],
        respond: Callable[[dict[str, str]], None] | None,
        failure: dict[str, str],
    ) -> bool:
        """Originate a seat's phone into ``hotline-spy,<exten>``; False (nothing done) for a
        channel that is not an embedded seat's phone."""
        m = _PHONE_RE.match(channel)
        if m is None or exten not in SPY_MODES:
            if respond is not None:
                respond(failure)
            return False
        c1, c2 = self._new_pair(m.group(1), "agents", None)
        c1.context, c1.exten = SPY_CONTEXT, exten
        self._chan_event("Newchannel", c1)
        self._chan_event("Newchannel", c2)
        self._local_bridge(c1, c2)
        target = variables.get("SPY_TARGET", "")
        for k, v in variables.items():
            self._varset(c1, k, v, "some")
        spy = _Spy(c1, c2)
        self._spyers[c1.name] = self._spyers[c2.name] = spy
        ring = float(self.globals.get("DEFAULT_AGENT_RING", "1") or 1)

        def answered() -> None:
            if c1.name not in self.channels:
                return  # hung up while it rang
            self._newstate(c2, 6)
            self._newstate(c1, 6)
            if respond is not None:
                respond(
                    {
                        "Response": "Success",
                        "Channel": c1.name,
                        "Context": SPY_CONTEXT,
                        "Exten": exten,
                        "Reason": "4",
                        "Uniqueid": c1.uniqueid,
                        "CallerIDNum": "<unknown>",
                        "CallerIDName": "<unknown>",
                    }
                )
            c1.app, c1.appdata = "ChanSpy", f"{target},q{_OPTIONS[exten]}"
            spyee = self._spyee(target, spy)
            if spyee is None:  # option S: nothing to spy on, ChanSpy returns
                self._spy_over(spy)
                return
            spy.spyee = spyee
            self._spied.setdefault(spyee.name, []).append(spy)
            self._spy_event("ChanSpyStart", spy)

        self.clock.call_later(ring, answered)
        return True

    def _spyee(self, prefix: str, spy: _Spy) -> Channel | None:
        """ChanSpy's choice: a channel whose name starts with the prefix, not its own. Asterisk
        takes the first its channel container gives (no rule of app_chanspy.c); of a Local
        seat's pair, the real one in the tier test spied on ``;2`` (the seat's side), so the
        names are tried last first."""
        if not prefix:
            return None
        for name in sorted(self.channels, reverse=True):
            if name.startswith(prefix) and name not in (spy.spyer.name, spy.other.name):
                return self.channels[name]
        return None

    def _spy_event(self, name: str, spy: _Spy) -> None:
        h = self._event(name, "call,all")
        spy.spyer.headers(h, "Spyer")
        if spy.spyee is not None:
            spy.spyee.headers(h, "Spyee")
        self.emit(h)

    def _spy_over(self, spy: _Spy) -> None:
        """ChanSpy returned: the dialplan's Hangup() of the spyer, then its other half."""
        for ch in (spy.spyer, spy.other):
            self._spyers.pop(ch.name, None)
        for ch in (spy.spyer, spy.other):
            if ch.name in self.channels:
                self._hangup(ch, 16)

    def _hangup(self, ch: Channel, cause: int) -> None:
        spy = self._spyers.get(ch.name) if self._spyers else None
        if spy is not None and spy.spyee is not None:
            # the supervisor's phone hangs up: ChanSpy stops (and says so) before it is gone
            on_it = self._spied.get(spy.spyee.name, [])
            if spy in on_it:
                on_it.remove(spy)
                if not on_it:
                    del self._spied[spy.spyee.name]
            self._spy_event("ChanSpyStop", spy)
            spy.spyee = None
        super()._hangup(ch, cause)
        if spy is not None:
            self._spy_over(spy)
        if not self._spied:
            return
        for spy_ in self._spied.pop(ch.name, ()):  # option E: the spied-on channel is gone
            self._spy_event("ChanSpyStop", spy_)
            spy_.spyee = None
            self._spy_over(spy_)


#: The ChanSpy options of each mode after ``q`` (``[hotline-spy]``): E exit when the
#: spied-on channel hangs up, S stop when there is none; w whisper, B barge.
_OPTIONS = {"listen": "ES", "whisper": "ESw", "barge": "ESB"}
