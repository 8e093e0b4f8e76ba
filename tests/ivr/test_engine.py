"""The dialogue, pure: a scripted caller against the state machine, no sockets."""

from __future__ import annotations

from collections.abc import Callable

from ivr.engine import (
    AgiCommand,
    AnnouncementInfo,
    CallInfo,
    ChooseQueue,
    Context,
    EffectDone,
    EffectFailed,
    Finish,
    LoadContext,
    LookupTicket,
    QueueChoice,
    RecordCallback,
    RecordSurvey,
    TicketInfo,
    TicketResult,
    next_step,
    start,
)
from pbx.agi import AgiDecoder
from pbx.simulator.agi import HANGUP, AsteriskAgiSide
from tests.ivr.conftest import CLOSED_NOW, OPEN_NOW
from tickets.numbers import make_number

CALLER = "13800001234"


def keys(script: dict[str, list[str | None]]) -> Callable[[str], str | None]:
    """Per prompt, the keys pressed at its successive plays (then silence)."""
    left = {k: list(v) for k, v in script.items()}

    def press(prompt: str) -> str | None:
        q = left.get(prompt)
        return q.pop(0) if q else None

    return press


def drive(
    menus,
    press,
    *,
    caller: str = CALLER,
    script: str = "ivr",
    context: Context | None = None,
    tickets: dict[str, tuple[str, str]] | None = None,
    fail_lookup: bool = False,
    ticket: str = "",
    overflow: dict[str, QueueChoice | EffectFailed] | None = None,
):
    """Run a session; returns (finish, transcript, asterisk side, effects)."""
    side = AsteriskAgiSide(press)
    decoder = AgiDecoder()
    decoder.feed(b"agi_network: yes\n\n")
    effects = []
    call = CallInfo(script, caller, linkedid="1795966595.0", ticket=ticket)
    state, cmd = start(menus, call, frozenset(overflow or ()))
    for _ in range(500):
        if isinstance(cmd, Finish):
            return cmd, side.transcript, side, effects
        effects.append(cmd)
        if isinstance(cmd, AgiCommand):
            items = decoder.feed(side.handle(str(cmd)))
            answer = items[-1] if side.dead and len(items) > 1 else items[0]
        elif isinstance(cmd, LoadContext):
            answer = context or Context(OPEN_NOW)
        elif isinstance(cmd, LookupTicket):
            if fail_lookup:
                answer = EffectFailed("database down")
            else:
                found = (tickets or {}).get(cmd.number)
                ok = found is not None and found[0] == cmd.caller
                answer = TicketResult(TicketInfo(cmd.number, found[1]) if ok else None)
        elif isinstance(cmd, ChooseQueue):
            answer = (overflow or {})[cmd.queue]
        elif isinstance(cmd, RecordSurvey | RecordCallback):
            answer = EffectDone("applied")
        else:
            raise AssertionError(cmd)
        state, cmd = next_step(state, answer)
    raise AssertionError("no end after 500 steps")


def test_mandarin_complaint_goes_to_the_city_queue(menus):
    fin, tr, side, _ = drive(
        menus, keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["2"]})
    )
    assert fin.exit == "queue" and fin.menu == "main"
    assert side.variables["IVR_QUEUE"] == "hotline"
    assert side.variables["IVR_KIND"] == "complaint" and side.variables["QUEUE_PRIO"] == "1"
    assert side.variables["CHANNEL(language)"] == "zh"
    assert tr[0] == "GET DATA hotline/welcome-language 5000 1"


def test_english_choice_sets_the_channel_language(menus):
    _fin, _, side, _ = drive(
        menus, keys({"hotline/welcome-language": ["2"], "hotline/main-menu": ["0"]})
    )
    assert side.language == "en" and side.variables["IVR_LANG"] == "en"


def test_wrong_keys_then_silence_fall_through_to_the_operator(menus):
    fin, tr, side, _ = drive(
        menus, keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["7", "*", "9"]})
    )
    assert fin.exit == "fallback"
    assert side.variables["IVR_QUEUE"] == "hotline" and side.variables["IVR_RESULT"] == "fallback"
    assert tr.count('STREAM FILE hotline/invalid ""') == 2  # 7 and *; 9 is the third try
    assert tr.count("GET DATA hotline/main-menu 5000 1") == 3


def test_total_silence_is_never_a_dead_end(menus):
    fin, tr, side, _ = drive(menus, keys({}))
    # language menu: silence x3 -> its fallback (the Mandarin main menu) -> silence x3 -> operator
    assert fin.exit == "fallback" and side.variables["IVR_QUEUE"] == "hotline"
    assert 'STREAM FILE hotline/no-input ""' in tr


def test_hang_up_in_the_middle_stops_at_once(menus):
    fin, tr, side, _ = drive(
        menus, keys({"hotline/welcome-language": ["1"], "hotline/main-menu": [HANGUP]})
    )
    assert fin.exit == "hangup" and fin.menu == "main"
    assert side.dead and tr[-1] == "GET DATA hotline/main-menu 5000 1"
    assert "IVR_QUEUE" not in side.variables


def test_district_by_choice_and_by_number(menus):
    press = keys(
        {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["8", "1"],
            "hotline/district-menu": ["2"],
        }
    )
    _fin, _, side, _ = drive(menus, press)
    assert side.variables["IVR_QUEUE"] == "yuhang" and side.variables["IVR_DISTRICT"] == "yuhang"
    press = keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]})
    _, _, side, effects = drive(menus, press, caller="057182001234")
    assert effects[0] == LoadContext("057182001234", "xiaoshan")
    assert side.variables["IVR_QUEUE"] == "xiaoshan"


def test_closed_hours_offer_only_the_day_and_night_routes(menus):
    press = keys({"hotline/closed": ["1"]})
    _fin, tr, side, _ = drive(menus, press, context=Context(CLOSED_NOW))
    assert tr[0] == "GET DATA hotline/closed 5000 1"
    assert side.variables["IVR_QUEUE"] == "urgent" and side.variables["QUEUE_PRIO"] == "8"


def test_announcement_plays_first_and_its_key_ends_the_call(menus):
    ann = AnnouncementInfo(1, "custom/water-cut", "萧山区停水至18时")
    ctx = Context(OPEN_NOW, (ann,))
    fin, tr, _side, _ = drive(menus, keys({"custom/water-cut": ["9"]}), context=ctx)
    assert tr[0] == "STREAM FILE custom/water-cut 9"
    assert fin.exit == "self_service" and tr[-1] == "HANGUP"
    # not the reason for the call: on to the menu
    press = keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]})
    fin, tr, _, _ = drive(menus, press, context=ctx)
    assert tr[:3] == [
        "STREAM FILE custom/water-cut 9",
        "GET DATA hotline/announcement-leave 3000 1",
        "GET DATA hotline/welcome-language 5000 1",
    ]
    assert fin.exit == "queue"


def test_ticket_progress_checked_against_the_calling_number(menus):
    mine, theirs = make_number(42), make_number(43)
    tickets = {mine: (CALLER, "awaiting_routing"), theirs: ("13999999999", "resolved")}
    press = keys(
        {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["5"],
            "hotline/enter-ticket": [mine + "#"],
            "hotline/ticket-done": ["9"],
        }
    )
    fin, tr, _, effects = drive(menus, press, tickets=tickets)
    assert LookupTicket(mine, CALLER) in effects
    assert 'STREAM FILE hotline/status-awaiting-routing ""' in tr
    assert f'SAY DIGITS {mine[-4:]} ""' in tr
    assert fin.exit == "self_service"
    # someone else's ticket: "not found", same as no ticket
    press = keys(
        {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["5"],
            "hotline/enter-ticket": [theirs + "#"],
            "hotline/ticket-done": ["0"],
        }
    )
    fin, tr, side, _ = drive(menus, press, tickets=tickets)
    assert 'STREAM FILE hotline/ticket-not-found ""' in tr
    assert fin.exit == "queue" and side.variables["IVR_SKILL"] == "progress"


def test_mistyped_ticket_number_is_refused_without_a_lookup(menus):
    bad = make_number(42)[:-1] + str((int(make_number(42)[-1]) + 1) % 10)
    press = keys(
        {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["5"],
            "hotline/enter-ticket": [bad + "#", bad + "#", bad + "#"],
        }
    )
    fin, tr, _, effects = drive(menus, press)
    assert not any(isinstance(e, LookupTicket) for e in effects)
    assert tr.count('STREAM FILE hotline/ticket-invalid ""') == 2
    assert fin.exit == "fallback"


def test_lookup_failure_sends_to_an_operator(menus):
    press = keys(
        {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["5"],
            "hotline/enter-ticket": [make_number(42) + "#"],
        }
    )
    fin, _, side, _ = drive(menus, press, fail_lookup=True)
    assert fin.exit == "fallback" and side.variables["IVR_QUEUE"] == "hotline"


def test_open_ticket_is_offered_first_with_a_higher_priority(menus):
    ctx = Context(OPEN_NOW, (), TicketInfo(make_number(7), "awaiting_routing"))
    _, tr, side, _ = drive(menus, keys({"hotline/open-ticket-offer": ["2"]}), context=ctx)
    assert tr[0] == "GET DATA hotline/open-ticket-offer 5000 1"
    assert side.variables["QUEUE_PRIO"] == "5"
    # "something else": the normal menu, still with the higher priority
    press = keys(
        {
            "hotline/open-ticket-offer": ["3"],
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["1"],
        }
    )
    _fin, tr, side, _ = drive(menus, press, context=ctx)
    assert side.variables["QUEUE_PRIO"] == "5"


def test_withheld_number_gets_no_self_service(menus):
    press = keys(
        {
            "hotline/welcome-language": ["1"],
            "hotline/main-menu": ["5"],
            "hotline/ticket-done": ["0"],
        }
    )
    _fin, tr, _, effects = drive(menus, press, caller="")
    assert 'STREAM FILE hotline/no-caller-id ""' in tr
    assert not any(isinstance(e, LookupTicket) for e in effects)


def test_survey_records_the_key_against_the_linkedid(menus):
    fin, _tr, side, effects = drive(menus, keys({"hotline/survey": ["2"]}), script="survey")
    assert RecordSurvey("1795966595.0", 2) in effects
    assert fin.exit == "survey" and side.variables["SURVEY_RESULT"] == "2"
    fin, _, _, effects = drive(menus, keys({"hotline/survey": ["5", None, "4"]}), script="survey")
    assert fin.exit == "survey_none" and not any(isinstance(e, RecordSurvey) for e in effects)
    fin, _, _, _ = drive(menus, keys({"hotline/survey": [HANGUP]}), script="survey")
    assert fin.exit == "hangup"


def test_a_callback_says_why_it_calls_then_records_the_rating_against_the_ticket(menus):
    number = make_number(7)
    fin, tr, side, effects = drive(
        menus, keys({"hotline/survey": ["3"]}), script="callback", ticket=number
    )
    assert tr[:2] == ['STREAM FILE hotline/callback-intro ""', "GET DATA hotline/survey 5000 1"]
    assert RecordCallback(number, 3) in effects
    assert not any(isinstance(e, RecordSurvey) for e in effects)
    assert (fin.exit, fin.menu, side.variables["SURVEY_RESULT"]) == ("survey", "callback", "3")
    fin, _, _, effects = drive(menus, keys({}), script="callback", ticket=number)
    assert (fin.exit, fin.menu) == ("survey_none", "callback")
    fin, _, _, _ = drive(
        menus, keys({"hotline/survey": [HANGUP]}), script="callback", ticket=number
    )
    assert (fin.exit, fin.menu) == ("hangup", "callback")
    fin, tr, _, _ = drive(menus, keys({}), script="callback")  # the dialplan gave no ticket
    assert (fin.exit, fin.menu, tr) == ("error", "callback", [])


def test_missing_prompt_recordings_still_reach_an_operator(menus):
    side_press = keys({})
    state, cmd = start(menus, CallInfo("ivr", CALLER))
    side = AsteriskAgiSide(side_press, known_sounds=frozenset())
    decoder = AgiDecoder()
    decoder.feed(b"agi_network: yes\n\n")
    steps = 0
    while not isinstance(cmd, Finish):
        steps += 1
        answer = (
            decoder.feed(side.handle(str(cmd)))[0]
            if isinstance(cmd, AgiCommand)
            else Context(OPEN_NOW)
        )
        state, cmd = next_step(state, answer)
    assert cmd.exit == "fallback" and steps < 50


XIAOSHAN_CALLER = "057182001234"  # a Xiaoshan landline: the district's queue


def test_a_district_caller_overflows_to_the_city_when_the_live_state_says_so(menus):
    moved = QueueChoice("hotline", "xiaoshan", "no_ready_seat")
    press = keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]})
    fin, _, side, effects = drive(
        menus, press, caller=XIAOSHAN_CALLER, overflow={"xiaoshan": moved}
    )
    assert ChooseQueue("xiaoshan") in effects
    assert fin.exit == "queue" and side.variables["IVR_QUEUE"] == "hotline"
    assert side.variables["IVR_OVERFLOW_FROM"] == "xiaoshan"
    assert side.variables["IVR_OVERFLOW_REASON"] == "no_ready_seat"
    assert side.variables["IVR_DISTRICT"] == "xiaoshan"  # who the caller is stays known
    assert fin.variables["IVR_OVERFLOW_FROM"] == "xiaoshan"


def test_a_district_that_can_answer_keeps_its_caller(menus):
    press = keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]})
    for answer in (QueueChoice("xiaoshan"), EffectFailed("no live state")):
        fin, _, side, _ = drive(menus, press, caller=XIAOSHAN_CALLER, overflow={"xiaoshan": answer})
        assert side.variables["IVR_QUEUE"] == "xiaoshan" and fin.exit == "queue"
        assert "IVR_OVERFLOW_FROM" not in side.variables
        press = keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["1"]})


def test_only_queues_with_a_rule_are_asked_about(menus):
    press = keys({"hotline/welcome-language": ["1"], "hotline/main-menu": ["2"]})
    _, _, side, effects = drive(menus, press, overflow={"xiaoshan": QueueChoice("hotline")})
    assert not any(isinstance(e, ChooseQueue) for e in effects)
    assert side.variables["IVR_QUEUE"] == "hotline"
