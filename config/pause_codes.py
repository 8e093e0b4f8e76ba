"""The pause reasons of the operators' seats (``config/pause_codes.yaml``), as data.

A seat is paused *for* something: lunch, training, a meeting, the work after a call. The code
goes to Asterisk as the ``QueuePause`` reason and into our own store (Asterisk forgets it on a
restart; we put it back). Each code has a time limit, after which the pause shows overdue, and
says whether the time counts as work; an ``auto_ready`` code (the work after a call) ends
itself at its limit: the seat is made ready again. :func:`load_pause_codes` reads and checks
the file; every problem names the file, the line and the fix
(:class:`config.yamlfile.ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml

__all__ = ["FILE_NAME", "PauseCode", "PauseCodes", "check_pause_codes", "load_pause_codes"]

FILE_NAME = "pause_codes.yaml"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True, slots=True)
class PauseCode:
    code: str
    label: str
    limit_s: float
    counts_as_working_time: bool
    #: Set by the backend only (the auto-pause after unanswered rings): not an operator's pick.
    system: bool = False
    #: The seat is made ready again when the limit passes (the wrap-up after a call: up to a
    #: limit); otherwise a pause past its limit only shows overdue.
    auto_ready: bool = False


@dataclass(frozen=True, slots=True)
class PauseCodes:
    codes: dict[str, PauseCode]
    #: The code of the automatic pause after unanswered rings.
    auto_pause_code: str
    #: The code a supervisor's forced pause has when they give none.
    supervisor_code: str

    def get(self, code: str) -> PauseCode | None:
        return self.codes.get(code)


def _codes(doc: YamlDoc, problems: list[Problem]) -> dict[str, PauseCode]:
    shown = doc.file
    raw = doc.data.get("codes")
    if not isinstance(raw, dict) or not raw:
        problems.append(
            Problem(shown, doc.line(["codes"]), "no `codes` mapping", "list the pause codes")
        )
        return {}
    out: dict[str, PauseCode] = {}
    for code, item in raw.items():
        where = doc.line(["codes", code])
        code = str(code)
        if not _CODE.match(code):
            problems.append(
                Problem(
                    shown,
                    where,
                    f"pause code {code!r} is not a lower-case name",
                    "use a-z, 0-9 and _ (at most 32), starting with a letter, e.g. lunch",
                )
            )
            continue
        if not isinstance(item, dict):
            problems.append(
                Problem(shown, where, f"code {code}: not a mapping", "write {label: ..., ...}")
            )
            continue
        unknown = set(item) - {
            "label",
            "limit_minutes",
            "counts_as_working_time",
            "system",
            "auto_ready",
        }
        for key in sorted(map(str, unknown)):
            problems.append(
                Problem(
                    shown,
                    doc.line(["codes", code, key]),
                    f"code {code}: unknown key {key!r}",
                    "keep label, limit_minutes, counts_as_working_time, system, auto_ready",
                )
            )
        label = item.get("label")
        limit = item.get("limit_minutes")
        working = item.get("counts_as_working_time")
        system = item.get("system", False)
        auto_ready = item.get("auto_ready", False)
        ok = True
        if not isinstance(label, str) or not label.strip():
            problems.append(
                Problem(shown, where, f"code {code}: no label", "give label: 午餐 (what it shows)")
            )
            ok = False
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit <= 1440:
            problems.append(
                Problem(
                    shown,
                    doc.line(["codes", code, "limit_minutes"]),
                    f"code {code}: limit_minutes must be a number of minutes in (0, 1440]",
                    "give limit_minutes: 60",
                )
            )
            ok = False
        for key, value, fix in (
            ("counts_as_working_time", working, "give counts_as_working_time: true or false"),
            ("system", system, "give system: true, or leave it out"),
            ("auto_ready", auto_ready, "give auto_ready: true, or leave it out"),
        ):
            if not isinstance(value, bool):
                problems.append(
                    Problem(
                        shown,
                        doc.line(["codes", code, key]),
                        f"code {code}: {key} must be true or false",
                        fix,
                    )
                )
                ok = False
        if ok:
            assert isinstance(label, str) and isinstance(limit, int | float)
            out[code] = PauseCode(
                code,
                label.strip(),
                float(limit) * 60.0,
                bool(working),
                bool(system),
                bool(auto_ready),
            )
    return out


def _named_code(
    doc: YamlDoc, key: str, codes: dict[str, PauseCode], problems: list[Problem]
) -> str:
    value = doc.data.get(key)
    if not isinstance(value, str) or value not in codes:
        problems.append(
            Problem(
                doc.file,
                doc.line([key]),
                f"{key}: {value!r} is not one of the codes",
                f"name a code of `codes` ({', '.join(sorted(codes)) or 'none yet'})",
            )
        )
        return ""
    return value


def _parse(doc: YamlDoc) -> tuple[PauseCodes | None, list[Problem]]:
    problems: list[Problem] = doc.twice_written()
    data: Any = doc.data
    if not isinstance(data, dict):
        return None, [*problems, Problem(doc.file, 1, "not a mapping", "see the shipped file")]
    if data.get("version") != 1:
        problems.append(
            Problem(doc.file, doc.line(["version"]), "version must be 1", "write version: 1")
        )
    codes = _codes(doc, problems)
    auto = _named_code(doc, "auto_pause_code", codes, problems)
    supervisor = _named_code(doc, "supervisor_code", codes, problems)
    if problems:
        return None, problems
    return PauseCodes(codes, auto, supervisor), problems


def check_pause_codes(config_dir: Path | str) -> list[Problem]:
    """Every problem of ``pause_codes.yaml`` in ``config_dir``."""
    try:
        doc = read_yaml(Path(config_dir) / FILE_NAME, FILE_NAME)
    except ConfigError as e:
        return e.problems
    return _parse(doc)[1]


def load_pause_codes(config_dir: Path | str) -> PauseCodes:
    """The pause codes; raises :class:`ConfigError` naming each problem."""
    doc = read_yaml(Path(config_dir) / FILE_NAME, FILE_NAME)
    codes, problems = _parse(doc)
    if codes is None:
        raise ConfigError(problems)
    return codes
