"""The AMI wire codec, with no I/O (sans-I/O, in the manner of h11).

Both ends of the Asterisk Manager Interface use it: the controller (role ``client``: it reads
the banner, then responses and events) and the embedded PBX (role ``server``: it reads actions).
Feed it bytes as they come off a socket with :meth:`AmiCodec.feed`, then take whole frames with
:meth:`AmiCodec.next_frame` until it returns ``None``.

What it guarantees, whatever the bytes:

* A frame is cut out of the byte stream *before* it is decoded, so a multi-byte UTF-8
  character split across two TCP reads (Chinese caller names) arrives whole.
* Asterisk ends lines in CRLF and frames in an empty line. LF-only and CR-only line ends are
  accepted too (some proxies and hand-made tools send them).
* A frame longer than ``max_frame`` bytes is dropped, reported as :class:`Rejected` with reason
  ``too_long``, and parsing carries on at the next frame.
* A line without ``": "`` is reported (reason ``bad_header``) and the rest of the frame kept;
  bytes that are not UTF-8 are replaced and reported (reason ``bad_utf8``).

A frame's headers keep their wire order and case; a header that repeats (``Output``,
``ChanVariable``, ``Variable``) becomes a list of its values, in order.

>>> codec = AmiCodec("client")
>>> codec.feed(b"Asterisk Call Manager/9.0.0\\r\\nResponse: Success\\r\\nActionID: 1\\r\\n")
>>> codec.next_frame()
Banner(version='9.0.0')
>>> codec.next_frame() is None
True
>>> codec.feed(b"Message: Authentication accepted\\r\\n\\r\\n")
>>> codec.next_frame().headers["Message"]
'Authentication accepted'
>>> encode_message({"Action": "Ping", "ActionID": "7"})
b'Action: Ping\\r\\nActionID: 7\\r\\n\\r\\n'
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, cast

__all__ = [
    "DEFAULT_MAX_FRAME",
    "AmiCodec",
    "Banner",
    "Frame",
    "Headers",
    "Rejected",
    "encode_message",
]

#: Asterisk's own frames are at most a few kB (a ``Cdr`` or a ``CoreShowChannel``); 64 KiB leaves
#: room for ``Command`` output while keeping one bad peer from eating memory.
DEFAULT_MAX_FRAME = 64 * 1024

Headers = dict[str, "str | list[str]"]

_CRLF2 = b"\r\n\r\n"
_split_header = operator.methodcaller("split", ": ", 1)  # "Key: value" -> ["Key", "value"]


@dataclass(frozen=True, slots=True)
class Banner:
    """The first line a manager sends: ``Asterisk Call Manager/<version>``."""

    version: str


@dataclass(frozen=True, slots=True)
class Frame:
    """One AMI message: a response, an event, or (server side) an action."""

    headers: Headers

    def get(self, name: str, default: str = "") -> str:
        """The header's value; for a repeated header, its first value."""
        value = self.headers.get(name, default)
        return value[0] if isinstance(value, list) else value

    @property
    def event(self) -> str | None:
        value = self.headers.get("Event")
        return value if isinstance(value, str) else None

    @property
    def response(self) -> str | None:
        value = self.headers.get("Response")
        return value if isinstance(value, str) else None

    @property
    def action(self) -> str | None:
        value = self.headers.get("Action")
        return value if isinstance(value, str) else None

    @property
    def action_id(self) -> str | None:
        value = self.headers.get("ActionID")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Something in the stream that was not (wholly) a valid frame.

    ``reason`` is one of a small fixed set (it becomes a metric label): ``too_long``,
    ``bad_header``, ``bad_utf8``, ``bad_banner``, ``empty``. ``detail`` is for the log and never
    holds header values (they may be phone numbers).
    """

    reason: str
    detail: str


class AmiCodec:
    """Splits an AMI byte stream into frames. One instance per connection and direction."""

    __slots__ = ("_buf", "_discarding", "_max_frame", "_out", "_want_banner")

    def __init__(
        self, role: Literal["client", "server"], *, max_frame: int = DEFAULT_MAX_FRAME
    ) -> None:
        if role not in ("client", "server"):
            raise ValueError(f"role must be 'client' or 'server', not {role!r}")
        self._want_banner = role == "client"
        self._max_frame = max_frame
        self._buf = bytearray()
        self._out: deque[Banner | Frame | Rejected] = deque()
        # True while skipping the rest of an over-long frame up to its end.
        self._discarding = False

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer; cut out every frame they complete."""
        buf = self._buf
        buf += data
        pos = 0
        end = len(buf)
        out = self._out
        if self._want_banner:
            nl = buf.find(b"\n")
            if nl < 0:
                if end > 256:
                    self._want_banner = False
                    out.append(Rejected("bad_banner", f"no banner line in the first {end} bytes"))
                else:
                    return
            else:
                self._want_banner = False
                line = bytes(buf[:nl]).rstrip(b"\r").decode("utf-8", "replace")
                prefix, sep, version = line.partition("/")
                if prefix.startswith("Asterisk Call Manager") and sep:
                    out.append(Banner(version.strip()))
                else:
                    out.append(Rejected("bad_banner", f"unexpected first line ({len(line)} chars)"))
                pos = nl + 1
        if pos < end and not self._discarding:
            pos = self._plain_frames(buf, pos, end)
        while pos < end:
            stop, after = self._frame_end(buf, pos, end)
            if stop < 0:
                break
            if self._discarding:
                self._discarding = False
            elif stop - pos > self._max_frame:  # whole, but over the cap: drop it too
                out.append(Rejected("too_long", f"frame over {self._max_frame} bytes dropped"))
            elif stop > pos:
                self._parse(bytes(buf[pos:stop]))
            pos = after
        if pos:
            del buf[:pos]
        if len(buf) > self._max_frame:
            if not self._discarding:
                out.append(Rejected("too_long", f"frame over {self._max_frame} bytes dropped"))
                self._discarding = True
            # Keep the tail: it may hold the start of the terminator.
            del buf[:-3]

    def next_frame(self) -> Banner | Frame | Rejected | None:
        """The next complete frame, or ``None`` when more bytes are needed."""
        if self._out:
            return self._out.popleft()
        return None

    def frames(self) -> Iterator[Banner | Frame | Rejected]:
        """Every complete frame waiting, in order (then the internal list is empty)."""
        out, self._out = self._out, deque()
        return iter(out)

    def _plain_frames(self, buf: bytearray, pos: int, end: int) -> int:
        """The fast path: cut and decode, in a few C-level passes, the whole frames from
        ``pos`` when they are what Asterisk sends (CRLF line ends only, no frame over the cap,
        valid UTF-8, no repeated or malformed header); return where it stopped. Anything else
        is left to the general path (:meth:`_frame_end`, :meth:`_parse`), which gives the same
        frames for these bytes and handles every other case."""
        last = buf.rfind(_CRLF2, pos, end)
        if last < 0:
            return pos
        stop = last + 4
        region = bytes(buf[pos:stop])
        n = region.count(b"\n")
        if region.count(b"\r") != n or region.count(b"\r\n") != n:
            return pos  # a bare CR or LF somewhere: the general path decides the frame ends
        chunks = region.split(_CRLF2)
        if chunks[-1]:
            # The last terminator overlaps the one before it ("...\r\n\r\n\r\n"): read from
            # the left, the region's end is not a frame's end. Leave that piece in the buffer.
            stop -= len(chunks[-1])
            region = region[: -len(chunks[-1])]
            del chunks[-1]
        if max(map(len, chunks)) > self._max_frame:
            return pos
        try:
            texts = region.decode("utf-8").split("\r\n\r\n")
        except UnicodeDecodeError:
            return pos
        out = self._out
        split = _split_header
        for text in texts:
            if not text:
                continue  # the empty piece after the last frame, or an empty frame
            lines = text.split("\r\n")
            try:
                headers = dict(map(split, lines))
            except ValueError:  # an empty line, or one without ": ": the general parser
                self._parse(text.encode("utf-8"))
                continue
            if len(headers) != len(lines):  # a repeated header: it becomes a list there
                self._parse(text.encode("utf-8"))
                continue
            out.append(Frame(headers))
        return stop

    @staticmethod
    def _frame_end(buf: bytearray, pos: int, end: int) -> tuple[int, int]:
        """Where the frame starting at ``pos`` ends and where the next one starts, or (-1, -1).

        CRLF CRLF is what Asterisk sends; LF LF and CR CR are accepted, whichever comes first.
        """
        crlf = buf.find(_CRLF2, pos, end)
        limit = crlf if crlf >= 0 else end
        lf = buf.find(b"\n\n", pos, limit)
        cr = buf.find(b"\r\r", pos, limit)
        best, width = (crlf, 4) if crlf >= 0 else (-1, 0)
        for idx in (lf, cr):
            if idx >= 0 and (best < 0 or idx < best):
                best, width = idx, 2
        if best < 0:
            return -1, -1
        return best, best + width

    def _parse(self, raw: bytes) -> None:
        out = self._out
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            out.append(Rejected("bad_utf8", "frame is not valid UTF-8; bad bytes replaced"))
        if "\r" in text:
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        else:
            lines = text.split("\n")
        headers: Headers = {}
        bad = 0
        for line in lines:
            if not line:
                continue
            key, sep, value = line.partition(": ")
            if not sep:
                # Asterisk writes "Key: " for an empty value; tolerate a bare "Key:" too.
                if line.endswith(":") and " " not in line:
                    key, value = line[:-1], ""
                else:
                    bad += 1
                    continue
            old = headers.get(key)
            if old is None:
                headers[key] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                headers[key] = [old, value]
        if bad:
            out.append(Rejected("bad_header", f"{bad} line(s) without ': ' skipped"))
        if headers:
            out.append(Frame(headers))
        else:
            out.append(Rejected("empty", "frame with no header"))


def encode_message(headers: Mapping[str, object] | Iterable[tuple[str, object]]) -> bytes:
    """Serialise one AMI message (an action, response or event) to its wire bytes.

    A list or tuple value repeats the header. A CR or LF inside a name or value would let one
    message smuggle another, so it raises :class:`ValueError` naming the header.
    """
    if type(headers) is dict and headers:
        # The fast path (every event of the embedded PBX): str names and values, in C-level
        # passes; a line break is found by counting them.
        data = _encode_plain(headers)
        if data is not None:
            return data
    items = headers.items() if isinstance(headers, Mapping) else headers
    parts: list[str] = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            s = "" if v is None else str(v)
            if "\r" in s or "\n" in s or "\r" in key or "\n" in key or ": " in key:
                raise ValueError(f"AMI header {key!r} holds a line break or ': '")
            parts.append(f"{key}: {s}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


#: Header names already checked for a line break or ": " (names come from a small vocabulary;
#: the set stops growing at ``_NAMES_MAX`` so that odd input cannot make it grow for ever).
_NAMES_OK: set[str] = set()
_NAMES_MAX = 4096


def _encode_plain(headers: dict[str, object]) -> bytes | None:
    """:func:`encode_message` of a dict whose names and values are all ``str`` (exactly, not a
    subclass, whose ``str()`` may differ), or ``None`` to take the general path."""
    if set(map(type, headers.values())) != _STR or set(map(type, headers)) != _STR:
        return None
    if not _NAMES_OK.issuperset(headers):
        for key in headers:
            if "\r" in key or "\n" in key or ": " in key:
                return None  # the general path raises, naming the header
        if len(_NAMES_OK) < _NAMES_MAX:
            _NAMES_OK.update(headers)
    plain = cast("dict[str, str]", headers)  # every name and value checked to be a str above
    text = "\r\n".join(map(": ".join, plain.items()))
    breaks = len(headers) - 1  # the line ends put between the headers
    if text.count("\n") != breaks or text.count("\r") != breaks:
        return None  # a value with a line break: the general path raises, naming it
    return (text + "\r\n\r\n").encode("utf-8")


_STR = {str}
