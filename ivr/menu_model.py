"""The IVR menus' schema: what ``config/ivr.yaml`` may say, as pydantic models that refuse
unknown keys and wrong values (each error becomes a :class:`~config.yamlfile.Problem` with
its line in :mod:`ivr.menus`). Rules that need the whole menu (reachability, loops, unknown
sounds) are in :mod:`ivr.menu_checks`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ACTIONS",
    "DIGITS",
    "DISTRICT_QUEUE",
    "IVR_FILE",
    "SOUNDS_FILE",
    "Menus",
    "Node",
    "Option",
    "Prompt",
]

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
    #: Heard first when the centre calls a citizen back about a ticket (the callback survey).
    callback_intro: Prompt


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

    def keys_to_district(self, district: str) -> dict[str, str]:
        """The keys a caller presses to choose ``district`` (prompt sound -> key): at the
        prompt of a node that leads to a ``set_district`` node, and at that node's; empty
        when no menu offers it."""
        for node in self.nodes.values():
            for key, option in node.options.items():
                if option.action == "set_district" and option.district == district:
                    for other in self.nodes.values():
                        for first, step in other.options.items():
                            if step.goto is not None and self.nodes.get(step.goto) is node:
                                return {other.prompt.sound: first, node.prompt.sound: key}
        return {}

    def timeout_ms(self, node: Node) -> int:
        return node.timeout_ms or self.timeouts.digit_ms

    def retries(self, node: Node) -> int:
        return node.retries if node.retries is not None else self.timeouts.retries
