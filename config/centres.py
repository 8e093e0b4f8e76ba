"""The centres of the platform (``config/centres.yaml``), as data.

The "1 + 7" platform is one city centre and seven district sub-centres; each runs its own
Asterisk and controller on the one ticket database. A controller's centre
(``HOTLINE_CENTRE``) must be one of the file's codes; the default centre is the one a
single-centre site runs as without setting anything. A code is also the Asterisk
``systemname`` of that centre (Asterisk 20 then makes every Uniqueid ``<code>-<epoch>.<n>``:
main/channel_internal_api.c), so it is restricted to what is safe there and in a label:
lower-case letters and digits. :func:`load_centres` reads and checks the file; every problem
names the file, the line and the fix (:class:`config.yamlfile.ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.yamlfile import (
    Problem,
    YamlDoc,
    check_optional_file,
    load_optional_file,
)

__all__ = [
    "DEFAULT_CENTRE",
    "FILE_NAME",
    "Centre",
    "Centres",
    "check_centres",
    "load_centres",
    "owns_callid",
    "reads_row",
]

FILE_NAME = "centres.yaml"
#: The centre of a site that sets none, and of the rows written before centres existed
#: (migration 0010's server default). The shipped file's ``default`` must be this code.
DEFAULT_CENTRE = "city"
CODE = re.compile(r"^[a-z][a-z0-9]{0,15}$")


@dataclass(frozen=True, slots=True)
class Centre:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Centres:
    centres: dict[str, Centre]
    default: str

    def __contains__(self, code: object) -> bool:
        return code in self.centres


def owns_callid(centre: str, callid: str) -> bool:
    """Whether a queue_log ``callid`` (an Asterisk Uniqueid) was made by ``centre``'s Asterisk:
    it begins with ``<centre>-`` (its ``systemname``). An Asterisk with no systemname makes
    ``<epoch>.<n>``, a digit first: such rows are the default centre's, so a single-centre
    site that never set one keeps reading all its rows."""
    if callid.startswith(centre + "-"):
        return True
    return centre == DEFAULT_CENTRE and callid[:1].isdigit()


def reads_row(centre: str, callid: str) -> bool:
    """Whether ``centre``'s controller reads a queue_log row of this ``callid``: its own
    calls' rows (:func:`owns_callid`), and, for the default centre, the rows of no call
    (``NONE``: an Asterisk's restart, a member added) and those with no callid (malformed),
    which name no systemname. A district's call cut off by its Asterisk's restart so stays
    open until the backfill's stale limit."""
    return owns_callid(centre, callid) or (centre == DEFAULT_CENTRE and callid in ("NONE", ""))


def _parse(doc: YamlDoc) -> tuple[Centres | None, list[Problem]]:
    problems: list[Problem] = doc.twice_written()
    data: Any = doc.data
    shown = doc.file
    if not isinstance(data, dict):
        return None, [*problems, Problem(shown, 1, "not a mapping", "see the shipped file")]
    if data.get("version") != 1:
        problems.append(Problem(shown, doc.line(["version"]), "version must be 1", "version: 1"))
    raw = data.get("centres")
    out: dict[str, Centre] = {}
    if not isinstance(raw, dict) or not raw:
        problems.append(
            Problem(shown, doc.line(["centres"]), "no `centres` mapping", "list the centres")
        )
        raw = {}
    for code, item in raw.items():
        where = doc.line(["centres", code])
        code = str(code)
        if not CODE.match(code):
            problems.append(
                Problem(
                    shown,
                    where,
                    f"centre code {code!r} is not lower-case letters and digits",
                    "use a-z and 0-9 (at most 16), starting with a letter, e.g. xiaoshan",
                )
            )
            continue
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(
                Problem(shown, where, f"centre {code}: no name", "give name: 萧山区分平台")
            )
            continue
        unknown = sorted(map(str, set(item) - {"name"}))
        for key in unknown:
            problems.append(
                Problem(
                    shown,
                    doc.line(["centres", code, key]),
                    f"centre {code}: unknown key {key!r}",
                    "keep name",
                )
            )
        out[code] = Centre(code, name.strip())
    default = data.get("default")
    if default != DEFAULT_CENTRE or default not in out:
        problems.append(
            Problem(
                shown,
                doc.line(["default"]),
                f"default: {default!r} must be {DEFAULT_CENTRE!r}, one of the centres",
                f"write default: {DEFAULT_CENTRE} and list it under centres (the centre of "
                "a site that sets none and of the rows stored before centres existed)",
            )
        )
    if problems:
        return None, problems
    return Centres(out, DEFAULT_CENTRE), problems


def check_centres(config_dir: Path | str) -> list[Problem]:
    """Every problem of ``centres.yaml`` in ``config_dir``; a folder without one is a
    single-centre site (the default centre only): a warning."""
    return check_optional_file(
        config_dir,
        FILE_NAME,
        _parse,
        f"file not found: this site runs as the one centre {DEFAULT_CENTRE!r}",
        "copy the shipped config/centres.yaml to run several centres",
    )


def load_centres(config_dir: Path | str) -> Centres:
    """The platform's centres; raises :class:`ConfigError` naming each problem. A folder
    without the file has the default centre only (a single-centre site)."""
    only = Centres({DEFAULT_CENTRE: Centre(DEFAULT_CENTRE, DEFAULT_CENTRE)}, DEFAULT_CENTRE)
    return load_optional_file(config_dir, FILE_NAME, _parse, only)
