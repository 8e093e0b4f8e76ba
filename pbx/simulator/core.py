"""The embedded PBX's call logic: queues, members, callers and their channels, with no sockets.

It does what Asterisk 20's ``app_queue`` does for the calls a 12345 hotline sees, and reports
it as the AMI events Asterisk sends (header names and order copied from the recordings in
``tests/recordings``), through one sink: ``emit(headers: dict)``. Time comes from a
:class:`~pbx.simulator.clock.Clock`; every state change happens in a clock callback, so a run is
deterministic for a given seed and epoch. The core never touches asyncio: an AGI step is an
:class:`~pbx.simulator.agi_steps.AgiRequest` handed to ``run_agi``.

The call model, after ``extensions.conf`` and ``app_queue.c``:

* A caller is a Local channel pair ``Local/12345@callers-XXXXXXXX;1`` (the phone side, running
  ``[caller-sim]``: it gives up after ``patience`` seconds unless bridged) and ``;2`` (runs the
  IVR step, then ``Queue()``); ``Linkedid`` is the ``;1``'s ``Uniqueid``. ``Local/q<queue>@callers``
  dials straight into ``<queue>``.
* Queue() as app_queue runs it: a waiting caller checks "is it my turn" (autofill: its position
  among non-ringing callers < the number of available members) when it joins and then on its own
  1 s grid (``RECHECK``) from its join time; on its turn ``try_calling`` gives every member a
  metric (``calc_metric``: penalty * 1000000 + the strategy's part) and rings the best one
  (ringall: every member sharing the best metric). A member not answering within the queue's
  ``timeout`` gets ``AgentRingNoAnswer``, then the caller waits ``retry`` seconds. Members that
  are paused, busy or ringing (``ringinuse=no``) or within ``wrapuptime`` of their last call are
  not rung. A member is one device shared by all its queues (skills).
* ``Queue(q,,,,MAXWAIT)`` ends with ``QueueCallerAbandon`` + ``QueueCallerLeave`` and the caller
  carries on: ``VarSet QUEUESTATUS=TIMEOUT``, ``UserEvent QueueResult``, hangup. ``joinempty`` /
  ``leavewhenempty`` follow ``parse_empty_options``/``get_member_status``.
* Counters as app_queue keeps them: ``Holdtime``/``TalkTime`` are integer rolling averages
  ``(old*3 + new) / 4``; ``Completed`` and the member's ``CallsTaken``/``LastCall`` move when the
  call ends; ``ServicelevelPerf`` = completed within ``ServiceLevel`` / completed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from pbx.simulator.agi_steps import AgiRunner
from pbx.simulator.clock import Clock
from pbx.simulator.config import SimulatorConfig
from pbx.simulator.event_builder import PRESENTATION
from pbx.simulator.model import (
    PREQUEUE,
    RES_EXISTS,
    RES_NOSUCHQUEUE,
    RES_NOT_DYNAMIC,
    RES_OKAY,
    STRATEGIES,
    VARSET_LEVELS,
    AgiHook,
    Caller,
    CallerInfo,
    Channel,
    Device,
    Emit,
    Member,
    Queue,
    parse_empty,
)
from pbx.simulator.queue_log_rows import QueueLogHook
from pbx.simulator.reports import Reports

__all__ = [
    "RES_EXISTS",
    "RES_NOSUCHQUEUE",
    "RES_NOT_DYNAMIC",
    "RES_OKAY",
    "STRATEGIES",
    "VARSET_LEVELS",
    "Caller",
    "CallerInfo",
    "Channel",
    "Member",
    "PbxCore",
    "Queue",
    "parse_empty",
]


def _always(_privilege: str) -> bool:
    return True


class PbxCore(Reports):
    """Queues, members, callers and channels; every change is reported through ``emit``.

    The class is assembled from one mixin per concern, each in its own module (lowest first):
    :mod:`.queue_log_rows` (Asterisk's queue_log rows, through the optional ``queue_log``
    hook), :mod:`.event_builder` (the AMI events), :mod:`.members` (member management and
    availability), :mod:`.queue_app` (join, turn, ring), :mod:`.queue_outcomes` (answer, hang
    up, abandon, time out), :mod:`.agi_steps` (IVR and survey), :mod:`.actions` (Originate,
    Redirect, Hangup, Getvar/Setvar) and :mod:`.reports` (QueueStatus, QueueSummary,
    CoreShowChannels, the CLI). This module holds the state they share and how a call comes in.
    The parts are one object: a call moves between them through ``self`` (a member removed in
    :mod:`.members` stops a ring of :mod:`.queue_app`), which is why they are mixins and not
    separate objects; each part declares the state it reads at its top.
    """

    def __init__(
        self,
        clock: Clock,
        emit: Emit,
        config: SimulatorConfig | None = None,
        *,
        pre_queue: AgiHook | None = None,
        post_call: AgiHook | None = None,
        run_agi: AgiRunner | None = None,
        caller_exten: str = "12345",
        wants: Callable[[str], bool] | None = None,
    ) -> None:
        """``config``: what the core reads of it is below (the rest is the Simulator's:
        queues, seats, the AMI server); None = the defaults. ``wants(privilege)``: whether
        anyone listens to that class of events (None = always): the events no one wants are
        not built (see :mod:`.event_builder`)."""
        cfg = config if config is not None else SimulatorConfig()
        self.clock = clock
        self.emit = emit
        self.wants: Callable[[str], bool] = wants if wants is not None else _always
        self.ring_time_s = cfg.ring_time_s
        self._uid_prefix = f"{cfg.systemname}-" if cfg.systemname else ""
        self.caller_exten = caller_exten
        self.varset = cfg.varset
        self.default_queue = cfg.queue
        #: app_queue's RECHECK: a waiting caller looks for a free member on its own grid of
        #: this many seconds. 0 = at once on every change (an ideal M/M/N+M queue).
        self.recheck_s = cfg.recheck_s
        #: The IVR step run for each caller's ``;2`` before Queue(); None = no AGI step.
        self.pre_queue: AgiHook | None = pre_queue
        #: Virtual seconds a caller spends in the IVR at the least (its prompts); the hook's
        #: answer is applied no earlier, so a seeded run does not depend on how fast the real
        #: FastAGI round trips were. A caller's own ``ivr_s`` attribute overrides it.
        self.ivr_time_s = cfg.ivr_time_s
        #: Whether a caller's patience runs from joining the queue (the traffic model's and
        #: Erlang-A's meaning: how long they will wait for an operator) rather than from the
        #: start of the call (what the recorded test dialplan's caller-sim does).
        self.patience_in_queue = cfg.patience_in_queue
        #: The survey step (``AGI(.../survey,${CHANNEL(linkedid)})``) run on the caller's ``;2``
        #: when the operator hung up first (``Queue(...,c)`` goes on); None = hang up at once.
        self.post_call: AgiHook | None = post_call
        #: Virtual seconds the survey takes (its prompts), held like ``ivr_time_s``; 0 = the
        #: session's real duration. A caller's own ``survey_s`` attribute overrides it.
        self.survey_time_s = cfg.survey_time_s
        #: Runs the AGI steps (the asynchronous side's effect handler, see
        #: :mod:`.agi_runner`); None = no one can: calls go on as if there were no AGI step.
        self.run_agi: AgiRunner | None = run_agi
        self.queues: dict[str, Queue] = {}
        self.devices: dict[str, Device] = {}
        self.channels: dict[str, Channel] = {}
        self.owners: dict[str, Caller] = {}  # channel name -> the call it belongs to
        self._spied: dict[str, list[Any]] = {}  # ChanSpy (.chanspy): spied-on channel -> spies
        self._spyers: dict[str, Any] = {}  # a spyer's channel names -> its spy
        self.globals: dict[str, str] = {
            "QUEUE": cfg.queue,
            "AGI_URL": "agi://127.0.0.1:4573/ivr",
            "DEFAULT_AGENT_RING": "1",
        }
        self.rng = random.Random(cfg.seed)  # for the "random"/"wrandom" strategies only
        self._chan_seq = 0
        self._uid_seq = 0
        self._cmd_seq = 0
        self.calls_processed = 0
        self.stats: dict[str, int] = dict(
            offered=0,
            answered=0,
            abandoned=0,
            waiting=0,
            talking=0,
            finished=0,
            served_by_ivr=0,
        )
        self.started = clock.now()
        #: Takes Asterisk's queue_log rows (:mod:`.queue_log_rows`); None = none are built.
        self.queue_log: QueueLogHook | None = None
        self.log_caller_id_name = cfg.log_caller_id_name

    def _new_pair(self, exten: str, context: str, linkedid: str | None) -> tuple[Channel, Channel]:
        now = self.clock.now()
        n = self._chan_seq
        self._chan_seq += 1
        base = f"Local/{exten}@{context}-{n:08x}"
        uid1 = f"{self._uid_prefix}{int(now)}.{self._uid_seq}"
        uid2 = f"{self._uid_prefix}{int(now)}.{self._uid_seq + 1}"
        self._uid_seq += 2
        link = linkedid or uid1
        c1 = Channel(base + ";1", uid1, link, context, exten, 1, 0, created=now)
        c2 = Channel(base + ";2", uid2, link, context, exten, 1, 4, created=now)
        self.channels[c1.name] = c1
        self.channels[c2.name] = c2
        return c1, c2

    def caller_arrive(
        self,
        queue: str,
        num: str,
        name: str,
        *,
        patience: float | None,
        talk: float,
        hangup_by: str = "agent",
        priority: int = 0,
        maxwait: float | None = None,
        attrs: dict[str, Any] | None = None,
        variables: dict[str, str] | None = None,
        on_done: Callable[[Caller, str], None] | None = None,
        exten: str | None = None,
    ) -> Caller:
        """A call comes in: its channels appear, the IVR step runs, then it joins ``queue``."""
        if queue not in self.queues:
            raise KeyError(queue)
        if exten is None:
            exten = self.caller_exten if queue == self.default_queue else f"q{queue}"
        vars_ = dict(variables or {})
        if priority and "QUEUE_PRIO" not in vars_:
            vars_["QUEUE_PRIO"] = str(priority)
        caller = self._start_caller(
            exten, num, name, vars_, patience=patience, talk=talk, hangup_by=hangup_by
        )
        caller.queue = queue
        caller.maxwait = maxwait
        caller.attrs = dict(attrs or {})
        caller.on_done = on_done
        self._start_dialplan(caller)
        return caller

    def _start_caller(
        self,
        exten: str,
        num: str,
        name: str,
        variables: dict[str, str],
        *,
        patience: float | None,
        talk: float,
        hangup_by: str = "agent",
        on_response: Callable[[Channel], None] | None = None,
    ) -> Caller:
        c1, c2 = self._new_pair(exten, "callers", None)
        caller = Caller(num, name, patience, talk, hangup_by, c1, c2, exten=exten)
        caller.arrived = self.clock.now()
        self.owners[c1.name] = caller
        self.owners[c2.name] = caller
        self.calls_processed += 1
        self._chan_event("Newchannel", c1)
        self._chan_event("Newchannel", c2)
        for k, v in variables.items():
            self._varset(c1, k, v, "some")
        c1.cid_num, c1.cid_name = num, name
        self._chan_event("NewCallerid", c1, **PRESENTATION)
        c1.conn_num, c1.conn_name = num, name
        self._chan_event("NewConnectedLine", c1)
        for k, v in variables.items():  # a Local channel copies ;1's variables to ;2
            self._varset(c2, k, v, "some")
        c2.cid_num, c2.cid_name = num, name
        self._chan_event("NewCallerid", c2, **PRESENTATION)
        c2.conn_num, c2.conn_name = num, name
        self._chan_event("NewConnectedLine", c2)
        self._local_bridge(c1, c2)
        c1.dest_exten, c1.dest_context = "s", "caller-sim"
        originated = on_response is not None  # an incoming call has no Originate dial
        if originated:
            self._dial_event("DialBegin", None, c1, DialString=f"{exten}@callers/n")
        c2.priority = 2
        c2.app, c2.appdata = "Answer", ""
        self._newstate(c2, 6)
        if on_response is not None:
            on_response(c1)
        self._newstate(c1, 6)
        if originated:
            self._dial_event("DialEnd", None, c1, DialStatus="ANSWER")
        c1.context, c1.exten, c1.priority = "caller-sim", "s", 4
        c1.app, c1.appdata = "Wait", "" if patience is None else f"{patience:g}"
        self._varset(c1, "PBXSIDE", c2.name)
        if talk:
            self._varset(c2, "__TALK", f"{talk:g}")
        for var in ("AGENT_RING", "AGENT_ANSWER"):
            if var in variables:
                self._varset(c2, "__" + var, variables[var])
        return caller

    def _start_dialplan(self, caller: Caller, *, ivr: bool = True) -> None:
        """Both halves are up: start the caller's patience, then the IVR step (unless not
        ``ivr``: a transfer) or Queue()."""
        if caller.patience is not None and not self.patience_in_queue:
            caller.abandon_timer = self.clock.call_later(caller.patience, self._abandon, caller)
        caller.state = PREQUEUE
        if not caller.queue:
            caller.queue = (
                caller.exten[1:]
                if caller.exten.startswith("q")
                else self.globals.get("QUEUE", self.default_queue)
            )
        self.stats["offered"] += 1
        if self.pre_queue is None or not ivr:
            self._enter_queue(caller)
        else:
            self._run_ivr_step(caller)
