"""The departments tickets go to and the catalogue of matters citizens ask about, as data.

The principle is "谁主管、谁负责": every matter (what a citizen asks for: a noisy building site,
unpaid wages, a pension) has one responsible department, a handling time limit in working
days, and, where the law gives one, a legal route (劳动仲裁, 行政复议, 诉讼...) the citizen
must be told about instead of an ordinary ticket. The city of the seed published over 7,000
such items from 33 departments; they change when duties do, so they are data, not code.

Two files in ``HOTLINE_CONFIG_DIR``:

* ``departments.yaml``: the departments by code (city bureaus, their sub-units, public
  utilities, the districts of the "1 + 7" platform and their streets), each with a Chinese
  name, a kind, a parent for a sub-unit or street, and the short names people say (aliases).
* ``matters.csv``: one matter a row, UTF-8, with the header line
  ``code,name,department,keywords,legal_route,limit_days``:

  ========== ==========================================================================
  code        unique, letters, digits and ``. _ -`` (at most 32), e.g. ``RS-003``
  name        the matter in Chinese, e.g. 拖欠工资
  department  the responsible department: its code in departments.yaml or its Chinese name
  keywords    words a citizen would use, separated by ``|`` (or 、 ; ；)
  legal_route blank (an ordinary ticket), or one of :class:`LegalRoute`, by its code
              (``labour_arbitration``) or its Chinese name (劳动仲裁)
  limit_days  the handling time limit in working days, a whole number from 1 to 365
  ========== ==========================================================================

  A full published list (7,000 rows) goes in the same file; :func:`read_matters` reads it with
  :mod:`csv` in a few tens of milliseconds.

Every problem names the file, the line and the fix (:class:`config.yamlfile.Problem`):
``hotline config check`` prints them all, :func:`load_catalogue` raises them together.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml

__all__ = [
    "COLUMNS",
    "DEPARTMENTS_FILE",
    "FLAGGED_ROUTES",
    "MATTERS_FILE",
    "Catalogue",
    "Department",
    "LegalRoute",
    "Matter",
    "check_catalogue",
    "load_catalogue",
    "read_matters",
]

DEPARTMENTS_FILE = "departments.yaml"
MATTERS_FILE = "matters.csv"
#: The columns of matters.csv, in this order.
COLUMNS = ("code", "name", "department", "keywords", "legal_route", "limit_days")
KINDS = ("bureau", "unit", "utility", "district", "street")
#: Kinds that belong to a parent department.
_CHILD_KINDS = ("unit", "street")
_DEPARTMENT_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_MATTER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_KEYWORD_SEPARATORS = re.compile(r"[|、;；]")
MAX_LIMIT_DAYS = 365


class LegalRoute(StrEnum):
    """The legal routes a matter may have instead of (or besides) an ordinary ticket."""

    PETITION = "petition"
    RECONSIDERATION = "reconsideration"
    ARBITRATION = "arbitration"
    LABOUR_ARBITRATION = "labour_arbitration"
    APPRAISAL = "appraisal"
    LABOUR_INSPECTION = "labour_inspection"
    LITIGATION = "litigation"

    @property
    def chinese(self) -> str:
        return _CHINESE[self]


_CHINESE = {
    LegalRoute.PETITION: "信访",
    LegalRoute.RECONSIDERATION: "行政复议",
    LegalRoute.ARBITRATION: "仲裁",
    LegalRoute.LABOUR_ARBITRATION: "劳动仲裁",
    LegalRoute.APPRAISAL: "技术鉴定",
    LegalRoute.LABOUR_INSPECTION: "劳动监察",
    LegalRoute.LITIGATION: "诉讼",
}
_ROUTE_BY_NAME = {r.value: r for r in LegalRoute} | {c: r for r, c in _CHINESE.items()}

#: Routes the citizen must be told about: a court or an arbitration body decides, not a
#: department answering a ticket.
FLAGGED_ROUTES = frozenset(
    {LegalRoute.LITIGATION, LegalRoute.ARBITRATION, LegalRoute.LABOUR_ARBITRATION}
)


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    kind: str
    parent: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Matter:
    code: str
    name: str
    #: The responsible department's code.
    department: str
    keywords: tuple[str, ...]
    legal_route: LegalRoute | None
    limit_days: int

    @property
    def flagged(self) -> bool:
        """The citizen should be told of the legal route (litigation or arbitration)."""
        return self.legal_route in FLAGGED_ROUTES


@dataclass(frozen=True, slots=True)
class Catalogue:
    departments: dict[str, Department]
    matters: dict[str, Matter]

    def department_of(self, matter: Matter) -> Department:
        return self.departments[matter.department]

    @classmethod
    def empty(cls) -> Catalogue:
        return cls({}, {})


# -- departments.yaml ---------------------------------------------------------------------
def _department(
    doc: YamlDoc, code: str, item: object, problems: list[Problem]
) -> Department | None:
    where = doc.line(["departments", code])

    def bad(message: str, fix: str, *key: str) -> None:
        problems.append(
            Problem(doc.file, doc.line(["departments", code, *key]) or where, message, fix)
        )

    if not _DEPARTMENT_CODE.match(code):
        bad(
            f"department code {code!r} is not lower case with dots",
            "use a-z, 0-9 and _, a dot before a sub-unit: hrss.inspection",
        )
        return None
    if not isinstance(item, dict):
        bad(f"department {code}: not a mapping", "write {name: 杭州市..., kind: bureau}")
        return None
    unknown = sorted(set(map(str, item)) - {"name", "kind", "parent", "aliases"})
    if unknown:
        bad(
            f"department {code}: unknown key(s) {', '.join(unknown)}",
            "keep name, kind, parent, aliases",
            unknown[0],
        )
    name, kind, parent = item.get("name"), item.get("kind"), item.get("parent")
    aliases = item.get("aliases") or []
    ok = True
    if not isinstance(name, str) or not name.strip():
        bad(f"department {code}: no name", "write its Chinese name: name: 杭州市民政局", "name")
        ok = False
    if kind not in KINDS:
        bad(
            f"department {code}: kind {kind!r} is not one of {', '.join(KINDS)}",
            "write kind: bureau (or unit, utility, district, street)",
            "kind",
        )
        ok = False
    if kind in _CHILD_KINDS and not parent:
        bad(f"department {code}: a {kind} needs a parent", "write parent: <its department's code>")
        ok = False
    if parent is not None and not isinstance(parent, str):
        bad(f"department {code}: parent is not a code", "write parent: hrss", "parent")
        ok = False
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        bad(
            f"department {code}: aliases is not a list of names",
            "write aliases: [民政局]",
            "aliases",
        )
        ok = False
    if not ok:
        return None
    assert isinstance(name, str) and isinstance(kind, str)
    return Department(code, name.strip(), kind, parent, tuple(aliases))


def _read_departments(doc: YamlDoc) -> tuple[dict[str, Department], list[Problem]]:
    problems = doc.twice_written()
    if not isinstance(doc.data, dict):
        return {}, [*problems, Problem(doc.file, 1, "not a mapping", "see the shipped file")]
    if doc.data.get("version") != 1:
        problems.append(
            Problem(doc.file, doc.line(["version"]), "version must be 1", "write version: 1")
        )
    raw = doc.data.get("departments")
    if not isinstance(raw, dict) or not raw:
        problems.append(
            Problem(
                doc.file,
                doc.line(["departments"]),
                "no `departments` mapping",
                "list the departments by code",
            )
        )
        return {}, problems
    out: dict[str, Department] = {}
    names: dict[str, str] = {}
    for code, item in raw.items():
        d = _department(doc, str(code), item, problems)
        if d is None:
            continue
        if d.name in names:
            problems.append(
                Problem(
                    doc.file,
                    doc.line(["departments", d.code, "name"]),
                    f"department {d.code}: name {d.name} is also {names[d.name]}'s",
                    "give each department its own name",
                )
            )
        names[d.name] = d.code
        out[d.code] = d
    for d in out.values():
        if d.parent is not None and d.parent not in out:
            problems.append(
                Problem(
                    doc.file,
                    doc.line(["departments", d.code, "parent"]),
                    f"department {d.code}: no department {d.parent!r} (its parent)",
                    "name a department of this file",
                )
            )
    return out, problems


# -- matters.csv ----------------------------------------------------------------------------
def read_matters(
    path: Path, shown: str, departments: dict[str, Department]
) -> tuple[dict[str, Matter], list[Problem]]:
    """The matters of the CSV file ``path`` (named ``shown`` in messages), each checked
    against ``departments``; with the problems found (a row with a problem is left out)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        return {}, [Problem(shown, None, "file not found", f"create {shown}")]
    by_name = {d.name: d.code for d in departments.values()}
    routes = ", ".join(r.value for r in LegalRoute)
    problems: list[Problem] = []
    matters: dict[str, Matter] = {}
    first_line: dict[str, int] = {}
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header) != COLUMNS:
                return {}, [
                    Problem(
                        shown,
                        1,
                        f"the header is not {','.join(COLUMNS)}",
                        f"write the header line {','.join(COLUMNS)}",
                    )
                ]
            line = reader.line_num + 1
            for row in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in row):
                    continue

                def bad(message: str, fix: str, start: int = start) -> None:
                    problems.append(Problem(shown, start, message, fix))

                if len(row) != len(COLUMNS):
                    bad(
                        f"{len(row)} columns instead of {len(COLUMNS)}",
                        "quote a cell that holds a comma; keep the six columns",
                    )
                    continue
                code, name, dept, keywords, route, limit = (c.strip() for c in row)
                if not _MATTER_CODE.match(code):
                    bad(
                        f"matter code {code!r} is not a code",
                        "use letters, digits and . _ - (at most 32), e.g. RS-003",
                    )
                    continue
                if code in first_line:
                    bad(
                        f"matter code {code} written twice (first on line {first_line[code]})",
                        "give each matter its own code",
                    )
                    continue
                first_line[code] = start
                ok = True
                if not name:
                    bad(f"matter {code}: no name", "write what the citizen asks for, in Chinese")
                    ok = False
                department = dept if dept in departments else by_name.get(dept)
                if department is None:
                    bad(
                        f"matter {code}: unknown department {dept!r}",
                        f"use a code or a name of {DEPARTMENTS_FILE}",
                    )
                    ok = False
                legal_route = _ROUTE_BY_NAME.get(route) if route else None
                if route and legal_route is None:
                    bad(
                        f"matter {code}: legal route {route!r} is not known",
                        f"leave it blank or write one of {routes}",
                    )
                    ok = False
                if not limit:
                    bad(
                        f"matter {code}: no time limit",
                        "write the handling limit in working days in limit_days",
                    )
                    ok = False
                elif not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT_DAYS:
                    bad(
                        f"matter {code}: limit_days {limit!r} is not a number of days",
                        f"write a whole number of working days from 1 to {MAX_LIMIT_DAYS}",
                    )
                    ok = False
                words = tuple(
                    k for k in (w.strip() for w in _KEYWORD_SEPARATORS.split(keywords)) if k
                )
                if not words:
                    problems.append(
                        Problem(
                            shown,
                            start,
                            f"matter {code}: no keywords",
                            "list the words a citizen would use, separated by |",
                            "warning",
                        )
                    )
                if ok and department is not None:
                    matters[code] = Matter(code, name, department, words, legal_route, int(limit))
        except (csv.Error, UnicodeDecodeError) as e:
            problems.append(
                Problem(
                    shown,
                    reader.line_num or None,
                    f"not a readable CSV file: {e}",
                    "save it as UTF-8 CSV with the header line",
                )
            )
    return matters, problems


def _read(config_dir: Path) -> tuple[Catalogue, list[Problem]]:
    if not (config_dir / DEPARTMENTS_FILE).exists() and not (config_dir / MATTERS_FILE).exists():
        return Catalogue.empty(), []
    try:
        doc = read_yaml(config_dir / DEPARTMENTS_FILE, DEPARTMENTS_FILE)
    except ConfigError as e:
        return Catalogue.empty(), e.problems
    departments, problems = _read_departments(doc)
    matters, more = read_matters(config_dir / MATTERS_FILE, MATTERS_FILE, departments)
    return Catalogue(departments, matters), problems + more


def check_catalogue(config_dir: Path | str) -> list[Problem]:
    """Every problem of departments.yaml and matters.csv in ``config_dir`` (none when
    neither file is there: no catalogue, no routing help)."""
    return _read(Path(config_dir))[1]


def load_catalogue(config_dir: Path | str) -> Catalogue:
    """The catalogue of ``config_dir`` (empty when neither file is there); raises
    :class:`ConfigError` naming each error."""
    catalogue, problems = _read(Path(config_dir))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
    return catalogue
