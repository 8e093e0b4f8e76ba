"""The seats' numbered streams: order, resume from a sequence number, snapshot when the gap is
gone or the numbers are another process's."""

from __future__ import annotations

import pytest

from agents.desk_stream import KINDS, DeskStreams

SEAT = "SIP/8001"


def _fill(desk: DeskStreams, n: int, seat: str = SEAT) -> None:
    for i in range(n):
        desk.seat_state(seat, float(i), "ready" if i % 2 else "paused", reason="lunch")


def test_messages_are_numbered_per_seat_in_order_and_reach_listeners() -> None:
    desk = DeskStreams()
    got: list[int] = []
    other: list[int] = []
    desk.listen(SEAT, lambda m: got.append(m.seq))
    desk.listen("SIP/8002", lambda m: other.append(m.seq))
    desk.rung(SEAT, 1.0, uniqueid="1.1", queue="hotline")
    desk.connected(SEAT, 2.0, {"call": "1.1", "draft": True, "caller": "138****5678"})
    desk.seat_state("SIP/8002", 2.0, "ready")
    desk.ended(SEAT, 3.0, uniqueid="1.1", talk_s=1.23456, reason="agent")
    desk.pause_limit(SEAT, 4.0, reason="lunch", limit_s=1800.0)
    desk.draft_incomplete(SEAT, 5.0, uniqueid="1.1")
    assert got == [1, 2, 3, 4, 5] and other == [1]
    kinds = [m.kind for m in desk.resume(SEAT, 0).missed]
    assert kinds == ["rung", "connected", "ended", "pause_limit", "draft_incomplete"]
    assert set(kinds) | {"seat_state"} == set(KINDS)
    ended = desk.resume(SEAT, 2).missed[0].as_json()
    assert ended == {
        "seq": 3,
        "kind": "ended",
        "at": 3.0,
        "call": "1.1",
        "talk_s": 1.235,
        "reason": "agent",
    }


def test_resume_gives_exactly_the_missed_messages() -> None:
    desk = DeskStreams(replay=10)
    _fill(desk, 8)
    r = desk.resume(SEAT, 5)
    assert not r.snapshot_needed and [m.seq for m in r.missed] == [6, 7, 8]
    up_to_date = desk.resume(SEAT, 8)
    assert not up_to_date.snapshot_needed and up_to_date.missed == ()


@pytest.mark.parametrize(
    ("after", "why"),
    [
        (None, "a fresh desktop"),
        (2, "the gap fell out of the replay buffer"),
        (99, "numbers from another process (a restart)"),
    ],
)
def test_a_snapshot_is_needed_when_the_gap_cannot_be_replayed(after, why) -> None:
    desk = DeskStreams(replay=4)
    _fill(desk, 10)  # kept: 7..10
    r = desk.resume(SEAT, after)
    assert r.snapshot_needed and r.missed == (), why
    assert not desk.resume(SEAT, 6).snapshot_needed  # the oldest kept is 7: 6 is the edge
    assert [m.seq for m in desk.resume(SEAT, 6).missed] == [7, 8, 9, 10]


def test_the_snapshot_is_the_seat_s_present_at_a_sequence_number() -> None:
    desk = DeskStreams(replay=2)
    desk.seat_state(SEAT, 1.0, "ready")
    desk.connected(SEAT, 2.0, {"call": "1.1", "draft": True})
    desk.seat_state(SEAT, 2.0, "on_call")
    snap = desk.snapshot(SEAT)
    assert snap == {
        "seq": 3,
        "kind": "snapshot",
        "seat": SEAT,
        "state": "on_call",
        "state_at": 2.0,
        "call": {"call": "1.1", "draft": True},
        "open_drafts": ["1.1"],
    }
    desk.ended(SEAT, 3.0, uniqueid="1.1", talk_s=1.0, reason="caller")
    desk.draft_submitted(SEAT, "1.1")
    snap = desk.snapshot(SEAT)
    assert snap["call"] is None and snap["open_drafts"] == [] and snap["seq"] == 4


def test_a_stopped_listener_gets_nothing_more_and_the_replay_stays_bounded() -> None:
    desk = DeskStreams(replay=3)
    got: list[int] = []
    stop = desk.listen(SEAT, lambda m: got.append(m.seq))
    assert desk.has_listeners(SEAT) and desk.anyone_listening
    _fill(desk, 2)
    stop()
    stop()  # twice is harmless
    _fill(desk, 100)
    assert got == [1, 2] and not desk.anyone_listening
    assert len(desk.log(SEAT).kept) == 3
    with pytest.raises(ValueError, match="replay"):
        DeskStreams(replay=0)
