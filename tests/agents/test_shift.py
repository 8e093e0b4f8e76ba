"""The pure seat lifecycle (agents.shift): the actions each request needs, the state shown
only from what Asterisk confirmed, the restore after Asterisk forgot, overdue pauses and the
auto-pause after unanswered rings. A fake Asterisk applies the actions as app_queue would."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agents.shift import (
    PAUSED,
    READY,
    SIGNED_OUT,
    SIGNING_IN,
    SIGNING_OUT,
    Action,
    AddMember,
    Confirmed,
    PauseMember,
    RemoveMember,
    Shift,
    ShiftBook,
    ShiftRefused,
    overdue,
    pending,
    shown,
)

SEAT = "SIP/8001"
QUEUES = {"hotline": 0, "urgent": 1}


@dataclass
class FakeAsterisk:
    """Members by interface: queue -> (penalty, paused, reason), as app_queue keeps them."""

    members: dict[str, dict[str, tuple[int, bool, str]]] = field(default_factory=dict)

    def apply(self, actions: list[Action]) -> None:
        for a in actions:
            mine = self.members.setdefault(a.interface, {})
            if isinstance(a, AddMember):
                assert a.queue not in mine, "Unable to add interface: Already there"
                mine[a.queue] = (a.penalty, a.paused, "")
            elif isinstance(a, RemoveMember):
                assert a.queue in mine, "Unable to remove interface: Not there"
                del mine[a.queue]
            else:
                assert mine, "Interface not found"
                for q, (p, _, _) in mine.items():
                    mine[q] = (p, a.paused, a.reason if a.paused else "")

    def seen(self, interface: str) -> Confirmed:
        mine = self.members.get(interface, {})
        paused = bool(mine) and all(v[1] for v in mine.values())
        reasons = {v[2] for v in mine.values()}
        reason = reasons.pop() if paused and len(reasons) == 1 else ""
        return Confirmed(frozenset(mine), paused, reason)

    def restart(self) -> None:
        """Asterisk forgets its dynamic members (and so their pauses)."""
        self.members.clear()


def test_sign_in_joins_each_skill_queue_with_its_penalty() -> None:
    book = ShiftBook()
    shift, actions = book.sign_in("op1", SEAT, "Op One", QUEUES, 100.0)
    assert actions == [
        AddMember("hotline", SEAT, "Op One", 0),
        AddMember("urgent", SEAT, "Op One", 1),
    ]
    assert shift.wanted == READY and shift.since == 100.0
    # shown only from Asterisk: nothing confirmed yet is signing in
    assert shown(shift, Confirmed()) == (SIGNING_IN, "")
    assert pending(shift, Confirmed()) == READY
    assert shown(shift, Confirmed(frozenset(QUEUES))) == (READY, "")
    assert pending(shift, Confirmed(frozenset({"hotline"}))) == READY  # half there
    assert pending(shift, Confirmed(frozenset(QUEUES))) is None


def test_sign_in_skips_the_queues_asterisk_has_already() -> None:
    _, actions = ShiftBook().sign_in(
        "op1", SEAT, "Op One", QUEUES, 1.0, Confirmed(frozenset({"hotline"}))
    )
    assert actions == [AddMember("urgent", SEAT, "Op One", 1)]


def test_signing_in_again_at_the_same_seat_does_nothing() -> None:
    book = ShiftBook()
    first, _ = book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    again, actions = book.sign_in("op1", SEAT, "Op One", QUEUES, 2.0)
    assert again is first and actions == []


@pytest.mark.parametrize(
    ("who", "where", "why"),
    [
        ("op2", SEAT, "taken: op1"),
        ("op1", "SIP/8002", "signed in at SIP/8001"),
    ],
)
def test_one_seat_one_operator(who: str, where: str, why: str) -> None:
    book = ShiftBook()
    book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    with pytest.raises(ShiftRefused, match=why):
        book.sign_in(who, where, "x", QUEUES, 2.0)


def test_no_skill_queue_no_sign_in() -> None:
    with pytest.raises(ShiftRefused, match="no skill queues"):
        ShiftBook().sign_in("op1", SEAT, "Op One", {}, 1.0)


@pytest.mark.parametrize("request_", ["ready", "pause", "sign_out"])
def test_nothing_before_signing_in(request_: str) -> None:
    book = ShiftBook()
    with pytest.raises(ShiftRefused, match="sign in first"):
        if request_ == "pause":
            book.pause("op1", "lunch", 1.0)
        else:
            getattr(book, request_)("op1", 1.0)


def test_pause_ready_sign_out_and_what_shows() -> None:
    book = ShiftBook()
    shift, _ = book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    assert book.pause("op1", "lunch", 10.0) == [PauseMember(SEAT, True, "lunch")]
    assert (shift.wanted, shift.code, shift.since) == (PAUSED, "lunch", 10.0)
    ready_seen = Confirmed(frozenset(QUEUES))
    assert shown(shift, ready_seen) == (READY, "")  # Asterisk has not said so yet
    assert pending(shift, ready_seen) == PAUSED
    lunch = Confirmed(frozenset(QUEUES), True, "lunch")
    assert shown(shift, lunch) == (PAUSED, "lunch") and pending(shift, lunch) is None
    # another code while paused: pending until Asterisk has the new reason
    book.pause("op1", "meeting", 20.0)
    assert pending(shift, lunch) == PAUSED
    assert book.ready("op1", 30.0) == [PauseMember(SEAT, False)]
    assert pending(shift, lunch) == READY
    assert book.sign_out("op1", 40.0) == [
        RemoveMember("hotline", SEAT),
        RemoveMember("urgent", SEAT),
    ]
    assert shown(shift, ready_seen) == (SIGNING_OUT, "")
    assert pending(shift, ready_seen) == SIGNED_OUT
    assert not book.confirmed_out(shift, ready_seen)
    assert book.confirmed_out(shift, Confirmed())
    assert book.of_user("op1") is None and book.at_seat(SEAT) is None
    assert shown(None, Confirmed()) == (SIGNED_OUT, "")


def test_a_pause_is_overdue_past_its_limit_on_the_injected_clock() -> None:
    shift = Shift("op1", SEAT, "Op One", dict(QUEUES), signed_in_at=0.0)
    assert not overdue(shift, 60.0, 1e9)  # ready is never overdue
    shift.wanted, shift.code, shift.since = PAUSED, "restroom", 100.0
    assert not overdue(shift, 60.0, 160.0)
    assert overdue(shift, 60.0, 160.5)


def test_n_unanswered_rings_in_a_row_pause_a_ready_seat() -> None:
    book = ShiftBook()
    shift, _ = book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    assert book.ring_unanswered(SEAT, 2, "no_answer", 5.0) == []
    book.answered(SEAT)  # a call taken: from zero again
    assert book.ring_unanswered(SEAT, 2, "no_answer", 6.0) == []
    assert book.ring_unanswered(SEAT, 2, "no_answer", 7.0) == [PauseMember(SEAT, True, "no_answer")]
    assert (shift.wanted, shift.code, shift.since) == (PAUSED, "no_answer", 7.0)
    # paused now: further rings (there are none in Asterisk) count nothing
    assert book.ring_unanswered(SEAT, 2, "no_answer", 8.0) == []
    assert book.ring_unanswered("SIP/9999", 2, "no_answer", 8.0) == []  # not ours


def test_threshold_zero_never_pauses() -> None:
    book = ShiftBook()
    book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    for t in range(50):
        assert book.ring_unanswered(SEAT, 0, "no_answer", float(t)) == []


def test_a_pause_or_ready_restarts_the_count() -> None:
    book = ShiftBook()
    book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    book.ring_unanswered(SEAT, 2, "no_answer", 2.0)
    book.pause("op1", "lunch", 3.0)
    book.ready("op1", 4.0)
    assert book.ring_unanswered(SEAT, 2, "no_answer", 5.0) == []


seen_states = st.builds(
    Confirmed,
    st.frozensets(st.sampled_from(["hotline", "urgent", "other"])),
    st.booleans(),
    st.sampled_from(["", "lunch", "meeting"]),
).filter(lambda c: bool(c.queues) or not c.paused)


@given(
    wanted=st.sampled_from([READY, PAUSED]),
    code=st.sampled_from(["lunch", "meeting"]),
    seen=seen_states,
)
def test_restore_gives_asterisk_back_what_it_forgot(
    wanted: str, code: str, seen: Confirmed
) -> None:
    shift = Shift("op1", SEAT, "Op One", dict(QUEUES), signed_in_at=0.0)
    shift.wanted, shift.code = wanted, code if wanted == PAUSED else ""
    pbx = FakeAsterisk()
    pbx.members[SEAT] = {
        q: (0, seen.paused, seen.reason if seen.paused else "") for q in seen.queues
    }
    seen = pbx.seen(SEAT)
    actions = ShiftBook().restore(shift, seen)
    pbx.apply(actions)  # never "Already there"
    after = pbx.seen(SEAT)
    assert set(QUEUES) <= after.queues
    if wanted == PAUSED:
        assert shown(shift, after) == (PAUSED, code) and pending(shift, after) is None
    elif not seen.paused:
        assert shown(shift, after) == (READY, "") and pending(shift, after) is None
    else:  # Asterisk paused it on its own: it stays so (Asterisk is the truth)
        assert all(not isinstance(a, PauseMember) for a in actions)
    # restoring again sends nothing
    assert ShiftBook().restore(shift, after) == []


class Floor(RuleBasedStateMachine):
    """Operators sign in, pause, get ready and sign out at random; Asterisk applies every
    action and sometimes restarts (forgetting everything), after which restore runs. The
    wanted state is then always what Asterisk shows."""

    OPS = ("op1", "op2", "op3")
    SEATS = ("SIP/8001", "SIP/8002")

    def __init__(self) -> None:
        super().__init__()
        self.book = ShiftBook()
        self.pbx = FakeAsterisk()
        self.now = 0.0

    def _do(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        self.now += 1.0
        try:
            actions = fn(*args, self.now)
        except ShiftRefused:
            return
        if isinstance(actions, tuple):
            actions = actions[1]
        self.pbx.apply(actions)
        for shift in list(self.book.by_user.values()):
            self.book.confirmed_out(shift, self.pbx.seen(shift.interface))

    @rule(op=st.sampled_from(OPS), seat=st.sampled_from(SEATS))
    def sign_in(self, op: str, seat: str) -> None:
        self._do(self.book.sign_in, op, seat, op, QUEUES)

    @rule(op=st.sampled_from(OPS), code=st.sampled_from(["lunch", "training"]))
    def pause(self, op: str, code: str) -> None:
        self._do(self.book.pause, op, code)

    @rule(op=st.sampled_from(OPS))
    def ready(self, op: str) -> None:
        self._do(self.book.ready, op)

    @rule(op=st.sampled_from(OPS))
    def sign_out(self, op: str) -> None:
        self._do(self.book.sign_out, op)

    @rule(seat=st.sampled_from(SEATS))
    def unanswered(self, seat: str) -> None:
        self.now += 1.0
        self.pbx.apply(self.book.ring_unanswered(seat, 2, "no_answer", self.now))

    @rule()
    def asterisk_restarts(self) -> None:
        self.pbx.restart()
        for shift in list(self.book.by_user.values()):
            self.pbx.apply(self.book.restore(shift, self.pbx.seen(shift.interface)))

    @invariant()
    def asterisk_shows_what_was_asked(self) -> None:
        for shift in self.book.by_user.values():
            seen = self.pbx.seen(shift.interface)
            assert pending(shift, seen) is None, (shift, seen)
            assert shown(shift, seen) == (shift.wanted, shift.code)
            assert self.book.at_seat(shift.interface) is shift
        seats = [s.interface for s in self.book.by_user.values()]
        assert len(seats) == len(set(seats)), "two operators at one seat"
        for iface, members in self.pbx.members.items():
            if members:
                assert self.book.at_seat(iface) is not None, "a member nobody signed in"


Floor.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestFloor = Floor.TestCase


def test_an_auto_ready_pause_expires_at_its_limit() -> None:
    book = ShiftBook()
    shift, _ = book.sign_in("op1", SEAT, "Op One", QUEUES, 1.0)
    book.sign_in("op2", "SIP/8002", "Op Two", QUEUES, 1.0)
    book.pause("op1", "after_call_work", 100.0)
    book.pause("op2", "lunch", 100.0)
    limits = {"after_call_work": 180.0}
    assert book.expired(280.0, limits) == []
    assert book.expired(280.5, limits) == [shift]  # lunch has no auto_ready: only overdue
    assert book.ready("op1", 280.5) == [PauseMember(SEAT, False)]
    assert book.expired(10_000.0, limits) == []
