"""ActionTracker: responses matched to actions by ActionID, whatever interleaves (pure)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbx.ami import backoff_delay
from pbx.ami_actions import CONSUMED, EVENT, STRAY, ActionTracker
from pbx.codec import Frame


def resp(aid: str, kind: str = "Success", **h: str) -> Frame:
    return Frame({"Response": kind, "ActionID": aid, **h})


def event(name: str, aid: str | None = None, **h: str) -> Frame:
    d = {"Event": name, **h}
    if aid is not None:
        d["ActionID"] = aid
    return Frame(d)


def test_single_action_resolves_on_its_response_only() -> None:
    t = ActionTracker()
    a, b = t.add(t.next_id(), "Ping"), t.add(t.next_id(), "QueueAdd")
    assert t.feed(event("Newexten")) == (EVENT, None)
    assert t.feed(resp(b.action_id, Message="Added interface to queue")) == (CONSUMED, b)
    assert b.done and not a.done and b.error is None
    assert t.feed(resp(a.action_id, Ping="Pong")) == (CONSUMED, a)
    assert len(t) == 0


def test_queueadd_resolves_although_its_message_looks_like_a_list() -> None:
    # panoramisk treated "Added interface to queue" as the start of a list and never resolved.
    t = ActionTracker()
    p = t.add(t.next_id(), "QueueAdd")
    assert t.feed(resp(p.action_id, Message="Added interface to queue"))[1] is p


def test_error_response_carries_asterisks_message() -> None:
    t = ActionTracker()
    p = t.add(t.next_id(), "QueueStatus", "list")
    _, done = t.feed(resp(p.action_id, "Error", Message="Permission denied"))
    assert done is p and p.error == "Permission denied"


def test_list_collects_items_until_complete_with_events_interleaved() -> None:
    t = ActionTracker()
    p = t.add(t.next_id(), "QueueStatus", "list")
    aid = p.action_id
    assert t.feed(resp(aid, EventList="start", Message="Queue status will follow")) == (
        CONSUMED,
        None,
    )
    for i in range(50):
        assert t.feed(event("VarSet", Uniqueid=f"1.{i}"))[0] == EVENT
        assert t.feed(event("QueueMember", aid, Queue="q"))[0] == CONSUMED
    status, done = t.feed(event("QueueStatusComplete", aid, EventList="Complete"))
    assert (status, done) == (CONSUMED, p)
    assert len(p.frames) == 52


def test_originate_response_reaches_the_event_path_and_completes_the_action() -> None:
    t = ActionTracker()
    p = t.add(t.next_id(), "Originate", "originate")
    assert t.feed(resp(p.action_id, Message="Originate successfully queued"))[1] is None
    status, done = t.feed(event("OriginateResponse", p.action_id, Response="Failure", Reason="0"))
    assert status == EVENT and done is p


def test_an_event_carrying_a_pending_single_actions_id_is_not_swallowed() -> None:
    t = ActionTracker()
    p = t.add(t.next_id(), "Ping")
    assert t.feed(event("Newexten", p.action_id)) == (EVENT, None)
    assert not p.done


def test_late_and_unknown_responses_are_stray() -> None:
    t = ActionTracker()
    p = t.add(t.next_id(), "Ping")
    t.discard(p.action_id)
    assert t.feed(resp(p.action_id)) == (STRAY, None)
    assert t.was_expired(p.action_id)
    assert t.feed(resp("nobody")) == (STRAY, None)
    assert not t.was_expired("nobody")


def test_duplicate_action_id_is_refused() -> None:
    t = ActionTracker()
    t.add("x", "Ping")
    with pytest.raises(ValueError):
        t.add("x", "Ping")


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=12), st.integers(min_value=0, max_value=2**32))
def test_any_interleaving_resolves_every_action_with_its_own_answer(n: int, seed: int) -> None:
    """However Asterisk interleaves answers and events, each action gets exactly its own."""
    rng = random.Random(seed)
    t = ActionTracker()
    streams: list[list[Frame]] = []
    pending = []
    for i in range(n):
        kind = rng.choice(["single", "list", "originate"])
        p = t.add(t.next_id(), f"A{i}", kind)
        pending.append(p)
        aid = p.action_id
        if kind == "single":
            streams.append([resp(aid, Tag=str(i))])
        elif kind == "list":
            items = [event("QueueEntry", aid, Tag=str(i)) for _ in range(rng.randrange(4))]
            streams.append(
                [
                    resp(aid, EventList="start", Message="will follow", Tag=str(i)),
                    *items,
                    event("QueueStatusComplete", aid, EventList="Complete"),
                ]
            )
        else:
            streams.append(
                [resp(aid, Tag=str(i)), event("OriginateResponse", aid, Response="Success")]
            )
    # merge the per-action streams in random order (each keeps its own order), plus noise
    merged: list[Frame] = []
    cursors = [0] * n
    while any(c < len(s) for c, s in zip(cursors, streams, strict=True)):
        if rng.random() < 0.3:
            merged.append(event("Newexten", Uniqueid="1.1"))
        i = rng.choice([k for k in range(n) if cursors[k] < len(streams[k])])
        merged.append(streams[i][cursors[i]])
        cursors[i] += 1
    finished = []
    for f in merged:
        _, done = t.feed(f)
        if done is not None:
            finished.append(done)
    assert sorted(p.name for p in finished) == sorted(p.name for p in pending)
    for i, p in enumerate(pending):
        assert p.done and p.frames[0].get("Tag") == str(i)
    assert len(t) == 0


def test_backoff_grows_caps_and_jitters() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, base=0.5, cap=30.0, rng=rng) for n in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(30.0, 0.5 * 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 30.0
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jittered at the cap
