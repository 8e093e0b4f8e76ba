"""Configuration of the embedded PBX: :class:`SimulatorConfig` (the whole PBX, with the one
set of defaults), several queues, members with penalties (skills), and a loader for a
``queues.conf`` in Asterisk's format (``member =`` lines read, template sections ``[name](!)``
and ``[name](template)`` applied; of ``[general]``, :func:`load_queues_general`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pbx.simulator.model import STRATEGIES, VARSET_LEVELS

__all__ = [
    "MemberConfig",
    "QueueConfig",
    "SimulatorConfig",
    "centre_queues",
    "city_centre",
    "load_queues_conf",
    "load_queues_general",
    "split_seats",
]


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue's settings, named as in queues.conf (times in seconds)."""

    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0  # ring one member at most this long
    retry: float = 1.0
    wrapuptime: float = 0.0
    joinempty: str = "yes"
    leavewhenempty: str = "no"
    maxlen: int = 0
    servicelevel: int = 20
    weight: int = 0
    ringinuse: bool = False
    autofill: bool = True


@dataclass(frozen=True, slots=True)
class MemberConfig:
    """A member of one queue (a seat can be in several queues: skills): a static one as a
    queues.conf names it, or an operator seat that logs in (:meth:`seat`)."""

    queue: str
    interface: str  # e.g. Local/8001@agents/n
    name: str = ""
    state_interface: str = ""
    penalty: int = 0
    paused: bool = False
    wrapuptime: int = 0

    @classmethod
    def seat(cls, queue: str, ext: int, penalty: int = 0) -> MemberConfig:
        return cls(queue, f"Local/{ext}@agents/n", f"Agent {ext}", f"Local/{ext}@agents", penalty)


_TRUE = {"yes", "true", "y", "t", "1", "on"}
_QUEUE_KEYS = {
    "strategy": str,
    "timeout": float,
    "retry": float,
    "wrapuptime": float,
    "joinempty": str,
    "leavewhenempty": str,
    "maxlen": int,
    "servicelevel": int,
    "weight": int,
    "ringinuse": lambda v: v.strip().lower() in _TRUE,
    "autofill": lambda v: v.strip().lower() in _TRUE,
}


def load_queues_conf(
    source: str | Path, *, text: str | None = None
) -> tuple[tuple[QueueConfig, ...], tuple[MemberConfig, ...]]:
    """Parse a queues.conf: the queues (known keys only; others ignored) and their members.

    ``member => interface[,penalty[,membername[,state_interface[,ringinuse[,wrapuptime]]]]]``
    as app_queue reads it. Raises ValueError naming the file and line for a bad value.
    """
    path = Path(source)
    body = text if text is not None else path.read_text(encoding="utf-8")
    sections: dict[str, dict[str, str]] = {}
    members: dict[str, list[tuple[int, str]]] = {}
    templates: dict[str, dict[str, str]] = {}
    cur: str | None = None
    for lineno, raw in enumerate(body.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?$", line)
        if m:
            cur = m.group(1).strip()
            opts = [o.strip() for o in (m.group(2) or "").split(",") if o.strip()]
            values: dict[str, str] = {}
            for o in opts:
                if o != "!" and o in templates:
                    values.update(templates[o])
            if "!" in opts:
                templates[cur] = values
                cur = "!" + cur
            elif cur != "general":
                sections[cur] = values
                members[cur] = []
            continue
        if cur is None or cur == "general":
            continue
        kv = re.match(r"^([\w-]+)\s*=>?\s*(.*)$", line)
        if not kv:
            raise ValueError(f"{path}:{lineno}: cannot read {raw.strip()!r}")
        key, value = kv.group(1).lower(), kv.group(2).strip()
        if cur.startswith("!"):
            templates[cur[1:]][key] = value
        elif key == "member":
            members[cur].append((lineno, value))
        else:
            sections[cur][key] = value
    queues = []
    for name, values in sections.items():
        kw = {}
        for key, conv in _QUEUE_KEYS.items():
            if key in values:
                try:
                    kw[key] = conv(values[key])
                except ValueError:
                    msg = f"{path}: [{name}] {key} = {values[key]!r} is not valid"
                    raise ValueError(msg) from None
        queues.append(QueueConfig(name, **kw))
    mems = []
    for qname, lines in members.items():
        for lineno, value in lines:
            parts = [p.strip() for p in value.split(",")]
            try:
                pen = int(parts[1]) if len(parts) > 1 and parts[1] else 0
                wrap = int(parts[5]) if len(parts) > 5 and parts[5] else 0
            except ValueError:
                raise ValueError(f"{path}:{lineno}: bad member line {value!r}") from None
            mems.append(
                MemberConfig(
                    qname,
                    parts[0],
                    parts[2] if len(parts) > 2 else "",
                    parts[3] if len(parts) > 3 else "",
                    pen,
                    False,
                    wrap,
                )
            )
    return tuple(queues), tuple(mems)


def load_queues_general(source: str | Path, *, text: str | None = None) -> dict[str, str]:
    """The ``[general]`` settings of a queues.conf, keys lower-cased and spelled as written:
    Asterisk reads ``log-caller-id-name`` with hyphens only (the underscore spelling is
    silently ignored), so no spelling is folded into another here."""
    body = text if text is not None else Path(source).read_text(encoding="utf-8")
    out: dict[str, str] = {}
    cur: str | None = None
    for raw in body.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^\[([^\]]+)\]", line)
        if m:
            cur = m.group(1).strip()
            continue
        kv = re.match(r"^([\w-]+)\s*=>?\s*(.*)$", line)
        if cur == "general" and kv:
            out[kv.group(1).lower()] = kv.group(2).strip()
    return out


DISTRICTS = ("d1", "d2", "d3", "d4", "d5", "d6", "d7")


def city_centre(
    seats: int = 1000,
    *,
    centre: str = "hotline",
    districts: Iterable[str] = DISTRICTS,
    centre_share: float = 0.3,
    wrapuptime: float = 10.0,
    first_seat: int = 10001,
) -> tuple[tuple[QueueConfig, ...], tuple[MemberConfig, ...]]:
    """The "1 + 7" platform: a centre queue plus district queues, ``seats`` seats in all.

    Each district's seats are members of their own queue (penalty 0) and of the centre queue
    (penalty 1: overflow); the centre's own seats (``centre_share``) answer only the centre.
    """
    districts = tuple(districts)
    queues = [QueueConfig(centre, wrapuptime=wrapuptime)] + [
        QueueConfig(d, wrapuptime=wrapuptime) for d in districts
    ]
    n_centre = int(seats * centre_share)
    per = (seats - n_centre) // max(1, len(districts))
    mems: list[MemberConfig] = []
    ext = first_seat
    for _ in range(n_centre):
        mems.append(MemberConfig.seat(centre, ext))
        ext += 1
    for d in districts:
        for _ in range(per):
            mems.append(MemberConfig.seat(d, ext))
            mems.append(MemberConfig.seat(centre, ext, penalty=1))
            ext += 1
    while ext < first_seat + seats:  # the remainder joins the centre
        mems.append(MemberConfig.seat(centre, ext))
        ext += 1
    return tuple(queues), tuple(mems)


def split_seats(
    total: int, shares: Mapping[str, float], fixed: Mapping[str, int] | None = None
) -> dict[str, int]:
    """``total`` seats shared out in proportion to ``shares`` (largest remainders; at least
    one each), except the queues ``fixed`` gives their own number (not counted in ``total``).
    """
    fixed = dict(fixed or {})
    rest = {q: w for q, w in shares.items() if q not in fixed}
    weight = sum(rest.values())
    out = dict(fixed)
    if not rest:
        return out
    if weight <= 0:
        raise ValueError("the shares add up to nothing")
    exact = {q: total * w / weight for q, w in rest.items()}
    got = {q: int(x) for q, x in exact.items()}
    by_remainder = sorted(rest, key=lambda q: (got[q] - exact[q], q))
    for q in by_remainder[: max(0, total - sum(got.values()))]:
        got[q] += 1
    out.update({q: max(1, n) for q, n in got.items()})
    return out


def centre_queues(
    seats: Mapping[str, int], *, wrapuptime: float = 10.0, first_seat: int = 8001
) -> tuple[tuple[QueueConfig, ...], tuple[MemberConfig, ...]]:
    """Each centre of the "1 + 7" platform as its own queue with its own seats (``seats``:
    queue -> seats), numbered from ``first_seat`` in that order. No seat is in two queues:
    moving callers between the centres is the IVR's overflow (``config/overflow.yaml``)."""
    queues = tuple(QueueConfig(q, wrapuptime=wrapuptime) for q in seats)
    mems: list[MemberConfig] = []
    ext = first_seat
    for q, n in seats.items():
        for _ in range(n):
            mems.append(MemberConfig.seat(q, ext))
            ext += 1
    return queues, tuple(mems)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """The one configuration of the embedded PBX, with the one set of defaults: the
    ``HOTLINE_SIM_*`` settings map onto it (unset ones keep these), ``hotline serve`` and
    ``hotline simulate`` build it, and :class:`~pbx.simulator.core.PbxCore` reads it. Times
    are virtual seconds unless said otherwise.
    """

    seats: int = 150
    queue: str = "hotline"
    username: str = "hotline"
    secret: str | None = None  # None: a random one (see Simulator.secret)
    ring_time_s: float = 2.0  # a seat answers this long after it starts ringing
    wrapup_s: float = 10.0  # the queue's wrapuptime
    speed: float = 1.0  # virtual seconds per real second: real time, as a real Asterisk
    seed: int = 1
    strategy: str = "rrmemory"
    member_timeout_s: float = 15.0  # queue "timeout": ring a member at most this long
    retry_s: float = 1.0  # queue "retry"
    auth_fail_delay_s: float = 1.0  # REAL seconds before "Authentication failed"
    service_level_s: int = 20
    epoch: float | None = None  # virtual time at start; None = the wall clock
    first_seat: int = 8001
    max_write_buffer: int = 64 * 1024 * 1024  # bytes queued for one AMI reader before cut-off
    # Several queues (each with its own settings) and their static members (those a
    # queues.conf names). Empty: the simple form, one queue ``queue`` (settings above). The
    # ``seats`` operator seats from ``first_seat`` are dynamic members of ``queue``.
    queues: tuple[QueueConfig, ...] = ()
    members: tuple[MemberConfig, ...] = ()
    # True: the seats are members from the start, as Asterisk restores the dynamic members it
    # persisted (queue_persistent_members); False: they are only extensions until an operator
    # logs in with QueueAdd (hotline serve/simulate log them in through the AMI gateway).
    seats_logged_in: bool = True
    varset: str = "some"  # VarSet volume: "none", "some" (the useful ones) or "all"
    joinempty: str = "yes"  # simple form only
    leavewhenempty: str = "no"  # simple form only
    recheck_s: float = 1.0  # app_queue's 1 s recheck of waiting callers; 0 = ideal queue
    # Virtual seconds a caller spends in the IVR at the least (greeting, language, main menu),
    # with an IVR step; 0 = the FastAGI session's real duration.
    ivr_time_s: float = 20.0
    # Virtual seconds of the satisfaction survey after a call the operator ended (with a
    # survey step: the caller stays on for it, then hangs up); 0 = the session's duration.
    survey_time_s: float = 10.0
    # Whether ``hotline serve``/``simulate`` put every simulated caller through our IVR over
    # FastAGI before the queue (and the survey after); the PBX runs the steps it is given.
    ivr: bool = True
    patience_in_queue: bool = False  # patience runs from queue join, not from call start
    # queues.conf ``[general] log-caller-id-name``: the queue_log's ENTERQUEUE carries the
    # caller's name in data4 (off by default, as in Asterisk).
    log_caller_id_name: bool = False
    # asterisk.conf ``systemname``: set, every Uniqueid (and Linkedid) is
    # ``<systemname>-<epoch>.<n>`` as Asterisk 20 makes it; "" keeps ``<epoch>.<n>``.
    systemname: str = ""

    @classmethod
    def from_queues_conf(cls, path: str, **kw: object) -> SimulatorConfig:
        """Queues and members from a queues.conf file (see :func:`load_queues_conf`)."""
        queues, members = load_queues_conf(path)
        general = load_queues_general(path)
        kw.setdefault("log_caller_id_name", general.get("log-caller-id-name", "") in _TRUE)
        kw.setdefault("seats", 0)
        if queues and "queue" not in kw:
            kw["queue"] = queues[0].name
        return cls(queues=queues, members=members, **kw)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.varset not in VARSET_LEVELS:
            raise ValueError(f"varset must be one of {VARSET_LEVELS}")
        for q in self.queues:
            if q.strategy not in STRATEGIES:
                raise ValueError(f"queue {q.name}: strategy {q.strategy!r} unknown")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r} unknown; known: {sorted(STRATEGIES)}")
        if self.seats < 0:
            raise ValueError("seats must be >= 0")
        if self.speed <= 0:
            raise ValueError("speed must be > 0")
