"""The IVR menus as data: ``config/ivr.yaml`` (and ``config/sounds.yaml``), loaded, validated
and checked, with every problem naming the file, the line and the fix.

:func:`load_menus` reads and validates (pydantic) and raises :class:`ConfigError` with all
problems; :func:`check_config` returns the problems (errors and warnings) for
``hotline config check``. PyYAML's composer keeps the position of every node, which is how
a problem found after parsing (a digit used twice, an unreachable node) still has its line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from config.calendar import is_workday
from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml
from ivr.districts import district_for
from ivr.hours import is_open
from ivr.menu_checks import calendar_warnings, semantic_problems
from ivr.menu_model import (
    ACTIONS,
    DISTRICT_QUEUE,
    IVR_FILE,
    SOUNDS_FILE,
    Menus,
    Node,
    Option,
    Prompt,
)

# The names callers of this module have always imported from it.
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
        problems += semantic_problems(menus, doc, sounds)
    errors = [p for p in problems if p.severity == "error"]
    if errors or menus is None:
        raise ConfigError(errors or problems)
    return menus


def check_config(config_dir: Path | str) -> list[Problem]:
    """Every problem of the IVR configuration in ``config_dir``: errors, then warnings."""
    menus, doc, sounds, problems = _load(Path(config_dir))
    if menus is not None and doc is not None:
        problems += semantic_problems(menus, doc, sounds)
        problems += calendar_warnings(doc)
    return sorted(problems, key=lambda p: (p.severity != "error", p.file, p.line or 0))
