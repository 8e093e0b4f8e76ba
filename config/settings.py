"""Settings, from the environment only (prefix ``HOTLINE_``). Secrets never have a default.

Each setting is listed, with its default, in the README's "Settings" table.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.centres import DEFAULT_CENTRE, load_centres
from config.centres import FILE_NAME as CENTRES_FILE

CONFIG_DIR = Path(__file__).resolve().parent


class AmiTarget:
    """Where and as whom to log in to Asterisk's manager, parsed from ``HOTLINE_AMI_URL``."""

    __slots__ = ("host", "port", "secret", "username")

    def __init__(self, host: str, port: int, username: str, secret: str) -> None:
        self.host, self.port, self.username, self.secret = host, port, username, secret

    @classmethod
    def parse(cls, url: str) -> AmiTarget:
        parts = urlsplit(url)
        if parts.scheme != "ami":
            raise ValueError(
                f"HOTLINE_AMI_URL must look like ami://user:secret@host:5038, "
                f"not scheme {parts.scheme!r}"
            )
        if not parts.hostname or not parts.username or parts.password is None:
            raise ValueError(
                "HOTLINE_AMI_URL needs a user, a secret and a host: ami://user:secret@host:5038"
            )
        return cls(
            parts.hostname, parts.port or 5038, unquote(parts.username), unquote(parts.password)
        )

    def __repr__(self) -> str:  # never print the secret
        return f"AmiTarget(host={self.host!r}, port={self.port}, username={self.username!r})"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/hotline.db",
        description="SQLAlchemy URL of the ticket store; postgresql:// URLs use asyncpg.",
    )
    ami_url: str | None = Field(
        default=None,
        description="ami://user:secret@host:5038 of a real Asterisk; unset runs the embedded PBX.",
    )
    agi_host: str = Field(
        default="127.0.0.1",
        description="Address the FastAGI server listens on (0.0.0.0 for a remote Asterisk).",
    )
    agi_port: int = Field(default=4573, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    config_dir: Path = CONFIG_DIR
    centre: str = Field(
        default=DEFAULT_CENTRE,
        description="This controller's centre, a code of config/centres.yaml (= systemname).",
    )
    instant_resolution_share: float = Field(
        default=0.57,
        ge=0.0,
        le=1.0,
        description="Share of answered calls the simulated operator resolves on the spot.",
    )
    operator_seed: int = Field(default=0, description="Seed of the simulated operator's choices.")
    wrapup_s: float = Field(
        default=10.0,
        ge=0,
        description="Queue wrap-up time (wrapuptime in queues.conf) the seat states assume.",
    )
    # The supervisors' live figures (routing/calls.py, README "Definitions").
    service_level_s: int = Field(
        default=20,
        ge=0,
        description="Service-level threshold, whole seconds (queues.conf's servicelevel: 20).",
    )
    short_abandon_s: float = Field(
        default=5.0,
        ge=0,
        description="An abandon after a shorter wait is also counted as a short abandon.",
    )
    action_timeout_s: float = Field(default=5.0, gt=0)
    ami_ping_interval_s: float = Field(
        default=10.0, gt=0, description="Keep-alive Ping period; an unanswered Ping reconnects."
    )
    ami_backoff_base_s: float = Field(default=0.5, gt=0, description="First reconnect wait.")
    ami_backoff_cap_s: float = Field(default=30.0, gt=0, description="Longest reconnect wait.")
    spool_dir: Path = Field(
        default=Path("var/spool"),
        description="Durable spool of tickets waiting for the database (JSON lines, fsync).",
    )
    queue_log_source: str = Field(
        default="asterisk",
        min_length=1,
        max_length=80,
        description="Name of this Asterisk's queue_log cursor (the backfill's read position).",
    )
    backfill_stale_after_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="A queue_log stay open this long (no end row) no longer holds the cursor.",
    )
    queue_log_file: Path | None = Field(
        default=None,
        description="The embedded PBX's queue_log also as Asterisk's file (the complete copy).",
    )
    # Seats (agents/seat_lifecycle.py): the auto-pause, and how long a request waits for
    # Asterisk's events to confirm it.
    seat_auto_pause_rings: int = Field(
        default=2, ge=0, description="Unanswered rings in a row that pause a seat; 0: never."
    )
    seat_confirm_timeout_s: float = Field(default=2.0, gt=0, le=30)
    # The operator's desk (agents/desk_stream.py, tickets/drafts.py).
    desk_replay: int = Field(
        default=256, ge=1, le=100_000, description="Stream messages kept per seat for a resume."
    )
    desk_earlier_tickets: int = Field(
        default=5, ge=0, le=50, description="The caller's earlier tickets in the screen pop."
    )
    repeat_caller_days: float = Field(
        default=30.0, gt=0, description="A ticket of the number this recent: a repeat caller."
    )
    desk_full_number: bool = Field(
        default=False,
        description="Send the caller's full number to the operator at the call's seat.",
    )
    draft_wrapup_limit_s: float = Field(
        default=300.0, gt=0, description="A draft not submitted this long after the call ends."
    )
    draft_sweep_s: float = Field(default=10.0, gt=0, description="How often drafts are swept.")
    desk_presence_grace_s: float = Field(
        default=60.0,
        ge=0,
        description="A seat keeps its operator this long after their stream closed.",
    )
    # The embedded PBX (used only when ami_url is unset). Unset, these keep the defaults of
    # pbx.simulator.SimulatorConfig, the PBX's one configuration; the seed is then random.
    sim_seats: int | None = Field(default=None, ge=1, le=5000)
    sim_speed: float | None = Field(default=None, gt=0)
    sim_ring_s: float | None = Field(default=None, ge=0)
    sim_seed: int | None = None
    sim_queue: str | None = None
    # The embedded PBX's simulated operators (hotline/desk_robots.py): one per seat, each
    # signed in and working over the HTTP API and the live stream; off, the seats are logged
    # in through the gateway and the simulated operator decides each call's ticket.
    sim_operators: bool = Field(
        default=True,
        description="Simulated operators at the embedded PBX's seats use the desk API.",
    )
    sim_breaks_per_hour: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="Breaks each simulated operator takes per simulated hour (hotline serve).",
    )
    # The simulated callers of `hotline serve` (the traffic, not the PBX).
    sim_calls_per_hour: float = Field(default=1200.0, gt=0)
    sim_talk_mean_s: float = Field(default=150.0, gt=0)
    sim_patience_mean_s: float = Field(default=120.0, gt=0)
    # Accounts (agents/): the key that signs access tokens, and how long tokens live.
    token_secret: SecretStr | None = Field(
        default=None,
        description="HS256 key of the access tokens (32+ bytes); unset: random per process.",
    )
    access_token_ttl_s: float = Field(default=900.0, gt=0, le=86400)
    refresh_token_ttl_s: float = Field(default=12 * 3600.0, gt=0, le=30 * 86400)
    signin_max_failures: int = Field(default=5, ge=1, description="Per user name, then locked.")
    signin_max_failures_per_address: int = Field(default=20, ge=1)
    signin_lock_s: float = Field(default=30.0, gt=0, description="First lock; doubles after.")
    signin_lock_max_s: float = Field(default=900.0, gt=0)
    # Supervision of the tickets' deadlines (hotline/supervision_job.py).
    supervision_interval_s: float = Field(
        default=60.0, gt=0, description="How often running tickets are scanned for deadlines."
    )
    escalation_webhooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON: department code -> URL escalations are POSTed to; "*" for the rest.',
    )
    escalation_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # Early warning of ticket bursts (tickets/bursts.py, hotline/early_warning_job.py).
    early_warning_interval_s: float = Field(
        default=300.0, gt=0, description="How often the ticket counts are checked for bursts."
    )
    early_warning_window_s: float = Field(
        default=3600.0, ge=60, le=86400, description="The window tickets are counted over."
    )
    early_warning_baseline_days: int = Field(
        default=14, ge=1, le=60, description="Earlier days of the same kind the baseline spans."
    )
    early_warning_min_count: int = Field(
        default=10, ge=1, description="Fewest tickets in the window that can be a burst."
    )
    early_warning_min_ratio: float = Field(
        default=2.0, ge=1.0, description="A burst is at least this many times the usual count."
    )
    early_warning_alpha: float = Field(
        default=1e-7, gt=0, lt=1, description="The test's p-value under which a burst starts."
    )
    early_warning_clear_alpha: float = Field(
        default=1e-2, gt=0, lt=1, description="The p-value over which a burst ends."
    )
    early_warning_webhooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON: "matter", "district" or "*" -> URL burst alerts are POSTed to.',
    )
    # The routing help (routing/suggestions.py) learns from the dispatchers' choices.
    routing_relearn_s: float = Field(
        default=3600.0, gt=0, description="How often the dispatchers' choices are learnt again."
    )
    routing_choices: int = Field(
        default=50_000, ge=0, description="The newest dispatchers' choices learnt from."
    )
    # Callbacks of replied tickets (hotline/callback_job.py): off without a channel.
    callback_channel: str | None = Field(
        default=None,
        description="Originate's Channel of a callback, {number} the citizen's: SIP/x/{number}.",
    )
    callback_delay_s: float = Field(default=3600.0, ge=0, description="After the reply.")
    callback_attempts: int = Field(default=3, ge=1, le=20)
    callback_retry_s: float = Field(default=7200.0, gt=0)
    callback_interval_s: float = Field(default=60.0, gt=0)
    callback_hours: str = Field(
        default="09:00-20:00", description="Local hours callbacks are made in (HH:MM-HH:MM)."
    )

    @field_validator("ami_url")
    @classmethod
    def _check_ami_url(cls, v: str | None) -> str | None:
        if v:
            AmiTarget.parse(v)
            return v
        return None

    @field_validator("escalation_webhooks")
    @classmethod
    def _check_webhooks(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for department, url in v.items():
            if not url.get_secret_value().startswith(("http://", "https://")):
                raise ValueError(f"{department}: an http:// or https:// URL")
        return v

    @field_validator("early_warning_webhooks")
    @classmethod
    def _check_early_warning_webhooks(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key in v:
            if key not in ("matter", "district", "*"):
                raise ValueError(f'{key}: a key is "matter", "district" or "*"')
        return cls._check_webhooks(v)

    @model_validator(mode="after")
    def _check_early_warning_levels(self) -> Settings:
        if self.early_warning_alpha > self.early_warning_clear_alpha:
            raise ValueError(
                "HOTLINE_EARLY_WARNING_ALPHA must not exceed HOTLINE_EARLY_WARNING_CLEAR_ALPHA "
                "(a burst starts under the first and ends over the second)"
            )
        return self

    @model_validator(mode="after")
    def _check_centre(self) -> Settings:
        # A site whose own configuration folder has no centres.yaml runs as the default
        # centre, as it did before centres existed; any other centre must be in the file.
        centres = load_centres(self.config_dir)
        if self.centre not in centres:
            raise ValueError(
                f"HOTLINE_CENTRE={self.centre!r} is not a centre of {CENTRES_FILE}: "
                f"use one of {', '.join(centres.centres)}"
            )
        return self

    @field_validator("callback_channel")
    @classmethod
    def _check_callback_channel(cls, v: str | None) -> str | None:
        if v and "{number}" not in v:
            raise ValueError("put {number} where the citizen's number goes: SIP/carrier/{number}")
        return v or None

    @field_validator("callback_hours")
    @classmethod
    def _check_callback_hours(cls, v: str) -> str:
        callback_window(v)
        return v

    @field_validator("token_secret")
    @classmethod
    def _check_token_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if len(v.get_secret_value().encode("utf-8")) < 32:
            raise ValueError(
                "at least 32 bytes: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return v

    @property
    def ami(self) -> AmiTarget | None:
        return AmiTarget.parse(self.ami_url) if self.ami_url else None


def async_database_url(url: str) -> str:
    """The URL with an asyncio driver: ``postgresql://`` becomes ``postgresql+asyncpg://``,
    ``sqlite://`` becomes ``sqlite+aiosqlite://``; explicit drivers are kept."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL (no '://'): {url.split('@')[-1]!r}")
    base = scheme.split("+", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+asyncpg://" + rest
    if scheme == "sqlite":
        return "sqlite+aiosqlite://" + rest
    if base not in ("postgresql", "sqlite"):
        raise ValueError(f"unsupported database {base!r}: use postgresql:// or sqlite://")
    return url


def callback_window(text: str) -> tuple[time, time]:
    """``HH:MM-HH:MM`` (local; ``24:00`` is the end of the day) as two times, the first
    before the second; ValueError saying what is wrong."""
    try:
        start, end = (part.strip() for part in text.split("-"))
        times = []
        for part in (start, end):
            hh, mm = (int(x) for x in part.split(":"))
            times.append(time.max if (hh, mm) == (24, 0) else time(hh, mm))
    except ValueError:
        raise ValueError(f"{text!r}: HH:MM-HH:MM, e.g. 09:00-20:00") from None
    if not times[0] < times[1]:
        raise ValueError(f"{text!r}: the start must come before the end")
    return times[0], times[1]
