"""The IVR menus as data: ``config/ivr.yaml`` (and ``config/sounds.yaml``), loaded, validated
and checked, with every problem naming the file, the line and the fix.

:func:`load_menus` reads and validates (pydantic) and raises :class:`ConfigError` with all
problems; :func:`check_config` returns the problems (errors and warnings) for
``hotline config check``. PyYAML's composer keeps the position of every node, which is how
a problem found after parsing (a digit used twice, an unreachable node) still has its line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml

__all__ = [
    "DISTRICT_QUEUE",
    "ConfigError",
    "Menus",
    "Node",
    "Option",
    "Problem",
    "Prompt",
    "check_config",
    "district_for",
    "is_open",
    "is_workday",
    "load_menus",
]

log = logging.getLogger(__name__)

IVR_FILE = "ivr.yaml"
SOUNDS_FILE = "sounds.yaml"
#: Keys an option may use. Not ``#``: GET DATA takes it as the end of input.
DIGITS = frozenset("0123456789*")
#: In an option's ``queue``: the queue of the caller's district (chosen, or by number).
DISTRICT_QUEUE = "@district"
ACTIONS = (
    "set_language",
    "set_district",
    "ticket_status",
    "open_ticket_status",
    "hangup",
    "repeat",
)


# -- the model ------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Model):
    sound: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_./-]+$")
    text: str = Field(min_length=1)
    text_en: str | None = None


class Option(_Model):
    """What one key does: ``goto`` a node, ``queue`` (with skill, kind and priority), or an
    ``action`` (with its ``language``/``district`` and ``next`` node)."""

    goto: str | None = None
    queue: str | None = None
    skill: str = "general"
    kind: str = "consultation"
    priority: int = Field(default=0, ge=-10, le=100)
    action: Literal[ACTIONS] | None = None  # type: ignore[valid-type]
    language: str | None = None
    district: str | None = None
    next: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Option:
        targets = [n for n in ("goto", "queue", "action") if getattr(self, n) is not None]
        if len(targets) != 1:
            raise ValueError(
                "give exactly one of goto (a node), queue (a queue name) or action, "
                f"not {', '.join(targets) or 'none'}"
            )
        if self.action == "set_language" and (not self.language or not self.next):
            raise ValueError("action set_language needs language and next")
        if self.action == "set_district" and (not self.district or not self.next):
            raise ValueError("action set_district needs district and next")
        return self


class Node(_Model):
    prompt: Prompt
    options: dict[str, Option]
    fallback: Option | None = None  # after the retries; default: the operator
    timeout_ms: int | None = Field(default=None, ge=500, le=60000)
    retries: int | None = Field(default=None, ge=0, le=9)

    @field_validator("options", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out = {}
            for key, opt in v.items():
                k = str(key)
                if k not in DIGITS:
                    raise ValueError(
                        f"option key {k!r} is not one key: use 0-9 or * (# ends the input)"
                    )
                out[k] = opt
            return out
        return v


class Timeouts(_Model):
    digit_ms: int = Field(default=5000, ge=500, le=60000)
    retries: int = Field(default=2, ge=0, le=9)
    ticket_digits_ms: int = Field(default=8000, ge=500, le=60000)


class QueueDef(_Model):
    always_open: bool = False


class District(_Model):
    name: str
    name_en: str | None = None
    queue: str
    prefixes: list[str] = []


class Span(_Model):
    open: time
    close: time


class Hours(_Model):
    utc_offset_hours: float = 8
    workday: Span | None = None
    restday: Span | None = None
    closed_node: str | None = None


class Language(_Model):
    name: str


class SelfService(_Model):
    open_ticket_node: str | None = None
    after_lookup_node: str
    open_ticket_priority: int = Field(default=5, ge=0, le=100)
    max_ticket_digits: int = Field(default=12, ge=8, le=20)


class Announcements(_Model):
    leave_digit: str = Field(default="9", pattern=r"^[0-9*#]$")
    hint: Prompt
    wait_ms: int = Field(default=3000, ge=0, le=30000)


class SystemSounds(_Model):
    invalid: Prompt
    silence: Prompt
    goodbye: Prompt
    transfer: Prompt
    enter_ticket: Prompt
    ticket_invalid: Prompt
    ticket_not_found: Prompt
    ticket_number_is: Prompt
    no_caller_id: Prompt
    survey_question: Prompt
    survey_thanks: Prompt


class StatusSounds(_Model):
    other: Prompt
    by_status: dict[str, Prompt] = {}

    @model_validator(mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, dict) and "by_status" not in v:
            rest = {k: p for k, p in v.items() if k != "other"}
            return {"other": v.get("other"), "by_status": rest}
        return v

    def for_status(self, status: str) -> Prompt:
        return self.by_status.get(status, self.other)


class Menus(_Model):
    version: Literal[1] = 1
    start: str
    operator: Option
    timeouts: Timeouts = Timeouts()
    queues: dict[str, QueueDef]
    districts: dict[str, District]
    hours: Hours = Hours()
    languages: dict[str, Language]
    self_service: SelfService
    announcements: Announcements
    system_sounds: SystemSounds
    ticket_status_sounds: StatusSounds
    nodes: dict[str, Node]

    @field_validator("operator")
    @classmethod
    def _operator_is_queue(cls, v: Option) -> Option:
        if v.queue is None or v.queue == DISTRICT_QUEUE:
            raise ValueError("operator must be a queue: {queue: hotline, skill: general}")
        return v

    def prompts(self) -> Iterable[tuple[tuple[str, ...], Prompt]]:
        """Every prompt with its path in the file (for the sound check)."""
        for name, node in self.nodes.items():
            yield ("nodes", name, "prompt"), node.prompt
        yield ("announcements", "hint"), self.announcements.hint
        for name in SystemSounds.model_fields:
            yield ("system_sounds", name), getattr(self.system_sounds, name)
        yield ("ticket_status_sounds", "other"), self.ticket_status_sounds.other
        for status, p in self.ticket_status_sounds.by_status.items():
            yield ("ticket_status_sounds", status), p

    def queue_for(self, option: Option, district: str | None) -> str:
        """The queue an option sends to (``@district``: the district's, else the city's)."""
        assert option.queue is not None
        if option.queue != DISTRICT_QUEUE:
            return option.queue
        d = self.districts.get(district or "") or self.districts.get("city")
        return d.queue if d else self.operator.queue or "hotline"

    def timeout_ms(self, node: Node) -> int:
        return node.timeout_ms or self.timeouts.digit_ms

    def retries(self, node: Node) -> int:
        return node.retries if node.retries is not None else self.timeouts.retries


# -- problems -------------------------------------------------------------------------------
def _read_yaml(path: Path, shown: str) -> tuple[YamlDoc | None, list[Problem]]:
    try:
        return read_yaml(path, shown), []
    except ConfigError as e:
        return None, e.problems


def _dup_problems(doc: YamlDoc) -> list[Problem]:
    out = []
    for path, first, again in doc.dups:
        if len(path) >= 4 and path[0] == "nodes" and path[2] == "options":
            msg = f"key {path[-1]!r} is used twice in node {path[1]!r} (lines {first} and {again})"
            fix = "give each key one meaning: renumber one of the two options"
        else:
            msg = (
                f"{'.'.join(path)} is given twice (lines {first} and {again}); YAML keeps the last"
            )
            fix = "remove or rename one of them"
        out.append(Problem(doc.file, again, msg, fix))
    return out


def _validation_problems(doc: YamlDoc, err: ValidationError) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"] if not str(x).startswith("function-")]
        # pydantic puts union/literal tags in loc; keep the parts that are real keys
        where = ".".join(loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        out.append(Problem(doc.file, doc.line(loc), f"{where}: {msg}", _fix_for(e["type"], loc)))
    return out


def _fix_for(kind: str, loc: list[str]) -> str:
    if kind == "missing":
        return f"add {loc[-1] if loc else 'the field'}"
    if kind == "extra_forbidden":
        return f"remove {loc[-1]!r} or correct its spelling"
    if kind == "literal_error" and loc and loc[-1] == "action":
        return f"use one of: {', '.join(ACTIONS)}"
    return "correct the value as the message says"


def _load(config_dir: Path) -> tuple[Menus | None, YamlDoc | None, set[str] | None, list[Problem]]:
    config_dir = Path(config_dir)
    problems: list[Problem] = []
    ivr_doc, ps = _read_yaml(config_dir / IVR_FILE, str(config_dir / IVR_FILE))
    problems += ps
    snd_doc, ps = _read_yaml(config_dir / SOUNDS_FILE, str(config_dir / SOUNDS_FILE))
    problems += ps
    sounds: set[str] | None = None
    if snd_doc is not None:
        problems += _dup_problems(snd_doc)
        raw = snd_doc.data.get("sounds") if isinstance(snd_doc.data, dict) else None
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            problems.append(
                Problem(
                    snd_doc.file,
                    snd_doc.line(["sounds"]),
                    "no list of sound names",
                    "write `sounds:` followed by `- name` lines",
                )
            )
        else:
            sounds = set(raw)
    menus = None
    if ivr_doc is not None:
        problems += _dup_problems(ivr_doc)
        if not isinstance(ivr_doc.data, dict):
            problems.append(Problem(ivr_doc.file, 1, "not a mapping", "start with `version: 1`"))
        else:
            try:
                menus = Menus.model_validate(ivr_doc.data)
            except ValidationError as e:
                problems += _validation_problems(ivr_doc, e)
    return menus, ivr_doc, sounds, problems


def load_menus(config_dir: Path | str) -> Menus:
    """The menus of ``config_dir``; :class:`ConfigError` (listing every error) when invalid."""
    menus, doc, sounds, problems = _load(Path(config_dir))
    if menus is not None and doc is not None:
        problems += _semantic_problems(menus, doc, sounds)
    errors = [p for p in problems if p.severity == "error"]
    if errors or menus is None:
        raise ConfigError(errors or problems)
    return menus


def check_config(config_dir: Path | str) -> list[Problem]:
    """Every problem of the IVR configuration in ``config_dir``: errors, then warnings."""
    menus, doc, sounds, problems = _load(Path(config_dir))
    if menus is not None and doc is not None:
        problems += _semantic_problems(menus, doc, sounds)
        problems += _calendar_warnings(doc)
    return sorted(problems, key=lambda p: (p.severity != "error", p.file, p.line or 0))


# -- checks beyond the schema ---------------------------------------------------------------
def _edges(menus: Menus, option: Option) -> list[str]:
    """Nodes an option leads to."""
    out = []
    if option.goto:
        out.append(option.goto)
    if option.next:
        out.append(option.next)
    if option.action in ("ticket_status", "open_ticket_status"):
        out.append(menus.self_service.after_lookup_node)
    return out


def _is_exit(option: Option) -> bool:
    return option.queue is not None or option.action in ("hangup",)


def _semantic_problems(menus: Menus, doc: YamlDoc, sounds: set[str] | None) -> list[Problem]:
    f = doc.file
    out: list[Problem] = []
    nodes = menus.nodes

    def node_ref(name: str | None, path: list[str], what: str) -> None:
        if name is not None and name not in nodes:
            out.append(
                Problem(
                    f,
                    doc.line(path),
                    f"{what} {name!r} is not a node",
                    f"use one of: {', '.join(sorted(nodes))}, or add node {name!r}",
                )
            )

    node_ref(menus.start, ["start"], "start")
    node_ref(menus.hours.closed_node, ["hours", "closed_node"], "closed_node")
    node_ref(
        menus.self_service.open_ticket_node,
        ["self_service", "open_ticket_node"],
        "open_ticket_node",
    )
    node_ref(
        menus.self_service.after_lookup_node,
        ["self_service", "after_lookup_node"],
        "after_lookup_node",
    )

    def options_of(name: str, node: Node) -> Iterable[tuple[list[str], Option]]:
        for key, opt in node.options.items():
            yield ["nodes", name, "options", key], opt
        if node.fallback is not None:
            yield ["nodes", name, "fallback"], node.fallback

    all_options: list[tuple[list[str], Option]] = [(["operator"], menus.operator)]
    for name, node in nodes.items():
        all_options += list(options_of(name, node))

    for path, opt in all_options:
        node_ref(opt.goto, [*path, "goto"], "goto")
        node_ref(opt.next, [*path, "next"], "next")
        if opt.queue is not None and opt.queue != DISTRICT_QUEUE and opt.queue not in menus.queues:
            out.append(
                Problem(
                    f,
                    doc.line([*path, "queue"]),
                    f"queue {opt.queue!r} does not exist",
                    f"use one of: {', '.join(sorted(menus.queues))}, {DISTRICT_QUEUE}; "
                    "or add it under `queues:` (and to queues.conf)",
                )
            )
        if opt.language is not None and opt.language not in menus.languages:
            out.append(
                Problem(
                    f,
                    doc.line([*path, "language"]),
                    f"language {opt.language!r} is not configured",
                    f"use one of: {', '.join(menus.languages)}",
                )
            )
        if opt.district is not None and opt.district not in menus.districts:
            out.append(
                Problem(
                    f,
                    doc.line([*path, "district"]),
                    f"district {opt.district!r} does not exist",
                    f"use one of: {', '.join(menus.districts)}",
                )
            )
    for name, d in menus.districts.items():
        if d.queue not in menus.queues:
            out.append(
                Problem(
                    f,
                    doc.line(["districts", name, "queue"]),
                    f"district {name!r} sends to queue {d.queue!r}, which does not exist",
                    "add the queue under `queues:` or correct the name",
                )
            )
    if "city" not in menus.districts:
        out.append(
            Problem(
                f,
                doc.line(["districts"]),
                "no district `city` (the centre)",
                "add `city: {name: 市中心, queue: hotline}`: calls of no district go there",
            )
        )
    prefix_owner: dict[str, str] = {}
    for name, d in menus.districts.items():
        for i, p in enumerate(d.prefixes):
            if not p.isdigit():
                out.append(
                    Problem(
                        f,
                        doc.line(["districts", name, "prefixes", i]),
                        f"prefix {p!r} is not digits",
                        "write the prefix as digits",
                    )
                )
            elif p in prefix_owner:
                out.append(
                    Problem(
                        f,
                        doc.line(["districts", name, "prefixes", i]),
                        f"prefix {p} belongs to both {prefix_owner[p]} and {name}",
                        "keep it in one district",
                    )
                )
            else:
                prefix_owner[p] = name

    # sounds
    if sounds is not None:
        for path, prompt in menus.prompts():
            if prompt.sound not in sounds:
                out.append(
                    Problem(
                        f,
                        doc.line([*path, "sound"]),
                        f"sound {prompt.sound!r} is not in {SOUNDS_FILE}",
                        f"install the recording and list it in {SOUNDS_FILE}, or correct the name",
                    )
                )

    # reachability
    roots = [
        menus.start,
        menus.hours.closed_node,
        menus.self_service.open_ticket_node,
        menus.self_service.after_lookup_node,
    ]
    roots += [o.goto or o.next for _, o in [(None, menus.operator)] if o.goto or o.next]
    reach = _reachable(menus, [r for r in roots if r in nodes])
    for name in nodes:
        if name not in reach:
            out.append(
                Problem(
                    f,
                    doc.line(["nodes", name]),
                    f"node {name!r} is unreachable: no option leads to it",
                    f"add an option with `goto: {name}`, or delete the node",
                )
            )

    # loops with no way out: from these nodes no key path ever reaches a queue or an exit
    escape = _can_escape(menus)
    for name in sorted(reach):
        if name in nodes and not escape.get(name, False):
            out.append(
                Problem(
                    f,
                    doc.line(["nodes", name, "options"]),
                    f"node {name!r} is in a loop with no way out: its keys lead only to "
                    "menus that never reach a queue or an end (callers leave only by "
                    "failing into the operator fallback)",
                    "add an option there with a `queue:` or `action: hangup`",
                )
            )

    # closed hours reach only queues staffed day and night
    closed = menus.hours.closed_node
    if closed in nodes:
        for qname, path in _queues_from(menus, closed):
            qs = [d.queue for d in menus.districts.values()] if qname == DISTRICT_QUEUE else [qname]
            bad = [q for q in qs if q in menus.queues and not menus.queues[q].always_open]
            if bad:
                out.append(
                    Problem(
                        f,
                        doc.line(path),
                        f"closed-hours menu {closed!r} reaches queue(s) "
                        f"{', '.join(bad)}, which are not open day and night",
                        "route it to a queue with `always_open: true`, or mark the queue so",
                    )
                )
    return out


def _reachable(menus: Menus, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        n = todo.pop()
        if n in seen or n not in menus.nodes:
            continue
        seen.add(n)
        node = menus.nodes[n]
        for opt in [*node.options.values(), *([node.fallback] if node.fallback else [])]:
            todo += _edges(menus, opt)
    return seen


def _can_escape(menus: Menus) -> dict[str, bool]:
    """For each node: can a caller reach a queue or an end by keys alone (no fallback)?"""
    ok = {n: any(_is_exit(o) for o in node.options.values()) for n, node in menus.nodes.items()}
    changed = True
    while changed:
        changed = False
        for n, node in menus.nodes.items():
            if ok[n]:
                continue
            if any(ok.get(m, False) for o in node.options.values() for m in _edges(menus, o)):
                ok[n] = changed = True
    return ok


def _queues_from(menus: Menus, start: str) -> list[tuple[str, list[str]]]:
    out = []
    for n in sorted(_reachable(menus, [start])):
        node = menus.nodes[n]
        for key, opt in node.options.items():
            if opt.queue:
                out.append((opt.queue, ["nodes", n, "options", key, "queue"]))
        if node.fallback and node.fallback.queue:
            out.append((node.fallback.queue, ["nodes", n, "fallback", "queue"]))
    return out


def _calendar_warnings(doc: YamlDoc) -> list[Problem]:
    last = _calendar_last_year()
    if last is None:
        return [
            Problem(
                doc.file,
                doc.line(["hours"]),
                "package chinesecalendar is not installed: working days are Monday to Friday",
                "pip install chinesecalendar",
                "warning",
            )
        ]
    this_year = datetime.now(timezone(timedelta(hours=8))).year
    if last < this_year + 1:
        return [
            Problem(
                doc.file,
                doc.line(["hours"]),
                f"chinesecalendar knows holidays up to "
                f"{last} only; later days count Monday to Friday as working days",
                "upgrade chinesecalendar when the State Council publishes the next year's holidays",
                "warning",
            )
        ]
    return []


# -- time and place -------------------------------------------------------------------------
def _calendar_last_year() -> int | None:
    try:
        from chinese_calendar import constants
    except ImportError:
        return None
    return max(d.year for d in constants.holidays)


def is_workday(day: date) -> bool:
    """A working day by the Chinese calendar (holidays off, make-up weekend days on); for
    years the calendar does not know yet, Monday to Friday."""
    try:
        import chinese_calendar
    except ImportError:
        return day.weekday() < 5
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def is_open(menus: Menus, when: datetime) -> bool:
    """True when ``when`` (aware) is inside the opening hours."""
    tz = timezone(timedelta(hours=menus.hours.utc_offset_hours))
    local = when.astimezone(tz)
    span = menus.hours.workday if is_workday(local.date()) else menus.hours.restday
    if menus.hours.workday is None and menus.hours.restday is None:
        return True  # no hours configured: always open
    if span is None:
        return False
    t = local.time().replace(tzinfo=None)
    if span.open <= span.close:
        return span.open <= t < span.close
    return t >= span.open or t < span.close  # a span across midnight


def normalize_number(number: str) -> str:
    """Digits only, without the country code 86 (``+86``, ``0086``)."""
    digits = "".join(c for c in number if c.isdigit())
    for cc in ("0086", "86"):
        if digits.startswith(cc) and len(digits) - len(cc) >= 10:
            return digits[len(cc) :]
    return digits


def district_for(menus: Menus, number: str) -> str | None:
    """The district whose prefix (longest match) the calling number starts with."""
    n = normalize_number(number)
    if not n:
        return None
    best, best_len = None, 0
    for name, d in menus.districts.items():
        for p in d.prefixes:
            if n.startswith(p) and len(p) > best_len:
                best, best_len = name, len(p)
    return best
