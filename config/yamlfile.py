"""Configuration files as data, with errors that name the file, the line and the fix.

Every loader under ``config/`` and ``ivr/`` reads its YAML through :func:`read_yaml`, which
keeps the line of every key (PyYAML's node marks) and the keys written twice in one mapping,
and reports problems as :class:`Problem` rows gathered into one :class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

__all__ = [
    "ConfigError",
    "Problem",
    "YamlDoc",
    "check_optional_file",
    "load_optional_file",
    "read_yaml",
]

KeyPath = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a configuration file, and how to put it right."""

    file: str
    line: int | None
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}\n    fix: {self.fix}"


class ConfigError(ValueError):
    """A configuration file that cannot be used; ``problems`` says each reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class YamlDoc:
    """A parsed YAML file with the line of every key path."""

    file: str
    data: Any
    marks: dict[KeyPath, int] = field(default_factory=dict)
    #: Keys written twice in one mapping: (path, first line, repeated line).
    dups: list[tuple[KeyPath, int, int]] = field(default_factory=list)

    def line(self, path: Iterable[Any]) -> int | None:
        """The line of ``path`` (keys and list indexes), or of its nearest parent."""
        p = tuple(str(x) for x in path)
        while p:
            if p in self.marks:
                return self.marks[p]
            p = p[:-1]
        return self.marks.get(())

    def twice_written(self) -> list[Problem]:
        """One problem per key written twice in one mapping (YAML would keep the last)."""
        return [
            Problem(
                self.file,
                line,
                f"key {path[-1]!r} written twice (first on line {first})",
                "keep one of them",
            )
            for path, first, line in self.dups
        ]


def _key(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


def _walk(node: yaml.Node, path: KeyPath, doc: YamlDoc) -> None:
    doc.marks.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            key = _key(k)
            line = k.start_mark.line + 1
            if key in seen:
                doc.dups.append(((*path, key), seen[key], line))
            else:
                seen[key] = line
            doc.marks[(*path, key)] = line
            _walk(v, (*path, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, str(i)), doc)


def read_yaml(path: Path, shown: str, *, create_hint: str = "") -> YamlDoc:
    """Read ``path`` (named ``shown`` in messages); raises :class:`ConfigError` when it is
    missing, not UTF-8 or not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(shown, None, "file not found", f"create {shown}{create_hint}")]
        ) from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            [Problem(shown, None, f"not UTF-8: {e}", "save the file as UTF-8")]
        ) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise ConfigError(
            [Problem(shown, line, f"not valid YAML: {e.problem}", "fix the YAML syntax there")]
        ) from None
    doc = YamlDoc(shown, data)
    if root is not None:
        _walk(root, (), doc)
    return doc


T = TypeVar("T")
#: A file's parser: the value (None when it has errors) and every problem found.
Parser = Callable[[YamlDoc], tuple[T | None, list[Problem]]]


def check_optional_file(
    config_dir: Path | str, name: str, parse: Parser[T], missing: str, fix: str
) -> list[Problem]:
    """Every problem of the optional file ``name`` in ``config_dir``; none there is a warning
    (``missing``, with ``fix``): its defaults apply."""
    path = Path(config_dir) / name
    if not path.exists():
        return [Problem(name, None, missing, fix, "warning")]
    try:
        doc = read_yaml(path, name)
    except ConfigError as e:
        return e.problems
    return parse(doc)[1]


def load_optional_file(config_dir: Path | str, name: str, parse: Parser[T], default: T) -> T:
    """The optional file ``name`` in ``config_dir`` parsed, ``default`` when there is none;
    raises :class:`ConfigError` naming each problem."""
    path = Path(config_dir) / name
    if not path.exists():
        return default
    value, problems = parse(read_yaml(path, name))
    if value is None:
        raise ConfigError(problems)
    return value
