"""Asterisk's side of a FastAGI call, for the embedded PBX: what ``AGI(agi://host:port/ivr)``
does in a real dialplan, for one simulated caller.

:func:`run_ivr` connects, sends the ``agi_*`` environment byte for byte as ``res_agi.c``
(``launch_netscript`` then ``setup_env``) does, then answers each command as Asterisk would:

* ``STREAM FILE``, ``GET DATA``, ``WAIT FOR DIGIT`` ask ``press(prompt)`` what the caller keys
  during that prompt (``prompt`` is the sound name, ``""`` for WAIT FOR DIGIT): a string of
  keys, ``None`` for silence (the timeout), or :data:`HANGUP` when the caller hangs up there.
  The answers are Asterisk's: ``200 result=<ASCII code> endpos=<n>``, ``200 result=<digits>``,
  ``200 result= (timeout)``, ``200 result=-1`` on a hang-up, followed by ``HANGUP``.
* ``SET VARIABLE`` stores (``CHANNEL(language)`` changes the language), ``GET VARIABLE``
  reads, ``SAY DIGITS``/``VERBOSE``/``NOOP``/``ANSWER`` succeed, ``HANGUP`` hangs up.
* After a hang-up only the commands that "run dead" work; others get ``511``. Unknown
  commands get ``510``; wrong argument counts the multi-line ``520`` usage answer.

It returns the channel variables the IVR set, plus ``AGISTATUS`` as Asterisk sets it after
``AGI()``: ``SUCCESS`` (the script ended, the dialplan goes on: queue the call with
``IVR_QUEUE`` and ``QUEUE_PRIO``), ``HANGUP`` (the caller is gone: do not queue),
``FAILURE`` (could not connect or no answer in time: queue the call as if there were no IVR).

Wiring into the embedded PBX's pre-queue hook::

    from pbx.simulator.agi import run_ivr
    async def pre_queue(caller_info):
        return await run_ivr("127.0.0.1", agi_port, caller_info, press=caller_keys, timeout=30)
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pbx.agi import split_command

__all__ = ["HANGUP", "AgiCallInfo", "AsteriskAgiSide", "environment", "run_ivr", "typical_caller"]

#: A ``press`` answer: the caller hangs up during this prompt.
HANGUP = "hangup"
ASTERISK_VERSION = "20.20.1"

_threadids = itertools.count(140245120001536, 8)


@dataclass(frozen=True, slots=True)
class AgiCallInfo:
    """The channel that runs ``AGI()``: what goes into the ``agi_*`` environment."""

    callerid: str
    calleridname: str = ""
    uniqueid: str = "1795966595.1"
    linkedid: str = ""
    channel: str = "Local/12345@callers-00000000;2"
    language: str = "zh"
    context: str = "callers"
    extension: str = "12345"
    priority: int = 6
    accountcode: str = ""
    dnid: str = "unknown"
    channel_type: str = "Local"
    args: tuple[str, ...] = ()

    @classmethod
    def coerce(cls, info: AgiCallInfo | Mapping[str, Any] | Any) -> AgiCallInfo:
        """From an :class:`AgiCallInfo`, a mapping or an object with attributes; accepts the
        simulator's names too (``num``, ``name``, ``cid_num``, ``cid_name``)."""
        if isinstance(info, AgiCallInfo):
            return info
        get = info.get if isinstance(info, Mapping) else lambda k, d=None: getattr(info, k, d)

        def first(*names: str, default: Any = "") -> Any:
            for n in names:
                v = get(n, None)
                if v not in (None, ""):
                    return v
            return default

        uniqueid = str(first("uniqueid", default="1795966595.1"))
        linkedid = str(first("linkedid", default=uniqueid))
        return cls(
            callerid=str(first("callerid", "num", "cid_num", "caller_num")),
            calleridname=str(first("calleridname", "name", "cid_name", "caller_name")),
            uniqueid=uniqueid,
            linkedid=linkedid,
            channel=str(first("channel", default="Local/12345@callers-00000000;2")),
            language=str(first("language", default="zh")),
            context=str(first("context", default="callers")),
            extension=str(first("extension", "exten", default="12345")),
            priority=int(first("priority", default=6)),
            accountcode=str(first("accountcode")),
            args=tuple(first("args", default=(linkedid,))),
        )


def environment(info: AgiCallInfo, host: str, port: int, script: str) -> bytes:
    """The bytes Asterisk 20 sends first (``launch_netscript`` + ``setup_env``)."""
    lines = ["agi_network: yes"]
    if script:
        lines.append(f"agi_network_script: {script}")
    request = f"agi://{host}:{port}/{script}" if script else f"agi://{host}:{port}"
    lines += [
        f"agi_request: {request}",
        f"agi_channel: {info.channel}",
        f"agi_language: {info.language}",
        f"agi_type: {info.channel_type}",
        f"agi_uniqueid: {info.uniqueid}",
        f"agi_version: {ASTERISK_VERSION}",
        f"agi_callerid: {info.callerid or 'unknown'}",
        f"agi_calleridname: {info.calleridname or 'unknown'}",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        f"agi_dnid: {info.dnid}",
        "agi_rdnis: unknown",
        f"agi_context: {info.context}",
        f"agi_extension: {info.extension}",
        f"agi_priority: {info.priority}",
        "agi_enhanced: 0.0",
        f"agi_accountcode: {info.accountcode}",
        f"agi_threadid: {next(_threadids)}",
    ]
    lines += [f"agi_arg_{i}: {a}" for i, a in enumerate(info.args, 1)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


_USAGE = {
    ("STREAM", "FILE"): (4, 5, " Usage: STREAM FILE <filename> <escape digits> [sample offset]"),
    ("GET", "DATA"): (3, 99, " Usage: GET DATA <file to be streamed> [timeout] [max digits]"),
    ("WAIT", "FOR", "DIGIT"): (4, 4, " Usage: WAIT FOR DIGIT <timeout>"),
    ("SAY", "DIGITS"): (4, 4, " Usage: SAY DIGITS <number> <escape digits>"),
    ("SET", "VARIABLE"): (4, 4, " Usage: SET VARIABLE <variablename> <value>"),
    ("GET", "VARIABLE"): (3, 3, " Usage: GET VARIABLE <variablename>"),
    ("VERBOSE",): (2, 3, " Usage: VERBOSE <message> <level>"),
    ("NOOP",): (1, 99, ""),
    ("ANSWER",): (1, 1, ""),
    ("HANGUP",): (1, 2, ""),
}
_RUNS_DEAD = {("SET", "VARIABLE"), ("GET", "VARIABLE"), ("VERBOSE",), ("NOOP",)}
#: The command names, longest first (``GET DATA`` before a one-word name), sorted once.
_BY_LENGTH = sorted(_USAGE, key=len, reverse=True)


@dataclass
class AsteriskAgiSide:
    """Asterisk's answers to AGI commands for one channel (no I/O): ``handle(line)``
    returns the bytes Asterisk would write back."""

    press: Callable[[str], str | None]
    language: str = "zh"
    known_sounds: frozenset[str] | None = None  # None: every sound exists
    variables: dict[str, str] = field(default_factory=dict)
    dead: bool = False
    transcript: list[str] = field(default_factory=list)

    def _keys(self, prompt: str) -> str | None:
        return self.press(prompt)

    def handle(self, line: str) -> bytes:
        self.transcript.append(line)
        words = split_command(line)
        upper = [w.upper() for w in words]
        name = next((k for k in _BY_LENGTH if tuple(upper[: len(k)]) == k), None)
        if name is None:
            return b"510 Invalid or unknown command\n"
        if self.dead and name not in _RUNS_DEAD:
            return b"511 Command Not Permitted on a dead channel\n"
        lo, hi, usage = _USAGE[name]
        if not lo <= len(words) <= hi:
            if not usage:
                return b"520 Invalid command syntax.  Proper usage not available.\n"
            return (
                "520-Invalid command syntax.  Proper usage follows:\n"
                f"{usage}\n520 End of proper usage.\n"
            ).encode()
        return getattr(self, "_" + "_".join(name).lower())(words)

    def _hangup_now(self, reply: str) -> bytes:
        self.dead = True
        return (reply + "\nHANGUP\n").encode()

    def _missing(self, sound: str) -> bool:
        return self.known_sounds is not None and sound not in self.known_sounds

    def _stream_file(self, w: list[str]) -> bytes:
        sound, escape = w[2], w[3]
        if self._missing(sound):
            return b"200 result=-1 endpos=0\n"
        keys = self._keys(sound)
        if keys == HANGUP:
            return self._hangup_now("200 result=-1 endpos=1600")
        if keys and keys[0] in escape:
            return f"200 result={ord(keys[0])} endpos=4000\n".encode()
        return b"200 result=0 endpos=16000\n"

    def _get_data(self, w: list[str]) -> bytes:
        sound = w[2]
        maxd = int(w[4]) if len(w) > 4 and w[4].isdigit() and int(w[4]) > 0 else 1024
        if self._missing(sound):
            return b"200 result=-1\n"
        keys = self._keys(sound)
        if keys == HANGUP:
            return self._hangup_now("200 result=-1")
        if not keys:
            return b"200 result= (timeout)\n"
        digits = keys.split("#", 1)[0][:maxd]
        if "#" in keys or len(digits) >= maxd:
            return f"200 result={digits}\n".encode()
        return f"200 result={digits} (timeout)\n".encode()

    def _wait_for_digit(self, w: list[str]) -> bytes:
        keys = self._keys("")
        if keys == HANGUP:
            return self._hangup_now("200 result=-1")
        return f"200 result={ord(keys[0]) if keys else 0}\n".encode()

    def _say_digits(self, w: list[str]) -> bytes:
        return b"200 result=0\n"

    def _set_variable(self, w: list[str]) -> bytes:
        self.variables[w[2]] = w[3]
        if w[2].upper() == "CHANNEL(LANGUAGE)":
            self.language = w[3]
        return b"200 result=1\n"

    def _get_variable(self, w: list[str]) -> bytes:
        if w[2] in self.variables:
            return f"200 result=1 ({self.variables[w[2]]})\n".encode()
        return b"200 result=0\n"

    def _verbose(self, w: list[str]) -> bytes:
        return b"200 result=1\n"

    def _noop(self, w: list[str]) -> bytes:
        return b"200 result=0\n"

    def _answer(self, w: list[str]) -> bytes:
        return b"200 result=0\n"

    def _hangup(self, w: list[str]) -> bytes:
        return self._hangup_now("200 result=1")


async def run_ivr(
    host: str,
    port: int,
    info: AgiCallInfo | Mapping[str, Any] | Any,
    press: Callable[[str], str | None],
    timeout: float = 30.0,
    *,
    script: str = "ivr",
    known_sounds: frozenset[str] | None = None,
    transcript: list[str] | None = None,
) -> dict[str, str]:
    """Run one FastAGI session as Asterisk; return the variables set and ``AGISTATUS``.

    ``timeout`` bounds the whole session (a real caller's prompts take time; a simulated one
    answers at once). Connection failures give ``AGISTATUS=FAILURE``, like Asterisk's.
    """
    call = AgiCallInfo.coerce(info)
    side = AsteriskAgiSide(press, language=call.language, known_sounds=known_sounds)
    if transcript is not None:
        side.transcript = transcript
    status = "SUCCESS"
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport: asyncio.Transport | None = None
    try:
        async with asyncio.timeout(timeout):
            env = environment(call, host, port, script)
            transport, _ = await loop.create_connection(
                lambda: _AsteriskAgiConnection(side, env, done), host, port
            )
            await done
    except (OSError, TimeoutError):
        status = "FAILURE"
    finally:
        if transport is not None:
            transport.close()
    if side.dead:
        status = "HANGUP"
    return {**side.variables, "AGISTATUS": status}


class _AsteriskAgiConnection(asyncio.Protocol):
    """Asterisk's end of one FastAGI connection: each command line the script sends is
    answered at once, inside ``data_received`` (no task wakes up per command). ``done`` is
    set when the script closes the connection (``AGI()`` returns; a last line without its
    newline is dropped), or fails with the error that broke it."""

    def __init__(self, side: AsteriskAgiSide, env: bytes, done: asyncio.Future[None]) -> None:
        self.side = side
        self.env = env
        self.done = done
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.env)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        start = 0
        answers: list[bytes] = []
        try:
            while (nl := buf.find(b"\n", start)) >= 0:
                line = buf[start:nl].decode("utf-8", errors="replace").rstrip("\r")
                start = nl + 1
                answers.append(self.side.handle(line))
        except Exception as e:  # the caller's press() failed: as an exception of run_ivr
            self._finish(e)
            return
        finally:
            del buf[:start]
        if len(buf) > _LINE_LIMIT:
            self._finish(ValueError(f"FastAGI line over {_LINE_LIMIT} bytes"))
            return
        if answers and self.transport is not None:
            self.transport.write(answers[0] if len(answers) == 1 else b"".join(answers))

    def eof_received(self) -> bool:
        self._finish(None)
        return False  # close our end too

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        if self.done.done():
            return
        if exc is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(exc)


#: The longest command line read (asyncio's stream limit, as before).
_LINE_LIMIT = 64 * 1024


def typical_caller(
    rng: random.Random, first_keys: Mapping[str, str] | None = None
) -> Callable[[str], str | None]:
    """A simulated caller for the shipped menus (``config/ivr.yaml``): Mandarin 9 times in
    10, then a service (consultation most often), now and then a wrong key or silence first;
    announcements and offers are let pass. Draws from ``rng`` only, so a seed repeats it.
    ``first_keys`` (prompt sound -> key): pressed at those prompts' first play, before the
    rest (e.g. the way to a district, :meth:`ivr.menu_model.Menus.keys_to_district`)."""
    lang = "1" if rng.random() < 0.9 else "2"
    service = rng.choices("1234560", weights=[40, 25, 8, 5, 4, 3, 15])[0]
    slip = rng.random()
    first: str | None = service
    if slip < 0.05:
        first = None  # silence once
    elif slip < 0.10:
        first = "7"  # a key that means nothing
    menu = [first, service] if first != service else [service]
    script = {
        "hotline/welcome-language": [lang],
        "hotline/main-menu": menu,
        "hotline/ticket-done": ["0"],
        "hotline/open-ticket-offer": ["3"],
        # out of hours: mostly the night operator, now and then an urgent outage or progress
        "hotline/closed": [rng.choices("012", weights=[80, 10, 10])[0]],
    }
    for prompt, key in (first_keys or {}).items():
        script[prompt] = [key, *script.get(prompt, [])]

    def press(prompt: str) -> str | None:
        q = script.get(prompt)
        return q.pop(0) if q else None

    return press
