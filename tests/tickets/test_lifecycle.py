"""The ticket lifecycle table on its own: the whole cycle, every illegal step refused by name,
who may take each step, the data each needs, and the trail it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.lifecycle import (
    TABLE,
    Actor,
    IllegalTransition,
    Party,
    Rating,
    State,
    Step,
    StepRefused,
    TicketFacts,
    allowed_steps,
    step,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
OPERATOR = Actor("op1", Party.OPERATOR)
DISPATCHER = Actor("disp1", Party.DISPATCHER)
SUPERVISOR = Actor("sup1", Party.SUPERVISOR)
SYSTEM = Actor("survey", Party.SYSTEM)
WATER = Actor("water1", Party.DEPARTMENT, department="water")
HOUSING = Actor("housing1", Party.DEPARTMENT, department="housing")


def test_a_ticket_goes_round_the_whole_cycle_and_leaves_a_chained_trail() -> None:
    t = TicketFacts(id=7, state=State.REGISTERED)
    trail = []

    def go(what: Step, actor: Actor, **kw: object) -> None:
        nonlocal t
        t, entry = step(t, what, actor, T0 + timedelta(minutes=len(trail)), **kw)  # type: ignore[arg-type]
        trail.append(entry)

    go(Step.ROUTE, OPERATOR)
    go(Step.DISPATCH, DISPATCHER, department="housing", assisting=("water", "water", " "))
    assert (t.lead_department, t.assisting) == ("housing", ("water",))
    go(Step.RETURN, HOUSING, note="pipes are the water company's")
    assert t.state is State.AWAITING_ROUTING and t.lead_department is None
    go(Step.DISPATCH, DISPATCHER, department="water")
    go(Step.ACCEPT, WATER)
    go(Step.ASK_EXTENSION, WATER, note="parts on order", days=3)
    go(Step.GRANT_EXTENSION, SUPERVISOR)
    assert (t.extension_days, t.extension_asked_days) == (3, None)
    go(Step.REPLY, WATER, note="pipe replaced on 2 December")
    go(Step.CALL_BACK, SYSTEM, rating=Rating.DISSATISFIED)
    assert t.state is State.REOPENED and t.rating is Rating.DISSATISFIED
    go(Step.DISPATCH, DISPATCHER, department="water")
    go(Step.ACCEPT, WATER)
    go(Step.REPLY, WATER, note="pressure restored")
    go(Step.CALL_BACK, OPERATOR, rating=Rating.BASICALLY_SATISFIED)
    go(Step.CLOSE, OPERATOR)
    assert t.state is State.CLOSED
    # the trail is a chain: each entry leaves the state the previous one reached
    assert trail[0].from_state is State.REGISTERED
    for before, after in pairwise(trail):
        assert after.from_state is before.to_state
    assert trail[-1].to_state is State.CLOSED
    assert trail[2].note == "pipes are the water company's"
    assert trail[2].data == {"department": "housing"}
    assert trail[5].data == {"days": 3} and trail[6].data == {"days": 3}
    assert [e.actor for e in trail[:3]] == ["op1", "disp1", "housing1"]


@pytest.mark.parametrize("state", list(State))
def test_every_step_that_cannot_leave_a_state_is_refused_by_name(state: State) -> None:
    ticket = TicketFacts(id=1, state=state, lead_department="water")
    for what, rule in TABLE.items():
        if state in rule.sources:
            continue
        with pytest.raises(IllegalTransition) as e:
            step(ticket, what, Actor("x", min(rule.parties), department="water"), T0)
        message = str(e.value)
        assert f"cannot {what.value} a ticket that is {state.value}" in message
        assert all(may in message for may in allowed_steps(state))


def test_final_states_have_nothing_out_but_a_supervisors_reopen_of_a_closed_ticket() -> None:
    assert allowed_steps(State.MERGED) == []
    assert allowed_steps(State.CLOSED) == ["reopen"]
    msg = str(IllegalTransition(Step.ACCEPT, State.MERGED))
    assert "nothing (it is final)" in msg


def test_only_the_listed_parties_take_a_step() -> None:
    dispatched = TicketFacts(id=1, state=State.DISPATCHED, lead_department="water")
    with pytest.raises(StepRefused, match="taken by department, not by a dispatcher") as e:
        step(dispatched, Step.ACCEPT, DISPATCHER, T0)
    assert e.value.field is None  # who, not what: a 403
    waiting = TicketFacts(id=1, state=State.AWAITING_ROUTING)
    with pytest.raises(StepRefused, match="not by a operator"):
        step(waiting, Step.DISPATCH, OPERATOR, T0, department="water")
    # a department never closes: handling and supervising are separated
    called_back = TicketFacts(id=1, state=State.CALLED_BACK, lead_department="water")
    with pytest.raises(StepRefused, match="not by a department"):
        step(called_back, Step.CLOSE, WATER, T0)


def test_only_the_lead_department_acts_on_its_ticket() -> None:
    dispatched = TicketFacts(
        id=1, state=State.DISPATCHED, lead_department="water", assisting=("housing",)
    )
    with pytest.raises(StepRefused, match=r"only the lead department \(water\).*housing1"):
        step(dispatched, Step.ACCEPT, HOUSING, T0)
    with pytest.raises(StepRefused, match="no department"):
        step(dispatched, Step.ACCEPT, Actor("who", Party.DEPARTMENT), T0)
    after, _ = step(dispatched, Step.ACCEPT, WATER, T0)
    assert after.state is State.ACCEPTED


@pytest.mark.parametrize(
    ("state", "what", "actor", "kw", "field"),
    [
        (State.AWAITING_ROUTING, Step.DISPATCH, DISPATCHER, {}, "department: required"),
        (
            State.AWAITING_ROUTING,
            Step.DISPATCH,
            DISPATCHER,
            {"department": "water", "assisting": ("water",)},
            "assisting: water is already the lead",
        ),
        (State.DISPATCHED, Step.RETURN, WATER, {"note": "  "}, "note (the reason): required"),
        (State.ACCEPTED, Step.ASK_EXTENSION, WATER, {"note": "x"}, "days: a whole number"),
        (State.ACCEPTED, Step.ASK_EXTENSION, WATER, {"note": "x", "days": 0}, "days:"),
        (State.ACCEPTED, Step.ASK_EXTENSION, WATER, {"days": 2}, "note (the reason)"),
        (State.EXTENSION_ASKED, Step.REFUSE_EXTENSION, SUPERVISOR, {}, "note (the reason)"),
        (State.ACCEPTED, Step.REPLY, WATER, {}, "note (the reply): required"),
        (State.REPLIED, Step.CALL_BACK, SYSTEM, {}, "rating: required"),
        (State.CALLED_BACK, Step.REOPEN, SUPERVISOR, {}, "note (the reason)"),
        (State.DISPATCHED, Step.MERGE, DISPATCHER, {}, "into: the number"),
        (State.DISPATCHED, Step.MERGE, DISPATCHER, {"into": 1}, "into itself"),
    ],
)
def test_a_step_with_missing_or_wrong_data_names_the_field(
    state: State, what: Step, actor: Actor, kw: dict[str, object], field: str
) -> None:
    ticket = TicketFacts(id=1, state=state, lead_department="water")
    with pytest.raises(StepRefused) as e:
        step(ticket, what, actor, T0, **kw)  # type: ignore[arg-type]
    assert field in str(e.value) and str(e.value).startswith(what.value)
    assert e.value.field is not None and e.value.field in field  # a 422 names it


def test_callback_ratings_close_or_reopen() -> None:
    replied = TicketFacts(id=1, state=State.REPLIED, lead_department="water")
    for rating, reached in [
        (Rating.SATISFIED, State.CALLED_BACK),
        (Rating.BASICALLY_SATISFIED, State.CALLED_BACK),
        (Rating.DISSATISFIED, State.REOPENED),
    ]:
        after, entry = step(replied, Step.CALL_BACK, SYSTEM, T0, rating=rating)
        assert after.state is reached and entry.to_state is reached
        assert entry.data == {"rating": rating.value}


def test_a_refused_extension_keeps_the_granted_days_and_a_merge_records_the_target() -> None:
    asked = TicketFacts(
        id=4,
        state=State.EXTENSION_ASKED,
        lead_department="water",
        extension_days=2,
        extension_asked_days=5,
    )
    after, _ = step(asked, Step.REFUSE_EXTENSION, DISPATCHER, T0, note="not justified")
    assert (after.state, after.extension_days, after.extension_asked_days) == (
        State.ACCEPTED,
        2,
        None,
    )
    after, entry = step(asked, Step.MERGE, OPERATOR, T0, into=3)
    assert (after.state, after.merged_into, entry.data) == (State.MERGED, 3, {"into": 3})


_ACTORS = [OPERATOR, DISPATCHER, SUPERVISOR, SYSTEM, WATER, HOUSING]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Step)),
            st.sampled_from(_ACTORS),
            st.sampled_from(["water", "housing"]),
            st.sampled_from(list(Rating)),
        ),
        max_size=40,
    )
)
def test_any_sequence_of_steps_keeps_the_table_and_a_chained_trail(
    steps: list[tuple[Step, Actor, str, Rating]],
) -> None:
    t = TicketFacts(id=1, state=State.REGISTERED)
    last = State.REGISTERED
    for what, actor, dept, rating in steps:
        try:
            after, entry = step(
                t, what, actor, T0, note="n", department=dept, rating=rating, days=1, into=2
            )
        except (IllegalTransition, StepRefused):
            continue
        rule = TABLE[what]
        assert t.state in rule.sources and actor.party in rule.parties
        assert entry.from_state is last and entry.to_state is after.state
        assert rule.target in (None, after.state)
        if after.state in (State.DISPATCHED, State.ACCEPTED, State.REPLIED):
            assert after.lead_department is not None
        t, last = after, after.state
