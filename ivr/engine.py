"""The IVR dialogue as a pure state machine: ``next_step(state, answer) -> (state, command)``.

No sockets, no database, no clock: the server (``ivr.server``) sends each AGI command and
feeds the answer back; what needs the outside world (the caller's context, a ticket lookup,
recording a survey answer) is asked for as an *effect* and answered the same way. So a whole
call can be tested as a list of answers, in microseconds.

A session starts with :func:`start` and ends when the command is a :class:`Finish`; the
server then closes the connection and the dialplan goes on (to ``Queue()`` with the
variables the IVR set, or nowhere after ``HANGUP``).

Commands: :class:`AgiCommand` (one line to send), :class:`LoadContext`,
:class:`LookupTicket`, :class:`RecordSurvey`, :class:`ChooseQueue` (effects), :class:`Finish`.
Answers: :class:`~pbx.agi.AgiReply`, :class:`~pbx.agi.HangupNotice`,
:class:`Context`, :class:`TicketResult`, :class:`QueueChoice`, :class:`EffectDone`,
:class:`EffectFailed`.

Overflow between centres: a session started with ``overflow_queues`` asks, before it sends a
caller to one of those queues, which queue the caller goes to (:class:`ChooseQueue`, answered
from the live state by :class:`routing.overflow.Overflower`); an overflowed caller's queue is
the answer's, and ``IVR_OVERFLOW_FROM``/``IVR_OVERFLOW_REASON`` say from where and why.

Exits (``IVR_RESULT`` and the ``exit`` label of ``hotline_ivr_sessions_total``):
``queue`` (the caller chose a queue), ``fallback`` (sent to the operator after invalid keys,
silence or an error), ``self_service`` (served by the IVR alone: a ticket's progress heard, an
announcement that answered the call, or "end the call" chosen), ``hangup`` (the caller hung
up before any of those), and for the survey ``survey`` (answered) or ``survey_none``. The
callback script (the centre calling a citizen back about a ticket) says who calls and why,
then asks the survey's question; its answer is a :class:`RecordCallback` effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ivr.menus import Menus, Node, Option, Prompt, district_for, is_open
from pbx.agi import AgiReply, HangupNotice, command
from tickets.numbers import is_valid

__all__ = [
    "AgiCommand",
    "AnnouncementInfo",
    "CallInfo",
    "ChooseQueue",
    "Context",
    "EffectDone",
    "EffectFailed",
    "Finish",
    "LoadContext",
    "LookupTicket",
    "QueueChoice",
    "RecordCallback",
    "RecordSurvey",
    "State",
    "TicketInfo",
    "TicketResult",
    "next_step",
    "start",
]

SURVEY_SCRIPT = "survey"
#: The callback of a ticket (``AGI(agi://.../callback,<ticket number>)``): the same rating.
CALLBACK_SCRIPT = "callback"
SURVEY_SCORES = {"1": 1, "2": 2, "3": 3}  # satisfied, basically satisfied, dissatisfied
MAX_FALLBACKS = 3  # fallbacks that lead to more menus; then the operator, whatever they say


# -- what the machine knows and asks --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallInfo:
    script: str
    caller: str  # empty when withheld
    channel: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    language: str = "zh"
    #: The callback script's ticket number (its first argument).
    ticket: str = ""

    @classmethod
    def from_env(cls, env: Any) -> CallInfo:
        args = env.args
        script = env.script or "ivr"
        first = args[0] if args and args[0] else ""
        callback = script == CALLBACK_SCRIPT
        return cls(
            script=script,
            caller=env.caller,
            channel=env.get("channel"),
            uniqueid=env.get("uniqueid"),
            linkedid=(first if first and not callback else env.get("uniqueid")),
            language=env.get("language") or "zh",
            ticket=first if callback else "",
        )


@dataclass(frozen=True, slots=True)
class TicketInfo:
    number: str
    status: str


@dataclass(frozen=True, slots=True)
class AnnouncementInfo:
    id: int
    sound: str
    text: str


@dataclass(frozen=True, slots=True)
class AgiCommand:
    line: bytes

    def __str__(self) -> str:
        return self.line.decode("utf-8").rstrip("\n")


@dataclass(frozen=True, slots=True)
class LoadContext:
    caller: str
    district: str | None


@dataclass(frozen=True, slots=True)
class LookupTicket:
    number: str
    caller: str


@dataclass(frozen=True, slots=True)
class RecordSurvey:
    linkedid: str
    score: int


@dataclass(frozen=True, slots=True)
class RecordCallback:
    """The citizen's rating at the callback of ``ticket``."""

    ticket: str
    score: int


@dataclass(frozen=True, slots=True)
class ChooseQueue:
    """Which queue a caller bound for ``queue`` goes to now (overflow between centres)."""

    queue: str


@dataclass(frozen=True, slots=True)
class QueueChoice:
    """The answer to :class:`ChooseQueue`: ``queue``; ``overflow_from`` and ``reason`` when
    it is not the one asked about."""

    queue: str
    overflow_from: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Finish:
    exit: str
    menu: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Context:
    now: datetime
    announcements: tuple[AnnouncementInfo, ...] = ()
    open_ticket: TicketInfo | None = None


@dataclass(frozen=True, slots=True)
class TicketResult:
    ticket: TicketInfo | None


@dataclass(frozen=True, slots=True)
class EffectDone:
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EffectFailed:
    error: str = ""


Command = (
    AgiCommand | LoadContext | LookupTicket | RecordSurvey | RecordCallback | ChooseQueue | Finish
)
Answer = (
    AgiReply
    | HangupNotice
    | Context
    | TicketResult
    | QueueChoice
    | EffectDone
    | EffectFailed
    | None
)


@dataclass(frozen=True, slots=True)
class State:
    menus: Menus
    call: CallInfo
    phase: str = "context"
    node: str = ""
    tries: int = 0
    fallbacks: int = 0
    language: str = "zh"
    district: str | None = None
    open_now: bool = True
    open_ticket: TicketInfo | None = None
    announcements: tuple[AnnouncementInfo, ...] = ()
    ann_index: int = 0
    served: bool = False
    todo: tuple[bytes, ...] = ()
    after: str = ""
    finish: Finish | None = None
    variables: tuple[tuple[str, str], ...] = ()
    score: int | None = None
    #: Queues whose callers may overflow: asked about (:class:`ChooseQueue`) before sending.
    overflow_queues: frozenset[str] = frozenset()
    #: The option and exit of a caller waiting for the answer to :class:`ChooseQueue`.
    pending: tuple[Option, str] | None = None


# -- commands -------------------------------------------------------------------------------
def _cmd(*words: str | int, raw: tuple[str, ...]) -> bytes:
    return command(*words, raw=raw)


def stream_file(sound: str, escape: str = "") -> bytes:
    return _cmd(sound, escape, raw=("STREAM", "FILE"))


def get_data(sound: str, timeout_ms: int, max_digits: int) -> bytes:
    return _cmd(sound, timeout_ms, max_digits, raw=("GET", "DATA"))


def set_variable(name: str, value: str) -> bytes:
    return _cmd(name, value, raw=("SET", "VARIABLE"))


def say_digits(digits: str) -> bytes:
    return _cmd(digits, "", raw=("SAY", "DIGITS"))


HANGUP = b"HANGUP\n"


# -- the machine ----------------------------------------------------------------------------
def start(
    menus: Menus, call: CallInfo, overflow_queues: frozenset[str] = frozenset()
) -> tuple[State, Command]:
    """The first step of a session for ``call`` (from the AGI environment); callers bound for
    one of ``overflow_queues`` are asked about first (see the module's docstring)."""
    lang = call.language if call.language in menus.languages else next(iter(menus.languages))
    if call.script == SURVEY_SCRIPT:
        s = State(menus, call, phase="survey", language=lang)
        return s, AgiCommand(get_data(_sys(menus).survey_question.sound, _digit_ms(menus), 1))
    if call.script == CALLBACK_SCRIPT:
        s = State(menus, call, phase="survey", language=lang)
        if not call.ticket:  # the dialplan gave no ticket: nothing to ask about
            fin = Finish("error", CALLBACK_SCRIPT, {"SURVEY_RESULT": "error"})
            return replace(s, finish=fin), fin
        return _seq(s, [stream_file(_sys(menus).callback_intro.sound)], "survey_ask")
    district = district_for(menus, call.caller) if call.caller else None
    s = State(
        menus,
        call,
        phase="context",
        language=lang,
        district=district,
        overflow_queues=overflow_queues,
    )
    return s, LoadContext(call.caller, district)


def next_step(state: State, answer: Answer) -> tuple[State, Command]:
    """The next command of the session, given the answer to the previous one."""
    if state.finish is not None:
        return state, state.finish
    if _hung_up(answer):
        return _hangup_exit(state)
    if state.todo:  # a queued sequence of commands: send the next one
        line, rest = state.todo[0], state.todo[1:]
        return replace(state, todo=rest), AgiCommand(line)
    if state.after:
        phase, state = state.after, replace(state, after="")
        return _PHASES[phase](state, None)
    return _PHASES[state.phase](state, answer)


def _hung_up(answer: Answer) -> bool:
    return isinstance(answer, HangupNotice) or (isinstance(answer, AgiReply) and answer.dead)


def _sys(menus: Menus) -> Any:
    return menus.system_sounds


def _digit_ms(menus: Menus) -> int:
    return menus.timeouts.digit_ms


def _seq(state: State, lines: list[bytes], after: str) -> tuple[State, Command]:
    """Send ``lines`` one by one (answers ignored unless a hang-up), then run phase ``after``."""
    if not lines:
        return _PHASES[after](replace(state, todo=(), after=""), None)
    return replace(state, todo=tuple(lines[1:]), after=after), AgiCommand(lines[0])


def _done(state: State, fin: Finish, lines: list[bytes]) -> tuple[State, Command]:
    """Send ``lines``, then finish with ``fin``."""
    state = replace(state, finish=None)
    if not lines:
        return replace(state, finish=fin), fin
    return replace(
        state,
        todo=tuple(lines[1:]),
        after="finish",
        phase="finish",
        variables=tuple(fin.variables.items()),
        node=fin.menu,
    ), AgiCommand(lines[0])


def _phase_finish(state: State, answer: Answer) -> tuple[State, Command]:
    fin = _make_finish(state)
    return replace(state, finish=fin), fin


def _make_finish(state: State) -> Finish:
    variables = dict(state.variables)
    return Finish(variables.get("IVR_RESULT", "error"), state.node or state.call.script, variables)


def _hangup_exit(state: State) -> tuple[State, Command]:
    if state.phase == "finish":  # already decided, and hung up while hearing the last words
        fin = _make_finish(state)
        if fin.exit in ("queue", "fallback"):  # gone before reaching the queue
            fin = Finish("hangup", fin.menu, {**fin.variables, "IVR_RESULT": "hangup"})
    elif state.call.script in (SURVEY_SCRIPT, CALLBACK_SCRIPT):
        fin = Finish("survey" if state.score else "hangup", state.call.script, {})
    else:
        exit_ = "self_service" if state.served else "hangup"
        fin = Finish(exit_, state.node or "start", {"IVR_RESULT": exit_})
    return replace(state, finish=fin, todo=(), after=""), fin


# context and announcements
def _phase_context(state: State, answer: Answer) -> tuple[State, Command]:
    if isinstance(answer, Context):
        state = replace(
            state,
            announcements=answer.announcements,
            open_ticket=answer.open_ticket,
            open_now=is_open(state.menus, answer.now),
        )
    # EffectFailed: no announcements, no open ticket; the menu still works
    return _next_announcement(replace(state, ann_index=0))


def _next_announcement(state: State) -> tuple[State, Command]:
    if state.ann_index >= len(state.announcements):
        return _after_announcements(state)
    ann = state.announcements[state.ann_index]
    leave = state.menus.announcements.leave_digit
    return replace(state, phase="announce"), AgiCommand(stream_file(ann.sound, leave))


def _phase_announce(state: State, answer: Answer) -> tuple[State, Command]:
    a = state.menus.announcements
    if isinstance(answer, AgiReply) and answer.digit == a.leave_digit:
        return _self_served_end(replace(state, node="announcement"))
    return replace(state, phase="announce_hint"), AgiCommand(
        get_data(a.hint.sound, max(a.wait_ms, 500), 1)
    )


def _phase_announce_hint(state: State, answer: Answer) -> tuple[State, Command]:
    if isinstance(answer, AgiReply) and answer.result == state.menus.announcements.leave_digit:
        return _self_served_end(replace(state, node="announcement"))
    return _next_announcement(replace(state, ann_index=state.ann_index + 1))


def _after_announcements(state: State) -> tuple[State, Command]:
    ss = state.menus.self_service
    if state.open_ticket is not None and ss.open_ticket_node:
        return _enter(state, ss.open_ticket_node)
    return _enter(state, state.menus.start)


# menus
def _enter(state: State, name: str, *, tries: int = 0) -> tuple[State, Command]:
    menus = state.menus
    if name == menus.start and not state.open_now and menus.hours.closed_node:
        name = menus.hours.closed_node
    node = menus.nodes[name]
    state = replace(state, phase="menu", node=name, tries=tries)
    return state, AgiCommand(get_data(node.prompt.sound, menus.timeout_ms(node), 1))


def _phase_menu(state: State, answer: Answer) -> tuple[State, Command]:
    node = state.menus.nodes[state.node]
    if not isinstance(answer, AgiReply) or not answer.ok:
        return _retry(state, node, None)  # 510/520 or an unexpected answer: count a try
    if answer.result == "-1":
        return _retry(state, node, None)  # prompt could not play
    key = answer.result[:1]
    if not key:
        return _retry(state, node, _sys(state.menus).silence)
    option = node.options.get(key)
    if option is None:
        return _retry(state, node, _sys(state.menus).invalid)
    return _apply(state, option)


def _retry(state: State, node: Node, sorry: Prompt | None) -> tuple[State, Command]:
    tries = state.tries + 1
    if tries > state.menus.retries(node):
        return _fallback(state, node.fallback)
    lines = [stream_file(sorry.sound)] if sorry else []
    state = replace(state, tries=tries)
    return _seq(state, lines, "reprompt")


def _phase_reprompt(state: State, answer: Answer) -> tuple[State, Command]:
    return _enter(state, state.node, tries=state.tries)


def _fallback(state: State, option: Option | None) -> tuple[State, Command]:
    fallbacks = state.fallbacks + 1
    state = replace(state, fallbacks=fallbacks)
    if option is None or fallbacks > MAX_FALLBACKS:
        return _to_queue(state, state.menus.operator, exit_="fallback")
    if option.queue is not None:
        return _to_queue(state, option, exit_="fallback")
    return _apply(state, option)


def _apply(state: State, option: Option) -> tuple[State, Command]:
    menus = state.menus
    if option.goto is not None:
        return _enter(state, option.goto)
    if option.queue is not None:
        return _to_queue(state, option, exit_="queue")
    action = option.action
    if action == "set_language":
        assert option.language and option.next
        state = replace(state, language=option.language)
        return _seq(
            state, [set_variable("CHANNEL(language)", option.language)], "goto:" + option.next
        )
    if action == "set_district":
        assert option.next
        return _enter(replace(state, district=option.district), option.next)
    if action == "ticket_status":
        return _ask_ticket(replace(state, tries=0))
    if action == "open_ticket_status" and state.open_ticket is not None:
        return _say_ticket(state, state.open_ticket)
    if action == "open_ticket_status":  # no open ticket after all: ask for its number
        return _ask_ticket(replace(state, tries=0))
    if action == "hangup":
        return _self_served_end(state)
    if action == "repeat":
        return _enter(state, state.node)
    return _to_queue(state, menus.operator, exit_="fallback")


def _to_queue(state: State, option: Option, *, exit_: str) -> tuple[State, Command]:
    queue = state.menus.queue_for(option, state.district)
    if queue in state.overflow_queues:
        return replace(state, phase="choose_queue", pending=(option, exit_)), ChooseQueue(queue)
    return _send_to_queue(state, option, exit_, QueueChoice(queue))


def _phase_choose_queue(state: State, answer: Answer) -> tuple[State, Command]:
    assert state.pending is not None
    option, exit_ = state.pending
    state = replace(state, pending=None)
    if not isinstance(answer, QueueChoice) or not answer.queue:  # failed: the chosen queue
        answer = QueueChoice(state.menus.queue_for(option, state.district))
    return _send_to_queue(state, option, exit_, answer)


def _send_to_queue(
    state: State, option: Option, exit_: str, choice: QueueChoice
) -> tuple[State, Command]:
    menus = state.menus
    queue = choice.queue
    prio = option.priority
    if state.open_ticket is not None:
        prio = max(prio, menus.self_service.open_ticket_priority)
    variables = {
        "IVR_QUEUE": queue,
        "IVR_SKILL": option.skill,
        "IVR_KIND": option.kind,
        "QUEUE_PRIO": str(prio),
        "IVR_DISTRICT": state.district or "city",
        "IVR_LANG": state.language,
        "IVR_MENU": state.node or "start",
        "IVR_RESULT": exit_,
    }
    if choice.overflow_from:
        variables["IVR_OVERFLOW_FROM"] = choice.overflow_from
        variables["IVR_OVERFLOW_REASON"] = choice.reason
    lines = [set_variable(k, v) for k, v in variables.items()]
    lines.append(stream_file(_sys(menus).transfer.sound))
    fin = Finish(exit_, state.node or "start", variables)
    return _done(state, fin, lines)


def _self_served_end(state: State) -> tuple[State, Command]:
    variables = {"IVR_RESULT": "self_service", "IVR_MENU": state.node or "start"}
    lines = [set_variable(k, v) for k, v in variables.items()]
    lines += [stream_file(_sys(state.menus).goodbye.sound), HANGUP]
    fin = Finish("self_service", state.node or "start", variables)
    return _done(replace(state, served=True), fin, lines)


# self-service: a ticket's progress
def _ask_ticket(state: State) -> tuple[State, Command]:
    menus = state.menus
    if not state.call.caller:
        return _seq(state, [stream_file(_sys(menus).no_caller_id.sound)], "after_lookup")
    ms = menus.timeouts.ticket_digits_ms
    line = get_data(_sys(menus).enter_ticket.sound, ms, menus.self_service.max_ticket_digits)
    return replace(state, phase="ticket_entry", node=state.node), AgiCommand(line)


def _phase_ticket_entry(state: State, answer: Answer) -> tuple[State, Command]:
    menus = state.menus
    digits = answer.result if isinstance(answer, AgiReply) and answer.ok else ""
    if digits and digits != "-1" and is_valid(digits):
        return replace(state, phase="lookup"), LookupTicket(digits, state.call.caller)
    tries = state.tries + 1
    if tries > menus.timeouts.retries:
        return _fallback(state, None)
    sorry = _sys(menus).ticket_invalid if digits else _sys(menus).silence
    return _seq(replace(state, tries=tries), [stream_file(sorry.sound)], "ask_ticket")


def _phase_ask_ticket(state: State, answer: Answer) -> tuple[State, Command]:
    return _ask_ticket(state)


def _phase_lookup(state: State, answer: Answer) -> tuple[State, Command]:
    if isinstance(answer, TicketResult) and answer.ticket is not None:
        return _say_ticket(state, answer.ticket)
    if isinstance(answer, TicketResult):
        return _seq(state, [stream_file(_sys(state.menus).ticket_not_found.sound)], "after_lookup")
    return _fallback(state, None)  # the lookup failed (database down): an operator helps


def _say_ticket(state: State, ticket: TicketInfo) -> tuple[State, Command]:
    menus = state.menus
    lines = [
        stream_file(_sys(menus).ticket_number_is.sound),
        say_digits(ticket.number[-4:]),
        stream_file(menus.ticket_status_sounds.for_status(ticket.status).sound),
    ]
    return _seq(replace(state, served=True), lines, "after_lookup")


def _phase_after_lookup(state: State, answer: Answer) -> tuple[State, Command]:
    return _enter(state, state.menus.self_service.after_lookup_node)


# the survey after the call
def _phase_survey(state: State, answer: Answer) -> tuple[State, Command]:
    menus = state.menus
    key = answer.result[:1] if isinstance(answer, AgiReply) and answer.ok else ""
    if key in SURVEY_SCORES:
        score = SURVEY_SCORES[key]
        record: Command = (
            RecordCallback(state.call.ticket, score)
            if state.call.script == CALLBACK_SCRIPT
            else RecordSurvey(state.call.linkedid, score)
        )
        return replace(state, phase="survey_record", score=score), record
    tries = state.tries + 1
    if tries > menus.timeouts.retries:
        fin = Finish("survey_none", state.call.script, {"SURVEY_RESULT": "none"})
        return replace(state, finish=fin), fin
    sorry = _sys(menus).invalid if key else _sys(menus).silence
    return _seq(replace(state, tries=tries), [stream_file(sorry.sound)], "survey_ask")


def _phase_survey_ask(state: State, answer: Answer) -> tuple[State, Command]:
    line = get_data(_sys(state.menus).survey_question.sound, _digit_ms(state.menus), 1)
    return replace(state, phase="survey"), AgiCommand(line)


def _phase_survey_record(state: State, answer: Answer) -> tuple[State, Command]:
    variables = {"SURVEY_RESULT": str(state.score)}
    lines = [
        set_variable("SURVEY_RESULT", str(state.score)),
        stream_file(_sys(state.menus).survey_thanks.sound),
    ]
    state = replace(state, variables=tuple(variables.items()))
    return replace(state, todo=tuple(lines[1:]), after="survey_finish"), AgiCommand(lines[0])


def _phase_survey_finish(state: State, answer: Answer) -> tuple[State, Command]:
    fin = Finish("survey", state.call.script, dict(state.variables))
    return replace(state, finish=fin), fin


#: One phase of a session: the state and the answer to the last command -> the next command.
Phase = Callable[[State, Answer | None], tuple[State, Command]]


class _Phases(dict[str, Phase]):
    def __missing__(self, key: str) -> Phase:
        if key.startswith("goto:"):
            target = key[5:]
            return lambda state, answer: _enter(state, target)
        raise KeyError(key)


_PHASES: dict[str, Phase] = _Phases(
    context=_phase_context,
    announce=_phase_announce,
    announce_hint=_phase_announce_hint,
    menu=_phase_menu,
    choose_queue=_phase_choose_queue,
    reprompt=_phase_reprompt,
    ticket_entry=_phase_ticket_entry,
    ask_ticket=_phase_ask_ticket,
    lookup=_phase_lookup,
    after_lookup=_phase_after_lookup,
    finish=_phase_finish,
    survey=_phase_survey,
    survey_ask=_phase_survey_ask,
    survey_record=_phase_survey_record,
    survey_finish=_phase_survey_finish,
)
