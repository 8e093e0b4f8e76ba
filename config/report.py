"""The monthly report's rules (``config/report.yaml``), as data: the acceptance limit, the
targets, and the efficiency index's weights and penalties (the formula is
:func:`metrics.kpi.efficiency_index`). :func:`load_report_rules` reads and checks the file;
every problem names the file, the line and the fix (:class:`config.yamlfile.ConfigError`),
and ``hotline config check`` lists them (:func:`check_report_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.yamlfile import (
    Problem,
    YamlDoc,
    check_optional_file,
    load_optional_file,
)

__all__ = [
    "CITY_TARGETS",
    "FILE_NAME",
    "PENALISED",
    "RATES",
    "UNITS",
    "ReportRules",
    "check_report_rules",
    "load_report_rules",
]

FILE_NAME = "report.yaml"
#: The units of a limit on the working clock (tickets.deadlines.Unit).
UNITS = ("working_days", "working_hours")
#: The rates the efficiency index weighs (metrics.kpi.DepartmentKpi's properties).
RATES = ("timely_acceptance", "completion_on_time", "satisfaction", "callback")
#: The per-thousand figures it takes points off for.
PENALISED = ("late", "missed", "erroneous")
_TARGETS = (*RATES, "answer_rate", *(f"{p}_per_thousand" for p in PENALISED))


#: The city's targets (DOMAIN.md), what a folder without report.yaml is held to.
CITY_TARGETS = {
    "timely_acceptance": 1.0,
    "completion_on_time": 0.95,
    "satisfaction": 0.90,
    "callback": 1.0,
    "answer_rate": 0.95,
    "late_per_thousand": 1.0,
    "missed_per_thousand": 1.0,
    "erroneous_per_thousand": 1.0,
}


@dataclass(frozen=True, slots=True)
class ReportRules:
    #: How long a department has to answer a dispatch: (amount, unit), the unit one of
    #: :data:`UNITS` (``tickets.deadlines.Unit``'s values; config imports nothing above it).
    acceptance_limit: tuple[int, str] = (1, "working_days")
    #: Rates as fractions (``timely_acceptance``...), per-thousand figures as ‰.
    targets: dict[str, float] = field(default_factory=lambda: dict(CITY_TARGETS))
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "timely_acceptance": 20.0,
            "completion_on_time": 40.0,
            "satisfaction": 30.0,
            "callback": 10.0,
        }
    )
    penalties: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PENALISED, 0.5))
    min_dispatched_to_rank: int = 1


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _numbers(
    doc: YamlDoc, path: list[str], names: tuple[str, ...], problems: list[Problem], hint: str
) -> dict[str, float]:
    raw = doc.data
    for key in path:
        raw = raw.get(key) if isinstance(raw, dict) else None
    where = ".".join(path)
    if not isinstance(raw, dict):
        problems.append(Problem(doc.file, doc.line(path), f"{where}: not a mapping", hint))
        return {}
    out: dict[str, float] = {}
    for key in sorted(map(str, set(raw) - set(names))):
        problems.append(
            Problem(
                doc.file,
                doc.line([*path, key]),
                f"{where}: unknown key {key!r}",
                f"keep {', '.join(names)}",
            )
        )
    for name in names:
        v = _number(raw.get(name))
        if v is None or v < 0:
            problems.append(
                Problem(
                    doc.file,
                    doc.line([*path, name]),
                    f"{where}.{name}: must be a number >= 0, not {raw.get(name)!r}",
                    hint,
                )
            )
            continue
        out[name] = v
    return out


def _limit(doc: YamlDoc, problems: list[Problem]) -> tuple[int, str] | None:
    raw = doc.data.get("acceptance_limit")
    amount = raw.get("amount") if isinstance(raw, dict) else None
    unit = raw.get("unit") if isinstance(raw, dict) else None
    units = list(UNITS)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1 or unit not in units:
        problems.append(
            Problem(
                doc.file,
                doc.line(["acceptance_limit"]),
                f"acceptance_limit: {raw!r} is not a whole amount >= 1 in {' or '.join(units)}",
                "write acceptance_limit: {amount: 1, unit: working_days}",
            )
        )
        return None
    return amount, str(unit)


def _parse(doc: YamlDoc) -> tuple[ReportRules | None, list[Problem]]:
    problems = doc.twice_written()
    if not isinstance(doc.data, dict):
        return None, [*problems, Problem(doc.file, 1, "not a mapping", "see the shipped file")]
    if doc.data.get("version") != 1:
        problems.append(
            Problem(doc.file, doc.line(["version"]), "version must be 1", "write version: 1")
        )
    limit = _limit(doc, problems)
    targets = _numbers(doc, ["targets"], _TARGETS, problems, "give each target, e.g. 0.95")
    weights = _numbers(
        doc, ["efficiency_index", "weights"], RATES, problems, "give each weight, e.g. 20"
    )
    if weights and len(weights) == len(RATES) and not sum(weights.values()) > 0:
        problems.append(
            Problem(
                doc.file,
                doc.line(["efficiency_index", "weights"]),
                "efficiency_index.weights: all zero, the index would mean nothing",
                "give at least one weight above 0",
            )
        )
    penalties = _numbers(
        doc,
        ["efficiency_index", "penalties_per_thousand"],
        PENALISED,
        problems,
        "give the points taken off per 1‰, e.g. 0.5",
    )
    ranked = doc.data.get("min_dispatched_to_rank", 1)
    if isinstance(ranked, bool) or not isinstance(ranked, int) or ranked < 0:
        problems.append(
            Problem(
                doc.file,
                doc.line(["min_dispatched_to_rank"]),
                f"min_dispatched_to_rank: a whole number >= 0, not {ranked!r}",
                "write min_dispatched_to_rank: 1",
            )
        )
    if problems or limit is None:
        return None, problems
    return ReportRules(limit, targets, weights, penalties, int(ranked)), problems


def check_report_rules(config_dir: Path | str) -> list[Problem]:
    """Every problem of ``report.yaml`` in ``config_dir`` (none there: a warning, the
    defaults of :class:`ReportRules` apply)."""
    return check_optional_file(
        config_dir,
        FILE_NAME,
        _parse,
        "not found: the monthly report uses the defaults (the city's targets)",
        "copy config/report.yaml here to set the weights and targets",
    )


def load_report_rules(config_dir: Path | str) -> ReportRules:
    """The report's rules (the defaults without a ``report.yaml``); raises
    :class:`ConfigError` naming each problem."""
    return load_optional_file(config_dir, FILE_NAME, _parse, ReportRules())
