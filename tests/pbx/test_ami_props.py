"""Property tests: the codec under random chunking and line ends, and the live state under
random event orders (with resyncs in between) keep their invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.operator import SimulatedOperator
from hotline.controller import Controller
from pbx import events as ev
from pbx.codec import AmiCodec, Frame, Rejected, encode_message

NAMES = st.text(alphabet="张三李四王五赵六abc 123", min_size=0, max_size=6)
KEYS = st.sampled_from(["Event", "Uniqueid", "CallerIDName", "Queue", "Channel", "Value"])


@st.composite
def frames(draw) -> list[dict[str, str]]:
    out = []
    for _ in range(draw(st.integers(1, 8))):
        h = {"Event": draw(st.sampled_from(["Newexten", "VarSet", "QueueCallerJoin"]))}
        for _ in range(draw(st.integers(0, 4))):
            h[draw(KEYS.filter(lambda k: k != "Event"))] = draw(NAMES).strip() or "x"
        out.append(h)
    return out


@settings(max_examples=200, deadline=None)
@given(frames(), st.data(), st.sampled_from(["\r\n", "\n", "\r"]))
def test_any_chunking_gives_the_same_frames(msgs, data, eol: str) -> None:
    raw = b"".join(encode_message(m) for m in msgs)
    if eol != "\r\n":
        raw = raw.replace(b"\r\n", eol.encode())
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(raw)), max_size=20, unique=True), label="cuts")
    )
    codec = AmiCodec("server")
    got = []
    prev = 0
    for c in [*cuts, len(raw)]:
        codec.feed(raw[prev:c])
        prev = c
        got.extend(codec.frames())
    frames_ = [f for f in got if isinstance(f, Frame)]
    assert not [r for r in got if isinstance(r, Rejected)]
    assert [f.headers for f in frames_] == msgs


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.data())
def test_garbage_never_raises_and_the_next_good_frame_arrives(junk: bytes, data) -> None:
    codec = AmiCodec("server", max_frame=1024)
    stream = junk + b"\r\n\r\n" + encode_message({"Event": "Newexten", "Uniqueid": "1.1"})
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10, unique=True)))
    prev = 0
    got = []
    for c in [*cuts, len(stream)]:
        codec.feed(stream[prev:c])
        prev = c
        got.extend(codec.frames())
    good = [f for f in got if isinstance(f, Frame)]
    assert good and good[-1].headers == {"Event": "Newexten", "Uniqueid": "1.1"}


# -- the state machine -------------------------------------------------------------------
Q = "hotline"
UIDS = [f"100.{i}" for i in range(6)]
IFACES = [f"Local/800{i}@agents/n" for i in range(1, 4)]


@st.composite
def domain_events(draw) -> list:
    out = []
    t = 0.0
    for iface in IFACES:
        out.append(ev.MemberAdded(0.0, ev.MemberStatus(0.0, Q, iface, iface, 1, False, "", False)))
    for _ in range(draw(st.integers(0, 60))):
        t += draw(st.floats(0, 50))
        uid = draw(st.sampled_from(UIDS))
        iface = draw(st.sampled_from(IFACES))
        kind = draw(st.integers(0, 8))
        if kind == 0:
            out.append(ev.CallerJoined(t, Q, uid, uid, "", "138", "张三", 1, 1))
        elif kind == 1:
            out.append(ev.AgentCalled(t, Q, uid, iface, iface))
        elif kind == 2:
            out.append(ev.AgentConnected(t, Q, uid, uid, iface, iface, 1, 1))
        elif kind == 3:
            out.append(
                ev.AgentCompleted(
                    t, Q, draw(st.sampled_from([uid, ""])), iface, iface, 1, 5, "agent"
                )
            )
        elif kind == 4:
            out.append(ev.CallerAbandoned(t, Q, uid, 1, 1, 3))
        elif kind == 5:
            out.append(ev.ChannelHungUp(t, "Local/x;2", uid, uid, 16, "Normal Clearing"))
        elif kind == 6:
            out.append(ev.AgentRingNoAnswer(t, Q, uid, iface, iface, 1000))
        elif kind == 7:
            out.append(
                ev.MemberPaused(
                    t, ev.MemberStatus(t, Q, iface, iface, 1, draw(st.booleans()), "", False)
                )
            )
        else:
            # a resync: Asterisk's view, made up at random
            entries = [
                ev.QueueEntry(Q, u, "", "", "", 1, 1)
                for u in draw(st.lists(st.sampled_from(UIDS), max_size=3, unique=True))
            ]
            chans = [
                ev.ChannelInfo(
                    f"Local/12345@callers-{u};2",
                    u,
                    u,
                    "",
                    "",
                    "Queue",
                    "hotline,,,,",
                    draw(st.sampled_from(["", "b1", "b2"])),
                    3,
                )
                for u in draw(st.lists(st.sampled_from(UIDS), max_size=3, unique=True))
            ]
            params = {
                Q: ev.QueueParams(
                    Q, len(entries), draw(st.integers(0, 30)), draw(st.integers(0, 30))
                )
            }
            members = [ev.MemberStatus(t, Q, i, i, 1, False, "", False) for i in IFACES]
            out.append(ev.Snapshot(t, params, members, entries, chans, None, draw(st.booleans())))
    return out


def check(c: Controller) -> None:
    for q, st_ in c.calls.stats.items():
        waiting = c.calls.waiting_count(q)
        assert st_.offered == st_.answered + st_.abandoned + waiting, q
        assert min(st_.offered, st_.answered, st_.abandoned, waiting) >= 0
    on_calls = [s.call for s in c.seats.seats.values() if s.call is not None]
    assert len(on_calls) == len(set(on_calls)), "a call on two seats"
    talking = set(c.calls.talking)
    waiting = {u for q in c.calls.waiting.values() for u in q}
    assert not talking & waiting, "a call both waiting and talking"
    counts = c.seats.counts(1e12)
    assert all(n >= 0 for n in counts.values()) and sum(counts.values()) == len(c.seats.seats)


@settings(max_examples=300, deadline=None)
@given(domain_events())
def test_random_event_orders_keep_the_books(evs) -> None:
    tickets = []
    c = Controller(operator=SimulatedOperator(resolve_share=0.5, seed=0), on_ticket=tickets.append)
    for e in evs:
        if isinstance(e, ev.Snapshot):
            c.reconcile(e)
            c.after_resync()
        else:
            c.handle(e)
        check(c)
    assert len(tickets) == c.calls_ended
