"""The traffic model (``config/traffic.yaml``): calls per day, hourly profiles, the kinds of
day, patience, talk and wrap-up distributions, IVR choices and repeat callers.

:func:`load_traffic` reads and checks the file; every problem names the file, the line and the
fix (:class:`TrafficConfigError`). :meth:`TrafficModel.plan` turns the model into a
:class:`DayPlan` for a stretch of time: piecewise-constant arrival rates per clock hour plus
the distributions, which :class:`pbx.simulator.traffic.TrafficStream` replays (a non-homogeneous
Poisson process: the same seed, the same calls).

Which kind a day is (working day, weekend, holiday) comes from the Chinese working-day calendar
(:mod:`config.calendar`): public holidays, and weekend days that are made working days (调休).
For a year it does not know, Monday to Friday are working days.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.calendar import day_kind
from config.yamlfile import ConfigError, Problem, read_yaml

__all__ = [
    "HOTLINE_TZ",
    "DayKind",
    "DayPlan",
    "Distribution",
    "Exponential",
    "Fixed",
    "LogNormal",
    "Problem",
    "Profile",
    "Repeat",
    "TrafficConfigError",
    "TrafficModel",
    "day_kind",
    "load_traffic",
]

#: Hotline time: China Standard Time (UTC+8, no daylight saving).
HOTLINE_TZ = timezone(timedelta(hours=8), "CST")
FILE_NAME = "traffic.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- distributions ---------------------------------------------------------------------------
class Exponential(_Model):
    """Exponential with mean ``mean_s`` (memoryless: what Erlang-A assumes)."""

    dist: Literal["exponential"] = "exponential"
    mean_s: float = Field(gt=0)

    @property
    def mean(self) -> float:
        return self.mean_s

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean_s)

    def describe(self) -> str:
        return f"exponential, mean {self.mean_s:g} s"


class LogNormal(_Model):
    """Log-normal: ``log X ~ Normal(μ, sigma²)``; give ``mean_s`` or ``median_s`` (= e^μ)."""

    dist: Literal["lognormal"] = "lognormal"
    mean_s: float | None = Field(default=None, gt=0)
    median_s: float | None = Field(default=None, gt=0)
    sigma: float = Field(gt=0, le=5)

    @model_validator(mode="after")
    def _one_location(self) -> LogNormal:
        if (self.mean_s is None) == (self.median_s is None):
            raise ValueError("a lognormal needs exactly one of mean_s and median_s")
        return self

    @property
    def mu(self) -> float:
        if self.median_s is not None:
            return math.log(self.median_s)
        assert self.mean_s is not None
        return math.log(self.mean_s) - self.sigma**2 / 2.0

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2.0)

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(self.mu, self.sigma)

    def describe(self) -> str:
        return f"lognormal, mean {self.mean:.4g} s, sigma {self.sigma:g}"


class Fixed(_Model):
    """Always ``value_s``."""

    dist: Literal["fixed"] = "fixed"
    value_s: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value_s

    def sample(self, rng: random.Random) -> float:
        return self.value_s

    def describe(self) -> str:
        return f"fixed {self.value_s:g} s"


Distribution = Annotated[Exponential | LogNormal | Fixed, Field(discriminator="dist")]


# -- the model -------------------------------------------------------------------------------
class Profile(_Model):
    description: str = ""
    hours: tuple[float, ...]

    @field_validator("hours")
    @classmethod
    def _24(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 24:
            raise ValueError(f"needs 24 hourly weights (hour 0 to 23), not {len(v)}")
        if any(not math.isfinite(x) or x < 0 for x in v):
            raise ValueError("hourly weights must be numbers >= 0")
        if sum(v) <= 0:
            raise ValueError("at least one hour needs a weight > 0")
        return v

    @property
    def shares(self) -> tuple[float, ...]:
        """The weights normalised to sum to 1."""
        total = math.fsum(self.hours)
        return tuple(x / total for x in self.hours)


class DayKind(_Model):
    profile: str
    volume: float = Field(default=1.0, ge=0)


class Repeat(_Model):
    after_abandon: float = Field(default=0.0, ge=0, le=1)
    after_answer: float = Field(default=0.0, ge=0, le=1)
    delay: Distribution = Exponential(mean_s=1800.0)
    max_calls: int = Field(default=3, ge=1)


DAY_KINDS = ("workday", "weekend", "holiday")


class TrafficModel(_Model):
    version: Literal[1] = 1
    calls_per_day: float = Field(gt=0)
    days: dict[Literal["workday", "weekend", "holiday"], DayKind]
    profiles: dict[str, Profile]
    patience: Distribution
    talk: Distribution
    wrapup: Distribution = Fixed(value_s=0.0)
    caller_hangup_ratio: float = Field(default=0.3, ge=0, le=1)
    ivr: dict[str, dict[str, float]] = Field(default_factory=dict)
    repeat: Repeat = Repeat()

    @field_validator("profiles")
    @classmethod
    def _flat(cls, v: dict[str, Profile]) -> dict[str, Profile]:
        if "calendar" in v:
            raise ValueError("'calendar' is the name of the day-by-calendar choice: rename it")
        if "flat" not in v:  # always available
            v = {**v, "flat": Profile(description="the same rate every hour", hours=(1.0,) * 24)}
        return v

    @field_validator("ivr")
    @classmethod
    def _shares(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for menu, options in v.items():
            if not options:
                raise ValueError(f"menu {menu!r} has no options")
            if any(not math.isfinite(x) or x < 0 for x in options.values()):
                raise ValueError(f"menu {menu!r}: shares must be numbers >= 0")
            if sum(options.values()) <= 0:
                raise ValueError(f"menu {menu!r}: at least one share must be > 0")
        return v

    @model_validator(mode="after")
    def _known_profiles(self) -> TrafficModel:
        missing = [k for k in DAY_KINDS if k not in self.days]
        if missing:
            raise ValueError(f"days: add {', '.join(missing)} (each with a profile and volume)")
        for kind, d in self.days.items():
            if d.profile not in self.profiles:
                raise ValueError(
                    f"days.{kind}.profile {d.profile!r} is not a profile; "
                    f"known: {', '.join(sorted(self.profiles))}"
                )
        return self

    # -- use -----------------------------------------------------------------------------
    @property
    def service_time_s(self) -> float:
        """Mean time a seat is taken per answered call: talk plus wrap-up."""
        return self.talk.mean + self.wrapup.mean

    def profile_for(self, name: str) -> Profile:
        p = self.profiles.get(name)
        if p is None:
            raise KeyError(
                f"no traffic profile {name!r}; known: {', '.join(sorted(self.profiles))}, calendar"
            )
        return p

    def day(self, on: date) -> tuple[str, str, float]:
        """``(kind, profile name, calls that day)`` for a date, by the calendar."""
        kind = day_kind(on)
        d = self.days[kind]  # type: ignore[index]
        return kind, d.profile, self.calls_per_day * d.volume

    def hourly_calls(self, profile: str, calls_per_day: float | None = None) -> list[float]:
        """Calls offered in each hour 0-23 of a day of ``calls_per_day`` (default the model's)
        shaped by ``profile``."""
        total = self.calls_per_day if calls_per_day is None else calls_per_day
        return [total * s for s in self.profile_for(profile).shares]

    def plan(
        self,
        start: float,
        hours: float,
        *,
        profile: str = "calendar",
        calls_per_day: float | None = None,
        calls_per_hour: float | None = None,
        patience: Exponential | LogNormal | Fixed | None = None,
        talk: Exponential | LogNormal | Fixed | None = None,
        wrapup: Exponential | LogNormal | Fixed | None = None,
        repeats: bool = True,
    ) -> DayPlan:
        """The arrivals from ``start`` (epoch seconds) for ``hours``.

        ``profile``: a profile's name, or ``"calendar"`` (the profile and volume of each day's
        kind). ``calls_per_day`` scales it (default the model's, times the day's volume under
        ``calendar``); ``calls_per_hour`` gives a constant rate instead (only with ``flat``).
        The distributions default to the model's; ``repeats=False`` leaves out repeat calls.
        """
        if not (hours > 0 and math.isfinite(hours)):
            raise ValueError(f"hours must be > 0, not {hours}")
        if calls_per_hour is not None:
            if profile != "flat":
                raise ValueError(
                    "a calls-per-hour rate goes with the flat profile; for a shaped profile "
                    "give calls per day"
                )
            if calls_per_hour <= 0:
                raise ValueError(f"calls per hour must be > 0, not {calls_per_hour}")
        if calls_per_day is not None and calls_per_day <= 0:
            raise ValueError(f"calls per day must be > 0, not {calls_per_day}")
        if profile != "calendar":
            self.profile_for(profile)
        end = start + hours * 3600.0
        segments: list[tuple[float, float, float]] = []
        t = start
        while t < end:
            boundary = min(end, (math.floor(t / 3600.0) + 1) * 3600.0)
            local = datetime.fromtimestamp(t, HOTLINE_TZ)
            if calls_per_hour is not None:
                per_hour = calls_per_hour
            else:
                if profile == "calendar":
                    _, name, day_total = self.day(local.date())
                    if calls_per_day is not None:
                        day_total = calls_per_day * day_total / self.calls_per_day
                else:
                    name = profile
                    day_total = self.calls_per_day if calls_per_day is None else calls_per_day
                per_hour = day_total * self.profiles[name].shares[local.hour]
            if segments and segments[-1][2] == per_hour / 3600.0 and segments[-1][1] == t:
                segments[-1] = (segments[-1][0], boundary, per_hour / 3600.0)
            else:
                segments.append((t, boundary, per_hour / 3600.0))
            t = boundary
        ivr = tuple(
            (menu, tuple(options), tuple(_cumulative(options.values())))
            for menu, options in self.ivr.items()
        )
        return DayPlan(
            segments=tuple(segments),
            patience=patience or self.patience,
            talk=talk or self.talk,
            wrapup=wrapup or self.wrapup,
            caller_hangup_ratio=self.caller_hangup_ratio,
            ivr=ivr,
            repeat=self.repeat if repeats else None,
        )


def _cumulative(weights: Iterable[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A stretch of arrivals: ``segments`` of ``(from, to, rate per second)`` in epoch seconds
    (piecewise-constant rates, one piece per clock hour at most), and what each caller draws."""

    segments: tuple[tuple[float, float, float], ...]
    patience: Exponential | LogNormal | Fixed
    talk: Exponential | LogNormal | Fixed
    wrapup: Exponential | LogNormal | Fixed
    caller_hangup_ratio: float = 0.3
    #: ``(menu, option keys, cumulative weights)`` per IVR menu.
    ivr: tuple[tuple[str, tuple[str, ...], tuple[float, ...]], ...] = ()
    repeat: Repeat | None = None

    @property
    def start(self) -> float:
        return self.segments[0][0] if self.segments else 0.0

    @property
    def end(self) -> float:
        return self.segments[-1][1] if self.segments else 0.0

    @property
    def expected_calls(self) -> float:
        """Mean number of first calls (repeats not counted)."""
        return math.fsum((b - a) * r for a, b, r in self.segments)

    def next_arrival(self, t: float, rng: random.Random) -> float | None:
        """The next arrival after ``t`` of the non-homogeneous Poisson process, by inverting
        its cumulative rate: one ``Exp(1)`` draw per arrival. None when the plan has ended."""
        need = rng.expovariate(1.0)
        for a, b, r in self.segments:
            if b <= t:
                continue
            lo = max(a, t)
            if r > 0:
                have = (b - lo) * r
                if need < have:
                    return lo + need / r
                need -= have
        return None

    def choose_ivr(self, rng: random.Random) -> dict[str, str]:
        return {menu: rng.choices(keys, cum_weights=cum)[0] for menu, keys, cum in self.ivr}


# -- loading ---------------------------------------------------------------------------------
#: The traffic file's errors are the configuration's errors (file, line, fix).
TrafficConfigError = ConfigError


_FIXES = {
    "missing": "add {field}",
    "extra_forbidden": "remove {field!r} or correct its spelling",
    "union_tag_invalid": "use dist: exponential (mean_s), lognormal (mean_s or median_s, sigma) "
    "or fixed (value_s)",
    "union_tag_not_found": "add dist: exponential, lognormal or fixed",
    "greater_than": "give a number above the limit the message names",
    "greater_than_equal": "give a number at or above the limit the message names",
    "less_than_equal": "give a number at or below the limit the message names",
}


def load_traffic(path: Path | str | None = None) -> TrafficModel:
    """Read and check a traffic file (default: ``traffic.yaml`` beside this module; a folder
    means ``traffic.yaml`` in it). Raises :class:`TrafficConfigError`."""
    p = Path(path) if path is not None else Path(__file__).resolve().parent / FILE_NAME
    if p.is_dir():
        p = p / FILE_NAME
    shown = str(p)
    doc = read_yaml(p, shown, create_hint=f" (see config/{FILE_NAME})")
    data = doc.data
    if not isinstance(data, dict):
        raise TrafficConfigError(
            [Problem(shown, 1, "not a mapping of settings", f"start from config/{FILE_NAME}")]
        )
    try:
        return TrafficModel.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            # pydantic adds union tags (exponential, lognormal...) to loc: keep the real keys
            loc = [str(x) for x in e["loc"] if str(x) not in ("exponential", "lognormal", "fixed")]
            where = ".".join(loc) or "(top level)"
            msg = e["msg"].removeprefix("Value error, ")
            fix = _FIXES.get(e["type"], "correct the value as the message says")
            problems.append(
                Problem(
                    shown,
                    doc.line(loc),
                    f"{where}: {msg}",
                    fix.format(field=loc[-1] if loc else "it"),
                )
            )
        raise TrafficConfigError(problems) from None
