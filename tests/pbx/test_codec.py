"""The AMI codec: frames out of bytes however they are chunked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx.codec import AmiCodec, Banner, Frame, Rejected, encode_message

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
JOIN = (
    "Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nChannel: Local/12345@callers-00000000;2\r\n"
    "CallerIDNum: 13800001234\r\nCallerIDName: 张三\r\nUniqueid: 1795966430.1\r\n"
    "Queue: hotline\r\nPosition: 1\r\nCount: 1\r\n\r\n"
).encode()
LOGIN_OK = b"Response: Success\r\nActionID: raw-1\r\nMessage: Authentication accepted\r\n\r\n"


def frames(codec: AmiCodec) -> list:
    return list(codec.frames())


def test_banner_then_frames_in_one_read() -> None:
    c = AmiCodec("client")
    c.feed(BANNER + LOGIN_OK + JOIN)
    out = frames(c)
    assert out[0] == Banner("9.0.0")
    assert out[1].headers == {
        "Response": "Success",
        "ActionID": "raw-1",
        "Message": "Authentication accepted",
    }
    assert out[2].event == "QueueCallerJoin"
    assert out[2].headers["CallerIDName"] == "张三"
    assert len(out) == 3


def test_chinese_name_split_inside_a_character() -> None:
    c = AmiCodec("client")
    data = BANNER + JOIN
    cut = data.index("张".encode()) + 1  # inside the three bytes of 张
    c.feed(data[:cut])
    c.feed(data[cut:])
    out = frames(c)
    assert out[1].headers["CallerIDName"] == "张三"


@pytest.mark.parametrize("eol", [b"\n", b"\r"])
def test_lf_only_and_cr_only_line_ends(eol: bytes) -> None:
    c = AmiCodec("client")
    c.feed(BANNER + JOIN.replace(b"\r\n", eol))
    out = frames(c)
    assert out[1].get("CallerIDName") == "张三"
    assert out[1].get("Count") == "1"


def test_repeated_header_becomes_list() -> None:
    c = AmiCodec("server")
    c.feed(b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n")
    (f,) = frames(c)
    assert f.headers["Variable"] == ["A=1", "B=2"]
    assert f.get("Variable") == "A=1"


def test_header_without_colon_is_reported_and_rest_kept() -> None:
    c = AmiCodec("server")
    c.feed(b"Action: Ping\r\ngarbage line\r\nActionID: 5\r\n\r\n")
    out = frames(c)
    assert Rejected in {type(x) for x in out}
    f = next(x for x in out if isinstance(x, Frame))
    assert f.headers == {"Action": "Ping", "ActionID": "5"}


def test_over_long_frame_dropped_then_parsing_resumes() -> None:
    c = AmiCodec("server", max_frame=1024)
    c.feed(b"Action: Ping\r\nJunk: " + b"x" * 5000)
    c.feed(b"x" * 3000 + b"\r\n\r\nAction: Ping\r\nActionID: ok\r\n\r\n")
    out = frames(c)
    assert [type(x) for x in out] == [Rejected, Frame]
    assert out[0].reason == "too_long"
    assert out[1].action_id == "ok"


def test_bad_utf8_is_replaced_and_reported() -> None:
    c = AmiCodec("server")
    c.feed(b"Action: Ping\r\nActionID: \xff\xfe\r\n\r\n")
    out = frames(c)
    assert out[0].reason == "bad_utf8"
    assert out[1].action == "Ping"


def test_encode_refuses_line_breaks_in_values() -> None:
    with pytest.raises(ValueError, match="Channel"):
        encode_message({"Action": "Hangup", "Channel": "x\r\nAction: Logoff"})


def test_encode_repeats_list_values() -> None:
    assert encode_message([("Action", "Originate"), ("Variable", ["A=1", "B=2"])]) == (
        b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    )


@given(st.lists(st.integers(min_value=1, max_value=64), max_size=200))
def test_any_chunking_gives_the_same_frames(cuts: list[int]) -> None:
    stream = BANNER + LOGIN_OK + JOIN * 5
    whole = AmiCodec("client")
    whole.feed(stream)
    expected = frames(whole)
    c = AmiCodec("client")
    pos = 0
    got = []
    for n in cuts:
        c.feed(stream[pos : pos + n])
        got.extend(frames(c))
        pos += n
    c.feed(stream[pos:])
    got.extend(frames(c))
    assert got == expected


# The fast path (whole CRLF frames decoded in bulk) must give exactly what the general path
# gives, for any bytes and any chunking: the general path is the reference.
_PIECES = [
    b"\r\n",
    b"\r\n\r\n",
    b"\r",
    b"\n",
    b": ",
    b":",
    b"Event",
    b"Key",
    b"v",
    b" ",
    "张".encode(),
    "张".encode()[:2],
    b"\xff",
    b"Event: X\r\n",
    b"Key: 1\r\n",
]


class _GeneralOnly(AmiCodec):
    __slots__ = ()

    def _plain_frames(self, buf: bytearray, pos: int, end: int) -> int:
        return pos


@given(
    st.lists(st.sampled_from(_PIECES), max_size=60),
    st.lists(st.integers(min_value=1, max_value=40), max_size=20),
    st.sampled_from([16, 64 * 1024]),
)
def test_fast_path_gives_what_the_general_path_gives(
    pieces: list[bytes], cuts: list[int], max_frame: int
) -> None:
    stream = b"".join(pieces)
    fast, general = (
        AmiCodec("server", max_frame=max_frame),
        _GeneralOnly("server", max_frame=max_frame),
    )
    got: list = []
    want: list = []
    pos = 0
    for n in [*cuts, len(stream)]:
        chunk = stream[pos : pos + n]
        pos += n
        fast.feed(chunk)
        general.feed(chunk)
        got.extend(frames(fast))
        want.extend(frames(general))
    assert got == want
    assert fast._buf == general._buf


def test_encode_fast_path_matches_the_general_one() -> None:
    from pbx.codec import _encode_plain

    h = {"Event": "Newchannel", "CallerIDName": "张三", "Empty": "", "Privilege": "call,all"}
    assert _encode_plain(h) is not None  # the fast path takes it
    assert encode_message(h) == encode_message(list(h.items()))
    for bad in ("a\nb", "a\rb", "a\r\nb", "\n"):
        assert _encode_plain({"Event": "X", "V": bad}) is None
    with pytest.raises(ValueError):
        encode_message({"Event": "X", "Bad": "a\nb"})
    with pytest.raises(ValueError):
        encode_message({"Event": "X", "Bad: name": "a"})
    assert encode_message({"Event": "X", "N": 5}) == b"Event: X\r\nN: 5\r\n\r\n"
