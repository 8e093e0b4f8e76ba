"""The AGI codec: Asterisk's exact answers, split anywhere."""

from __future__ import annotations

import pytest

from pbx.agi import (
    AgiDecoder,
    AgiEnv,
    AgiProtocolError,
    AgiReply,
    HangupNotice,
    command,
    split_command,
)

ENV = (
    "agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1:4573/ivr\n"
    "agi_channel: Local/12345@callers-00000000;2\nagi_language: en\nagi_type: Local\n"
    "agi_uniqueid: 1795966595.1\nagi_version: 20.20.1\nagi_callerid: 13800001234\n"
    "agi_calleridname: 张三\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\n"
    "agi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: callers\n"
    "agi_extension: 12345\nagi_priority: 6\nagi_enhanced: 0.0\nagi_accountcode: \n"
    "agi_threadid: 140245120001536\nagi_arg_1: 1795966595.0\n\n"
).encode()


def test_environment_byte_by_byte_keeps_chinese_whole():
    d = AgiDecoder()
    items = []
    for i in range(len(ENV)):
        items += d.feed(ENV[i : i + 1])
    assert len(items) == 1 and isinstance(items[0], AgiEnv)
    env = items[0]
    assert env.get("calleridname") == "张三"
    assert env.script == "ivr" and env.args == ["1795966595.0"]
    assert env.get("accountcode") == "" and env.caller == "13800001234"


def test_withheld_number_is_empty():
    d = AgiDecoder()
    (env,) = d.feed(b"agi_network: yes\nagi_callerid: unknown\n\n")
    assert env.caller == ""


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "extra"),
    [
        ("200 result=0 endpos=16000", 200, "0", None, {"endpos": "16000"}),
        ("200 result=49 endpos=4000", 200, "49", None, {"endpos": "4000"}),
        ("200 result= (timeout)", 200, "", "timeout", {}),
        ("200 result=12 (timeout)", 200, "12", "timeout", {}),
        ("200 result=1 (张三)", 200, "1", "张三", {}),
        ("200 result=-1", 200, "-1", None, {}),
        ("510 Invalid or unknown command", 510, "", None, {}),
        ("511 Command Not Permitted on a dead channel", 511, "", None, {}),
        ("520 Invalid command syntax.  Proper usage not available.", 520, "", None, {}),
    ],
)
def test_single_line_answers(line, code, result, data, extra):
    d = AgiDecoder()
    d.feed(b"agi_network: yes\n\n")
    (r,) = d.feed(line.encode() + b"\n")
    assert isinstance(r, AgiReply)
    assert (r.code, r.result, r.data, r.extra) == (code, result, data, extra)


def test_multi_line_520_and_hangup_between_answers():
    d = AgiDecoder()
    d.feed(b"agi_network: yes\n\n")
    raw = (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b" Usage: STREAM FILE <filename> <escape digits> [sample offset]\n"
        b"  Send the given file.\n"
        b"520 End of proper usage.\n"
        b"200 result=-1 endpos=1600\nHANGUP\n511 Command Not Permitted on a dead channel\n"
    )
    items = []
    for i in range(0, len(raw), 7):
        items += d.feed(raw[i : i + 7])
    assert [type(i).__name__ for i in items] == [
        "AgiReply",
        "AgiReply",
        "HangupNotice",
        "AgiReply",
    ]
    assert items[0].code == 520 and "STREAM FILE" in items[0].usage
    assert items[0].usage.count("\n") == 1
    assert isinstance(items[2], HangupNotice) and d.hungup
    assert items[3].dead


def test_garbage_is_a_protocol_error():
    d = AgiDecoder()
    d.feed(b"agi_network: yes\n\n")
    with pytest.raises(AgiProtocolError):
        d.feed(b"hello there\n")


def test_digit_of_stream_file():
    assert AgiReply(200, "35").digit == "#" and AgiReply(200, "0").digit is None


def test_quoting_round_trips_through_asterisks_parser():
    for words in (["welcome", ""], ['say "hi"', "a\\b", "两个 字"]):
        line = command(*words, raw=("SET", "VARIABLE")).decode().rstrip("\n")
        assert split_command(line)[2:] == words
