"""The overflow rules between centres (``config/overflow.yaml``): which queue's new callers go
to which other queue, on which live conditions, at which hours.

Rules are data, not code: :func:`load_overflow` reads and checks the file (pydantic for the
shapes, then the rules as a whole: a rule from a queue to itself, two rules of one queue at the
same minute); :func:`check_overflow` returns every problem with the file's name, the line and
the fix, and with ``known_queues`` (those of ``config/ivr.yaml``) a queue that does not exist
is one too. The decision itself is :func:`routing.overflow.decide`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml

__all__ = [
    "FILE_NAME",
    "MINUTES_A_DAY",
    "OverflowRule",
    "OverflowRules",
    "check_overflow",
    "load_overflow",
    "parse_clock",
]

FILE_NAME = "overflow.yaml"
MINUTES_A_DAY = 24 * 60


def parse_clock(text: str) -> int:
    """``"08:30"`` -> 510 (minutes after midnight); ``"24:00"`` is the end of the day."""
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"{text!r} is not a time of day like 08:00")
    minute = int(hh) * 60 + int(mm)
    if int(mm) > 59 or minute > MINUTES_A_DAY:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return minute


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """New callers of ``from_queue`` go to ``to_queue`` when its live state says so.

    ``no_ready_seat``: when no seat of ``from_queue`` is ready; ``longest_wait_s``: when its
    longest wait is over this many seconds (None: not a condition); either is enough.
    ``target_ready``: only when ``to_queue`` has a ready seat. ``window``: the minutes of the
    day (hotline time) ``[start, end)`` the rule holds, ``end < start`` running past
    midnight; None: all day. ``line``: where the rule is written, for messages."""

    from_queue: str
    to_queue: str
    no_ready_seat: bool = False
    longest_wait_s: float | None = None
    target_ready: bool = True
    window: tuple[int, int] | None = None
    line: int | None = None

    def holds_at(self, minute: int) -> bool:
        """Whether the rule holds at ``minute`` after midnight (hotline time)."""
        if self.window is None:
            return True
        start, end = self.window
        minute %= MINUTES_A_DAY
        if start <= end:
            return start <= minute < end
        return minute >= start or minute < end

    def minutes(self) -> set[int]:
        return {m for m in range(MINUTES_A_DAY) if self.holds_at(m)}


@dataclass(frozen=True, slots=True)
class OverflowRules:
    rules: tuple[OverflowRule, ...] = ()

    @property
    def queues(self) -> frozenset[str]:
        """The queues some rule moves callers out of."""
        return frozenset(r.from_queue for r in self.rules)

    def rule_for(self, queue: str, minute: int) -> OverflowRule | None:
        """The rule of ``queue`` at ``minute`` after midnight (at most one holds)."""
        for r in self.rules:
            if r.from_queue == queue and r.holds_at(minute):
                return r
        return None


# -- the file's shapes -----------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _When(_Model):
    no_ready_seat: bool = False
    longest_wait_s: float | None = Field(default=None, gt=0)

    @field_validator("longest_wait_s")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a number of seconds")
        return v


class _Rule(_Model):
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    when: _When
    target_ready: bool = True
    hours: tuple[str, str] | None = None

    @field_validator("hours")
    @classmethod
    def _clock(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        if v is not None:
            start, end = (parse_clock(x) for x in v)
            if start % MINUTES_A_DAY == end % MINUTES_A_DAY:
                raise ValueError("the window is empty or the whole day: drop `hours` for all day")
        return v


class _File(_Model):
    version: Literal[1]
    rules: list[_Rule] = Field(default_factory=list)


_FIXES = {
    "missing": "add {field}",
    "extra_forbidden": "remove {field!r} or correct its spelling (from, to, when, "
    "target_ready, hours; under when: no_ready_seat, longest_wait_s)",
    "literal_error": "write version: 1",
    "greater_than": "give a number of seconds above 0",
    "bool_type": "write true or false",
    "tuple_type": 'write hours: ["08:00", "21:00"]',
    # YAML reads an unquoted 21:00 as the number 1260 (base 60)
    "string_type": 'quote the times: hours: ["08:00", "21:00"]',
}


def _shape_problems(doc: YamlDoc, err: ValidationError) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"]]
        where = ".".join(loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        fix = _FIXES.get(e["type"], "correct the value as the message says")
        field = loc[-1] if loc else "it"
        out.append(Problem(doc.file, doc.line(loc), f"{where}: {msg}", fix.format(field=field)))
    return out


def _rule(doc: YamlDoc, i: int, r: _Rule) -> OverflowRule:
    window = None
    if r.hours is not None:
        window = (parse_clock(r.hours[0]) % MINUTES_A_DAY, parse_clock(r.hours[1]) % MINUTES_A_DAY)
    return OverflowRule(
        r.from_,
        r.to,
        no_ready_seat=r.when.no_ready_seat,
        longest_wait_s=r.when.longest_wait_s,
        target_ready=r.target_ready,
        window=window,
        line=doc.line(["rules", str(i)]),
    )


def _parse(doc: YamlDoc) -> tuple[OverflowRules | None, list[Problem]]:
    """The rules (None when the file's shape is wrong) and every problem found."""
    problems = doc.twice_written()
    if not isinstance(doc.data, dict):
        return None, [*problems, Problem(doc.file, 1, "not a mapping", "start with version: 1")]
    try:
        parsed = _File.model_validate(doc.data)
    except ValidationError as e:
        return None, problems + _shape_problems(doc, e)
    rules = [_rule(doc, i, r) for i, r in enumerate(parsed.rules)]
    for i, r in enumerate(rules):
        if r.from_queue == r.to_queue:
            problems.append(
                Problem(
                    doc.file,
                    doc.line(["rules", str(i), "to"]),
                    f"rules.{i}: {r.from_queue} overflows into itself",
                    "name another queue under `to`",
                )
            )
        if not r.no_ready_seat and r.longest_wait_s is None:
            problems.append(
                Problem(
                    doc.file,
                    doc.line(["rules", str(i), "when"]),
                    f"rules.{i}: no condition: the rule would never move a caller",
                    "add no_ready_seat: true or longest_wait_s: N under `when`",
                )
            )
        for j in range(i):
            other = rules[j]
            if other.from_queue == r.from_queue and other.minutes() & r.minutes():
                problems.append(
                    Problem(
                        doc.file,
                        r.line,
                        f"rules.{i}: {r.from_queue} already has a rule at these hours "
                        f"(line {other.line})",
                        "give the two rules hours that do not overlap, or keep one",
                    )
                )
                break
    return OverflowRules(tuple(rules)), problems


def _read(config_dir: Path | str) -> YamlDoc:
    path = Path(config_dir) / FILE_NAME
    return read_yaml(path, str(path), create_hint=f" (see config/{FILE_NAME})")


def check_overflow(config_dir: Path | str, known_queues: set[str] | None = None) -> list[Problem]:
    """Every problem of ``overflow.yaml`` in ``config_dir`` (none when there is no such file:
    no overflow then); with ``known_queues`` a queue not among them is one too."""
    if not (Path(config_dir) / FILE_NAME).exists():
        return []
    try:
        doc = _read(config_dir)
    except ConfigError as e:
        return e.problems
    rules, problems = _parse(doc)
    if rules is not None and known_queues is not None:
        for i, r in enumerate(rules.rules):
            for key, queue in (("from", r.from_queue), ("to", r.to_queue)):
                if queue not in known_queues:
                    problems.append(
                        Problem(
                            doc.file,
                            doc.line(["rules", str(i), key]),
                            f"rules.{i}.{key}: {queue!r} is not a queue of ivr.yaml",
                            f"use one of {', '.join(sorted(known_queues))}",
                        )
                    )
    return problems


def load_overflow(config_dir: Path | str) -> OverflowRules:
    """The rules of ``config_dir`` (none without an ``overflow.yaml``); :class:`ConfigError`
    naming each problem."""
    if not (Path(config_dir) / FILE_NAME).exists():
        return OverflowRules()
    rules, problems = _parse(_read(config_dir))
    if rules is None or problems:
        raise ConfigError(problems)
    return rules
