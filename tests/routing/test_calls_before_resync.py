"""Between a new login and its resync the live state may be stale (events were lost while the
link was down). What arrives in that window must not be counted twice by the resync's counter
deltas, and a restart must not be told from a late read."""

from __future__ import annotations

from pbx import events as ev
from pbx.ami import AmiLink
from routing.calls import CallAbandoned, CallBoard, CallEnded

Q = "hotline"
IFACE = "Local/8001@agents/n"


def join(board: CallBoard, uid: str, at: float) -> None:
    board.apply(ev.CallerJoined(at, Q, uid, uid, f"PJSIP/c-{uid}", "138", "", 1, 1))


def snapshot(at: float, completed: int, abandoned: int) -> ev.Snapshot:
    return ev.Snapshot(
        at=at,
        params={Q: ev.QueueParams(Q, 0, completed, abandoned)},
        members=[],
        entries=[],
        channels=[],
    )


def synced_board() -> CallBoard:
    board = CallBoard()
    board.mark_login()
    board.reconcile(snapshot(0.0, 0, 0))
    return board


def test_an_agent_complete_for_a_call_held_as_waiting_answers_and_ends_it_once() -> None:
    board = synced_board()
    join(board, "10.1", 10.0)
    # the link drops; the AgentConnect (t=20) is lost; a new login; before its resync's
    # snapshot the AgentComplete (t=80) arrives on the new link
    board.mark_login()
    out = board.apply(ev.AgentCompleted(80.0, Q, "10.1", IFACE, "n", 10, 60, "agent"))
    assert isinstance(out, CallEnded) and out.call.answered_at == 20.0
    board.apply(ev.ChannelHungUp(80.0, "PJSIP/c-10.1", "10.1", "10.1", 16, ""))
    # Asterisk counted it as completed: the snapshot's counter is explained, not unseen
    board.reconcile(snapshot(90.0, 1, 0))
    t = board.totals()
    assert (t.offered, t.answered, t.abandoned) == (1, 1, 0)
    assert board.tickets_unknowable == 0


def test_no_hangup_grace_between_a_login_and_its_resync() -> None:
    board = synced_board()
    join(board, "10.1", 10.0)
    join(board, "11.2", 11.0)
    board.mark_login()  # the link dropped and is back: the resync is to come
    # the first caller's channel hung up (its QueueCallerAbandon was lost), and events go on
    # well past the 30 s grace: it is not abandoned on a guess before the resync decides
    board.apply(ev.ChannelHungUp(40.0, "PJSIP/c-10.1", "10.1", "10.1", 16, ""))
    assert board.apply(ev.ChannelHungUp(200.0, "PJSIP/x", "99.9", "99.9", 16, "")) is None
    assert board.waiting_count(Q) == 2
    # the resync: one abandon that we did not see; the other caller still waiting
    snap = snapshot(210.0, 0, 1)
    snap.entries.append(ev.QueueEntry(Q, "11.2", "PJSIP/c-11.2", "138", "", 199, 1))
    rep = board.reconcile(snap)
    assert [type(o) for o in rep.outcomes] == [CallAbandoned]
    t = board.totals()
    assert (t.offered, t.answered, t.abandoned) == (2, 0, 1)


def boot_link(now: list[float]) -> AmiLink:
    return AmiLink(
        host="h", port=1, username="u", secret="s", on_event=lambda e: None, now=lambda: now[0]
    )


def boot(link: AmiLink, now: list[float], sent: float, read: float, uptime: int) -> bool:
    link._login_sent_at = sent
    now[0] = read
    return link._boot(ev.FullyBooted(read, uptime)).restarted


def test_a_late_read_of_fully_booted_is_no_restart() -> None:
    now = [0.0]
    a = boot_link(now)
    assert not boot(a, now, sent=1000.0, read=1000.2, uptime=500)
    # a short drop; this time the FullyBooted is read 30 s after the login was sent (a
    # backlog, a starved machine): the uptime grew by less than the time between the reads
    assert not boot(a, now, sent=1100.0, read=1130.0, uptime=600)
    assert not a._restart_hint
    # a real restart: the process started after the last one surely had
    assert boot(a, now, sent=1200.0, read=1200.5, uptime=20)
    assert a._restart_hint


def test_a_restart_longer_ago_than_the_old_uptime_is_still_told() -> None:
    now = [0.0]
    a = boot_link(now)
    assert not boot(a, now, sent=1000.0, read=1000.1, uptime=30)
    # down for an hour; Asterisk restarted 10 minutes ago: its uptime (600) is larger
    assert boot(a, now, sent=4600.0, read=4600.1, uptime=600)
