"""The operators' skills (``config/skills.yaml``): which queues each operator answers when
they sign in to a seat, and at which penalty.

Skills are data, not code: a skill group is a set of queues with a penalty each (0 is rung
first), an operator has groups (their own line, else the default ones), and signing in joins
every queue of every group (``QueueAdd`` with the penalty; the lowest when two groups name one
queue). :func:`load_skills` reads and checks the file; every problem names the file, the line
and the fix. That the queues exist is checked against ``config/ivr.yaml`` by ``hotline config
check``, which sees both files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml

__all__ = ["FILE_NAME", "Skills", "check_skills", "load_skills"]

FILE_NAME = "skills.yaml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Skills:
    #: Group -> queue -> penalty.
    groups: dict[str, dict[str, int]]
    default_groups: tuple[str, ...]
    #: User name (lower case) -> their groups.
    users: dict[str, tuple[str, ...]]

    def queues_of(self, username: str) -> dict[str, int]:
        """The queues ``username`` joins on signing in, with the penalty in each."""
        out: dict[str, int] = {}
        for group in self.users.get(username.lower(), self.default_groups):
            for queue, penalty in self.groups[group].items():
                out[queue] = min(penalty, out.get(queue, penalty))
        return out

    def queues(self) -> set[str]:
        """Every queue some group names."""
        return {q for g in self.groups.values() for q in g}


def _groups(doc: YamlDoc, problems: list[Problem]) -> dict[str, dict[str, int]]:
    raw = doc.data.get("groups")
    if not isinstance(raw, dict) or not raw:
        problems.append(
            Problem(doc.file, doc.line(["groups"]), "no `groups` mapping", "list the skill groups")
        )
        return {}
    out: dict[str, dict[str, int]] = {}
    for group, queues in raw.items():
        group = str(group)
        where = doc.line(["groups", group])
        if not isinstance(queues, dict) or not queues:
            problems.append(
                Problem(
                    doc.file,
                    where,
                    f"group {group}: not a mapping of queues to penalties",
                    "write {hotline: 0, urgent: 1}",
                )
            )
            continue
        out[group] = {}
        for queue, penalty in queues.items():
            queue = str(queue)
            if not _NAME.match(queue):
                problems.append(
                    Problem(
                        doc.file,
                        doc.line(["groups", group, queue]),
                        f"group {group}: {queue!r} is not a queue name",
                        "use the Asterisk queue's name, as in config/ivr.yaml",
                    )
                )
            elif isinstance(penalty, bool) or not isinstance(penalty, int) or penalty < 0:
                problems.append(
                    Problem(
                        doc.file,
                        doc.line(["groups", group, queue]),
                        f"group {group}: the penalty of {queue} must be a whole number >= 0",
                        f"write {queue}: 0 (0 is rung first)",
                    )
                )
            else:
                out[group][queue] = penalty
    return out


def _group_list(
    doc: YamlDoc, path: list[str], value: Any, groups: dict[str, Any], problems: list[Problem]
) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(
            Problem(
                doc.file,
                doc.line(path),
                f"{'.'.join(path)}: not a list of skill groups",
                "write [general] or [general, urgent]",
            )
        )
        return ()
    for i, g in enumerate(value):
        if str(g) not in groups:
            problems.append(
                Problem(
                    doc.file,
                    doc.line([*path, str(i)]),
                    f"{'.'.join(path)}: no skill group {g!r}",
                    f"name one of `groups` ({', '.join(sorted(groups))})",
                )
            )
    return tuple(str(g) for g in value)


def _parse(doc: YamlDoc) -> tuple[Skills | None, list[Problem]]:
    problems: list[Problem] = doc.twice_written()
    if not isinstance(doc.data, dict):
        return None, [*problems, Problem(doc.file, 1, "not a mapping", "see the shipped file")]
    if doc.data.get("version") != 1:
        problems.append(
            Problem(doc.file, doc.line(["version"]), "version must be 1", "write version: 1")
        )
    groups = _groups(doc, problems)
    default = _group_list(doc, ["default_groups"], doc.data.get("default_groups"), groups, problems)
    users: dict[str, tuple[str, ...]] = {}
    raw_users = doc.data.get("users") or {}
    if not isinstance(raw_users, dict):
        problems.append(
            Problem(
                doc.file,
                doc.line(["users"]),
                "users: not a mapping",
                "write user name: [groups]",
            )
        )
        raw_users = {}
    for name, value in raw_users.items():
        name = str(name)
        if name != name.lower():
            problems.append(
                Problem(
                    doc.file,
                    doc.line(["users", name]),
                    f"users: {name!r} is not lower case (user names are)",
                    f"write {name.lower()}",
                )
            )
        users[name.lower()] = _group_list(doc, ["users", name], value, groups, problems)
    if problems:
        return None, problems
    return Skills(groups, default, users), problems


def check_skills(config_dir: Path | str, known_queues: set[str] | None = None) -> list[Problem]:
    """Every problem of ``skills.yaml`` in ``config_dir``; with ``known_queues`` (those of
    ``config/ivr.yaml``), a queue no one routes to is an error too."""
    try:
        doc = read_yaml(Path(config_dir) / FILE_NAME, FILE_NAME)
    except ConfigError as e:
        return e.problems
    skills, problems = _parse(doc)
    if skills is not None and known_queues is not None:
        for group, queues in skills.groups.items():
            for queue in queues:
                if queue not in known_queues:
                    problems.append(
                        Problem(
                            doc.file,
                            doc.line(["groups", group, queue]),
                            f"group {group}: queue {queue!r} is not a queue of ivr.yaml",
                            f"use one of {', '.join(sorted(known_queues))}",
                        )
                    )
    return problems


def load_skills(config_dir: Path | str) -> Skills:
    """The skills; raises :class:`ConfigError` naming each problem."""
    doc = read_yaml(Path(config_dir) / FILE_NAME, FILE_NAME)
    skills, problems = _parse(doc)
    if skills is None:
        raise ConfigError(problems)
    return skills
