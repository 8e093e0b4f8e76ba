"""The FastAGI wire protocol, sans-I/O: what Asterisk's ``res_agi.c`` sends and expects.

A FastAGI session over TCP (``AGI(agi://host:4573/script,arg1,...)`` in the dialplan):

1. Asterisk connects and sends the environment, one ``name: value`` line each, ending with an
   empty line: ``agi_network: yes``, ``agi_network_script: <script>`` (the URL's path, when it
   has one), then ``agi_request`` (the whole URL), ``agi_channel``, ``agi_language``,
   ``agi_type``, ``agi_uniqueid``, ``agi_version``, ``agi_callerid``, ``agi_calleridname``,
   ``agi_callingpres``, ``agi_callingani2``, ``agi_callington``, ``agi_callingtns``,
   ``agi_dnid``, ``agi_rdnis``, ``agi_context``, ``agi_extension``, ``agi_priority``,
   ``agi_enhanced``, ``agi_accountcode``, ``agi_threadid``, then ``agi_arg_1``... for the
   application's arguments. Lines end in ``\\n`` only.
2. The server sends one command line (``STREAM FILE welcome "12"\\n``) and reads one answer:
   ``200 result=<n> [(<data>)] [key=value...]``; ``510 Invalid or unknown command``;
   ``511 Command Not Permitted on a dead channel`` (the caller has hung up; only commands
   that "run dead", such as SET VARIABLE, still work); ``520 Invalid command syntax.  Proper
   usage not available.`` or the multi-line form ``520-Invalid command syntax.  Proper usage
   follows:`` ... ``520 End of proper usage.``
3. When the channel hangs up, Asterisk writes ``HANGUP\\n`` at once, between or before
   answers (``AGISIGHUP`` is on by default). After it, commands that cannot run dead get 511.
4. The server ends the session by closing the socket; the dialplan goes on
   (``AGISTATUS=SUCCESS``).

Arguments are split by Asterisk's ``parse_args``: blanks separate words, ``"..."`` quotes,
``\\`` escapes the next character. :func:`command` quotes every argument accordingly.

:class:`AgiDecoder` turns received bytes into :class:`AgiEnv`, :class:`AgiReply` and
:class:`HangupNotice` items; it never touches a socket. Lines are decoded as UTF-8 only once
complete, so a Chinese caller name split across two TCP reads stays whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "HANGUP_LINE",
    "AgiDecoder",
    "AgiEnv",
    "AgiProtocolError",
    "AgiReply",
    "HangupNotice",
    "command",
    "parse_reply",
    "quote",
    "split_command",
]

HANGUP_LINE = "HANGUP"
MAX_LINE = 64 * 1024  # a line longer than this is a protocol error, not a memory leak


class AgiProtocolError(ValueError):
    """Bytes that are not FastAGI (a line too long, an answer that is not a status line)."""


@dataclass(frozen=True, slots=True)
class AgiEnv:
    """The ``agi_*`` variables Asterisk sent first, names without the ``agi_`` prefix."""

    values: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def script(self) -> str:
        """The script part of ``agi://host[:port]/script``, without a query string."""
        raw = self.values.get("network_script", "")
        return raw.split("?", 1)[0].strip("/")

    @property
    def args(self) -> list[str]:
        out = []
        n = 1
        while f"arg_{n}" in self.values:
            out.append(self.values[f"arg_{n}"])
            n += 1
        return out

    @property
    def caller(self) -> str:
        """The calling number; empty when withheld (Asterisk sends ``unknown``)."""
        num = self.values.get("callerid", "")
        return "" if num in ("unknown", "anonymous") else num


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One answer to one command.

    ``code`` 200 with ``result`` (the text after ``result=``), ``data`` (inside the
    parentheses, e.g. ``timeout``) and ``extra`` (``endpos=...``); or 510/511/520 with
    ``message`` (and ``usage``, the lines of a multi-line 520).
    """

    code: int
    result: str = ""
    data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    message: str = ""
    usage: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def dead(self) -> bool:
        """511: the channel is gone (the caller hung up)."""
        return self.code == 511

    @property
    def number(self) -> int | None:
        """``result`` as an int, or ``None`` when it is not one (GET DATA digits are text)."""
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def digit(self) -> str | None:
        """The key pressed, for STREAM FILE and WAIT FOR DIGIT (result is its ASCII code)."""
        n = self.number
        if n is None or n <= 0:
            return None
        try:
            return chr(n)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """``HANGUP``: Asterisk says the channel has hung up."""


_RESULT = re.compile(r"^200 result=(?P<result>\S*)(?:\s+\((?P<data>[^)]*)\))?(?P<rest>.*)$")


def parse_reply(line: str) -> AgiReply:
    """One single-line answer (not the multi-line 520, see :class:`AgiDecoder`).

    >>> parse_reply('200 result=49 endpos=1234')
    AgiReply(code=200, result='49', data=None, extra={'endpos': '1234'}, message='', usage='')
    >>> parse_reply('200 result= (timeout)').data
    'timeout'
    >>> parse_reply('511 Command Not Permitted on a dead channel').dead
    True
    """
    m = _RESULT.match(line)
    if m:
        extra = {}
        for word in m.group("rest").split():
            key, sep, value = word.partition("=")
            if sep:
                extra[key] = value
        return AgiReply(200, m.group("result"), m.group("data"), extra)
    code_text, _, message = line.partition(" ")
    if len(code_text) == 3 and code_text.isdigit():
        return AgiReply(int(code_text), message=message)
    raise AgiProtocolError(f"not an AGI answer: {line[:80]!r}")


class AgiDecoder:
    """Incremental decoder of what Asterisk sends to a FastAGI server.

    ``feed(bytes)`` returns the complete items: first one :class:`AgiEnv`, then
    :class:`AgiReply` and :class:`HangupNotice` in the order they arrived. ``hungup`` stays
    true once a ``HANGUP`` line has been seen.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._env: dict[str, str] | None = {}
        self._usage: list[str] | None = None  # inside a multi-line 520
        self._usage_head = ""
        self.hungup = False

    @property
    def in_env(self) -> bool:
        return self._env is not None

    def feed(self, data: bytes) -> list[AgiEnv | AgiReply | HangupNotice]:
        self._buf += data
        out: list[AgiEnv | AgiReply | HangupNotice] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE:
                    raise AgiProtocolError(f"line longer than {MAX_LINE} bytes")
                return out
            raw = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            item = self._line(line)
            if item is not None:
                out.append(item)

    def _line(self, line: str) -> AgiEnv | AgiReply | HangupNotice | None:
        if self._env is not None:
            if line == "":
                env = AgiEnv(self._env)
                self._env = None
                return env
            name, sep, value = line.partition(":")
            if not sep:
                raise AgiProtocolError(f"not an agi_ variable line: {line[:80]!r}")
            name = name.strip()
            if name.startswith("agi_"):
                name = name[4:]
            self._env[name] = value[1:] if value.startswith(" ") else value
            return None
        if line == HANGUP_LINE:
            self.hungup = True
            return HangupNotice()
        if self._usage is not None:
            if line.startswith("520 "):
                usage = "\n".join(self._usage)
                self._usage = None
                return AgiReply(520, message=self._usage_head, usage=usage)
            self._usage.append(line)
            return None
        if line.startswith("520-"):
            self._usage = []
            self._usage_head = line[4:]
            return None
        if line == "":
            return None  # tolerate stray blank lines between answers
        return parse_reply(line)


def quote(arg: str | int) -> str:
    """One argument as Asterisk's ``parse_args`` reads it back unchanged: a plain word as it
    is, anything else (blank, quote, backslash, empty) in double quotes with escapes.

    >>> quote('welcome'), quote('hello world'), quote('say "hi"'), quote('')
    ('welcome', '"hello world"', '"say \\\\"hi\\\\""', '""')
    """
    text = str(arg)
    if "\n" in text or "\r" in text:
        raise ValueError("an AGI argument cannot contain a line break")
    if text and not any(c in text for c in ' \t"\\'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(*words: str | int, raw: tuple[str, ...] = ()) -> bytes:
    """A command line: ``raw`` words (the command name) as they are, then quoted arguments.

    >>> command('hotline/welcome', '12', raw=('STREAM', 'FILE'))
    b'STREAM FILE hotline/welcome 12\\n'
    """
    parts = list(raw) + [quote(w) for w in words]
    return (" ".join(parts) + "\n").encode("utf-8")


def split_command(line: str) -> list[str]:
    """Split a command line into words the way Asterisk's ``parse_args`` does (used by the
    simulated Asterisk side): blanks separate, ``"`` toggles quoting, ``\\`` escapes.

    >>> split_command('SET VARIABLE IVR_NOTE "say \\\\"hi\\\\" now"')
    ['SET', 'VARIABLE', 'IVR_NOTE', 'say "hi" now']
    >>> split_command('STREAM FILE welcome ""')
    ['STREAM', 'FILE', 'welcome', '']
    """
    words: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    started = False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
            started = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                words.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        words.append("".join(cur))
    return words
