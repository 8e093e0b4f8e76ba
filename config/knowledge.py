"""The knowledge base's starter set (``config/knowledge.yaml``) and the shape of an article.

An article's rules (title, body, tags, owning department, validity window) are written once,
here in :class:`ArticleData`: the starter file is checked against them by ``hotline config
check`` and at start, and the API's request body (``knowledge.schemas``) extends the same
model, so a file the check passes is a file the API would have accepted, article by article.

:func:`load_starter` reads and checks the file; every problem names the file, the line and
the fix (:class:`config.yamlfile.ConfigError`); :func:`check_starter` returns the problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from config.yamlfile import ConfigError, Problem, YamlDoc, read_yaml

__all__ = [
    "FILE_NAME",
    "ArticleData",
    "StarterArticle",
    "check_starter",
    "load_starter",
]

FILE_NAME = "knowledge.yaml"

# A line of text without control characters (PostgreSQL refuses NUL; titles are one line),
# with at least one character that is not a space.
_LINE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# Text over several lines: no NUL and no other control character but tab and newlines.
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Title = Annotated[str, Field(min_length=1, max_length=200, pattern=_LINE)]
Body = Annotated[str, Field(min_length=1, max_length=20_000, pattern=_TEXT)]
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=_LINE)]
Department = Annotated[str, Field(min_length=1, max_length=100, pattern=_LINE)]


class ArticleData(BaseModel):
    """What an article says and when it holds: the fields an administrator writes."""

    model_config = ConfigDict(extra="forbid")

    title: Title = Field(description="One line: what the citizen asks about.")
    body: Body = Field(description="The answer an operator reads out, in plain text.")
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=20,
        description="Words callers use for it (synonyms, colloquial names); searched too.",
    )
    department: Department = Field(description="The department that owns the content.")
    valid_from: AwareDatetime | None = Field(
        default=None, description="From when it holds; null: since always."
    )
    valid_to: AwareDatetime | None = Field(
        default=None, description="Until when it holds (excluded); null: until further notice."
    )

    @field_validator("valid_from", "valid_to", mode="before")
    @classmethod
    def _not_a_number(cls, value: object) -> object:
        # pydantic would take a number as epoch seconds: a date needs its offset written.
        if isinstance(value, int | float):
            raise ValueError("give a date and time with its offset, e.g. 2026-12-01T00:00:00+08:00")
        return value

    @field_validator("tags")
    @classmethod
    def _distinct_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))  # the same tag twice says nothing more

    @field_validator("valid_to")
    @classmethod
    def _after_valid_from(cls, value: AwareDatetime | None, info: ValidationInfo) -> object:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after valid_from")
        return value


class StarterArticle(ArticleData):
    """An article of the starter set, with the key that makes loading it idempotent."""

    key: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Stable name of the article in the file (lower-case letters, digits, -).",
    )


class _StarterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=1)
    articles: list[StarterArticle] = Field(min_length=1)


def _raw_keys(doc: YamlDoc) -> list[object]:
    """Each article's ``key`` as written (None where there is none), read without the model."""
    raw = doc.data.get("articles") if isinstance(doc.data, dict) else None
    if not isinstance(raw, list):
        return []
    return [a.get("key") if isinstance(a, dict) else None for a in raw]


def _where(loc: list[str], keys: list[object]) -> str:
    """``articles.57 (flood-season).valid_to``: the article's key said with its index."""
    if len(loc) >= 2 and loc[0] == "articles" and loc[1].isdigit():
        i = int(loc[1])
        if i < len(keys) and isinstance(keys[i], str):
            return ".".join([f"articles.{i} ({keys[i]})", *loc[2:]])
    return ".".join(loc) or "(top level)"


def _fix_for(kind: str, loc: list[str]) -> str:
    if kind == "missing":
        return f"add {loc[-1]}"
    if kind == "extra_forbidden":
        return f"remove {loc[-1]!r} or correct its spelling"
    return "correct the value as the message says"


def _problems(doc: YamlDoc) -> tuple[list[StarterArticle], list[Problem]]:
    problems = [
        Problem(
            doc.file,
            again,
            f"{'.'.join(p)} is given twice (lines {first} and {again}); YAML keeps the last",
            "remove or rename one of them",
        )
        for p, first, again in doc.dups
    ]
    if not isinstance(doc.data, dict):
        return [], [*problems, Problem(doc.file, 1, "not a mapping", "start with `version: 1`")]
    keys = _raw_keys(doc)
    first_line: dict[str, int | None] = {}
    for i, key in enumerate(keys):
        if not isinstance(key, str):
            continue
        line = doc.line(["articles", i, "key"])
        if key in first_line:
            problems.append(
                Problem(
                    doc.file,
                    line,
                    f"key {key!r} is used twice (first at line {first_line[key]})",
                    "give every article its own key",
                )
            )
        else:
            first_line[key] = line
    try:
        parsed = _StarterFile.model_validate(doc.data)
    except ValidationError as e:
        for err in e.errors():
            loc = [str(x) for x in err["loc"]]
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(
                Problem(
                    doc.file,
                    doc.line(loc),
                    f"{_where(loc, keys)}: {msg}",
                    _fix_for(err["type"], loc),
                )
            )
        return [], problems
    return parsed.articles, problems


def check_starter(config_dir: Path | str) -> list[Problem]:
    """Every problem of ``<config_dir>/knowledge.yaml`` (none: the file is fine). A missing
    file is a warning: the knowledge base then starts empty."""
    path = Path(config_dir) / FILE_NAME
    if not path.exists():
        return [
            Problem(
                str(path),
                None,
                "no starter set: an empty knowledge base starts empty",
                f"copy the shipped {FILE_NAME} there, or write articles through the API",
                "warning",
            )
        ]
    try:
        doc = read_yaml(path, str(path))
    except ConfigError as e:
        return e.problems
    return _problems(doc)[1]


def load_starter(config_dir: Path | str) -> list[StarterArticle]:
    """The starter articles of ``<config_dir>/knowledge.yaml``; :class:`ConfigError` listing
    every problem when the file is not right."""
    path = Path(config_dir) / FILE_NAME
    articles, problems = _problems(read_yaml(path, str(path)))
    if problems:
        raise ConfigError(problems)
    return articles
