"""The AGI steps of a call in the embedded PBX: ``AGI(${AGI_URL})`` (our IVR, over FastAGI)
on the caller's ``;2`` before ``Queue()``, and ``AGI(.../survey,${CHANNEL(linkedid)})`` after a
call the operator ended (``Queue(...,c)`` goes on), as ``extensions.conf`` runs them.

The core never runs a FastAGI session itself: it hands an :class:`AgiRequest` to ``run_agi``,
which the asynchronous side provides (:func:`pbx.simulator.agi_runner.run_agi_step`), and is
told through ``request.finished`` when the session ended. With a modelled time the clock is
held at the step's end until then, so a seeded run lands each result at the same virtual time
however slow the real round trips were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pbx.simulator.model import (
    PREQUEUE,
    SURVEY,
    AgiHook,
    AgiSession,
    Caller,
    CallerInfo,
    Channel,
)
from pbx.simulator.queue_outcomes import QueueOutcomes

__all__ = ["AgiFinished", "AgiRequest", "AgiRunner", "AgiSteps"]

log = logging.getLogger(__name__)

#: ``finished(result, error, cancelled)``: the variables the session set (None if it failed
#: or was cancelled), the exception it raised, and whether it was cancelled.
AgiFinished = Callable[[dict[str, str] | None, BaseException | None, bool], None]


@dataclass(frozen=True, slots=True)
class AgiRequest:
    """An effect of the core: run ``hook(info)`` (a FastAGI session), then call ``finished``."""

    what: str  # "pre-queue" (the IVR) or "post-call" (the survey), for logs
    hook: AgiHook
    info: CallerInfo
    finished: AgiFinished


#: Runs an AGI step; returns the running session, or None when nothing can run it (no event
#: loop): the call then goes on as if there were no AGI step.
AgiRunner = Callable[[AgiRequest], AgiSession | None]


class AgiSteps(QueueOutcomes):
    """The IVR before the queue and the survey after the call, as requests to ``run_agi``."""

    pre_queue: AgiHook | None
    post_call: AgiHook | None
    run_agi: AgiRunner | None
    ivr_time_s: float
    survey_time_s: float

    def _run_ivr_step(self, caller: Caller) -> None:
        """``AGI(${AGI_URL})`` on the caller's ``;2`` before ``Queue()`` (the IVR step)."""
        c2 = caller.chan2
        c2.priority = 6
        c2.app, c2.appdata = "AGI", self.globals.get("AGI_URL", "")
        assert self.pre_queue is not None
        self._agi_step(
            caller,
            self.pre_queue,
            state=PREQUEUE,
            modelled_s=float(caller.attrs.get("ivr_s", self.ivr_time_s)),
            then=self._ivr_step_done,
            without_runner=lambda: self._enter_queue(caller),
            what="pre-queue",
        )

    def _agi_step(
        self,
        caller: Caller,
        hook: AgiHook,
        *,
        state: str,
        modelled_s: float,
        then: Callable[[Caller, dict[str, str], list[str], bool], None],
        without_runner: Callable[[], None],
        what: str,
    ) -> None:
        """Run an AGI step (the IVR before the queue, the survey after the call) through
        ``hook``, a real FastAGI session, while the caller is in ``state``; then call
        ``then(caller, variables, commands issued, ok)`` on the clock.

        With a modelled time (``modelled_s`` > 0) the clock holds at its end until the real
        session has answered, and ``then`` runs exactly there, so a seeded run is the same
        however slow the round trips were; without one, the session's real duration is its
        virtual duration.
        """
        c2 = caller.chan2
        issued: list[str] = []

        def agi_command(command: str, result_code: str = "200", result: str = "Success"):
            if caller.state == state:
                issued.append(command)
                self.agi_exec(c2, command, result_code, result)

        info = CallerInfo(
            channel=c2.name,
            uniqueid=c2.uniqueid,
            linkedid=c2.linkedid,
            caller_num=caller.num,
            caller_name=caller.name,
            exten=caller.exten,
            context="callers",
            queue=caller.queue,
            variables=dict(c2.vars),
            attrs=dict(caller.attrs),
            agi_command=agi_command,
        )
        not_before = self.clock.now() + modelled_s
        session: AgiSession | None = None
        token: int | None = None

        def finished(
            result: dict[str, str] | None, error: BaseException | None, cancelled: bool
        ) -> None:
            # Called by the asynchronous side when the session ended, however it ended: the
            # hold must go even when the caller left meanwhile.
            if token is not None:
                self.clock.release(token)
            if caller.agi_session is not session:
                return  # cancelled by the core (the caller left, a redirect): nothing to do
            caller.agi_session = None
            if cancelled or caller.state != state:
                return
            if error is not None:
                log.warning("%s hook failed for %s: %r", what, c2.name, error)
            at = not_before if token is not None else max(self.clock.now(), not_before)
            variables = {} if error is not None else dict(result or {})
            self.clock.call_at(at, then, caller, variables, issued, error is None)

        request = AgiRequest(what=what, hook=hook, info=info, finished=finished)
        session = self.run_agi(request) if self.run_agi is not None else None
        if session is None:  # no one to run FastAGI (no event loop): no AGI step
            without_runner()
            return
        caller.agi_session = session
        if not_before > self.clock.now():
            token = self.clock.hold(not_before)

    def _cancel_agi_step(self, caller: Caller) -> None:
        """The caller left (or was redirected) during an AGI step: stop the session. Its
        ``finished`` still comes, and only releases the clock's hold."""
        if caller.agi_session is not None:
            session, caller.agi_session = caller.agi_session, None
            session.cancel()

    def _agi_result(self, c2: Channel, result: dict[str, str], issued: list[str], ok: bool) -> str:
        """The variables an AGI step set, as the events Asterisk shows; returns AGISTATUS."""
        for k, v in result.items():
            k = str(k)
            if k == "AGISTATUS":
                continue
            if issued:  # the AGI client reported its own commands
                if c2.vars.get(k.lstrip("_")) != str(v):
                    self._varset(c2, k, str(v), "some")
            else:
                self.agi_exec(c2, f'SET VARIABLE {k} "{v}"')
        status = str(result.get("AGISTATUS", "SUCCESS")) if ok else "FAILURE"
        self._varset(c2, "AGISTATUS", status)
        self._varset(c2, "TRYSTATUS", "SUCCESS" if ok else "FAILED")
        return status

    def _ivr_step_done(self, caller: Caller, result: dict[str, str], issued: list[str], ok: bool):
        if caller.state != PREQUEUE:
            return
        status = self._agi_result(caller.chan2, result, issued, ok)
        if status == "HANGUP":
            # The IVR hung up: the caller was served by it alone (ticket progress, an
            # announcement) or left in the menu. The dialplan never reaches Queue().
            self._ivr_hangup(caller)
            return
        if result.get("QUEUE"):
            caller.queue = str(result["QUEUE"])
        self._enter_queue(caller)

    def _run_survey(self, caller: Caller) -> None:
        """``AGI(${HOTLINE_AGI}/survey,${CHANNEL(linkedid)})`` on the caller's ``;2`` after the
        operator hung up, then ``Hangup()`` (extensions.conf). Held like the IVR step."""
        c2 = caller.chan2
        caller.state = SURVEY
        base = self.globals.get("AGI_URL", "agi://127.0.0.1:4573/ivr").rsplit("/", 1)[0]
        c2.priority = 10
        c2.app, c2.appdata = "AGI", f"{base}/survey,{c2.linkedid}"
        assert self.post_call is not None
        self._agi_step(
            caller,
            self.post_call,
            state=SURVEY,
            modelled_s=float(caller.attrs.get("survey_s", self.survey_time_s)),
            then=self._survey_done,
            without_runner=lambda: self._survey_done(caller, {}, [], False),
            what="post-call",
        )

    def _survey_done(self, caller: Caller, result: dict[str, str], issued: list[str], ok: bool):
        if caller.state != SURVEY:
            return
        c2 = caller.chan2
        self._agi_result(c2, result, issued, ok)
        c2.priority = 12
        c2.app, c2.appdata = "Hangup", ""
        self._end_survey(caller)

    def _end_survey(self, caller: Caller) -> None:
        """The caller's Local pair hangs up after the survey (or during it)."""
        self._stop_timers(caller)
        self._cancel_agi_step(caller)
        self._caller_gone(caller, first_2=True)
        self._finish(caller, "answered")
