"""Typed configuration of the service: one `Settings` object from a TOML file and `LISTENER_*` variables.

Why one module: every other package receives the parts of `Settings` it needs, already validated; nothing
else reads the environment or a config file. Precedence, lowest first: built-in defaults, the TOML file
(`--config`, `LISTENER_CONFIG`, or `./listener.toml` when present), then `LISTENER_*` environment variables.
Secrets (tokens, passwords, the session key) are read *only* from the environment: a secret written in the
TOML file is refused with the name of the variable to use instead, so config files can be shared safely.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_PATH = Path("listener.toml")
ENV_PREFIX = "LISTENER_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key or variable to fix."""


class _Section(BaseModel):
    # Unknown keys are typos far more often than intent: refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignSettings(_Section):
    """One awareness campaign: what to listen for and how to read it."""

    name: str
    hashtags: list[str] = Field(min_length=1)
    keywords: list[str] = []
    excluded: list[str] = []
    languages: list[Literal["ar", "fr", "en"]] = ["fr"]
    region: str = ""
    timezone: str = "UTC"
    start: date | None = None
    end: date | None = None
    exclude_reposts: bool = True
    consent_hashtag: str | None = None
    report_recipients: list[str] = []  # who receives the weekly report by e-mail (needs [smtp])

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, tags: list[str]) -> list[str]:
        cleaned = [t.strip().lstrip("#") for t in tags]
        bad = [t for t in cleaned if not t or any(c.isspace() for c in t)]
        if bad:
            raise ValueError(f"hashtags must be single words, got {bad!r}")
        return cleaned

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r} (use an IANA name such as 'Europe/Paris')") from None
        return tz

    @field_validator("report_recipients")
    @classmethod
    def _recipients(cls, addresses: list[str]) -> list[str]:
        cleaned = [a.strip() for a in addresses]
        bad = [a for a in cleaned if "@" not in a or any(c.isspace() or c in ",;<>" for c in a)]
        if bad:
            raise ValueError(f"report_recipients must be plain e-mail addresses such as team@example.org, got {bad!r}")
        return cleaned

    @model_validator(mode="after")
    def _dates(self) -> CampaignSettings:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


def default_campaigns() -> dict[str, CampaignSettings]:
    """The two campaigns the service was built for; a config file's [campaigns] replaces them."""
    return {
        "lovelocal": CampaignSettings(
            name="#LoveLocal",
            hashtags=["LoveLocal"],
            languages=["ar", "fr", "en"],
            region="MENA",
            timezone="Africa/Casablanca",
            consent_hashtag="OuiLoveLocal",
        ),
        "soutenons": CampaignSettings(
            name="#SoutenonsnosTPEPME",
            hashtags=["SoutenonsnosTPEPME"],
            languages=["fr"],
            region="France",
            timezone="Europe/Paris",
            consent_hashtag="OuiSoutenons",
        ),
    }


class XSettings(_Section):
    enabled: bool = True
    # tweepy calls https://api.twitter.com; another host:port here receives those connections (see
    # listener.session), verified against the system CAs plus `ca_file`.
    base_url: str = "https://api.twitter.com"
    ca_file: Path | None = None
    exclude_reposts: bool = True
    interval_minutes: int = Field(default=15, ge=1)
    # `listener run` also follows the filtered stream (near real time; needs filtered-stream access),
    # one rule per campaign; recent search keeps running at interval_minutes and fills any gap.
    stream: bool = False

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"CA file {path} does not exist")
        return path


class MastodonSettings(_Section):
    enabled: bool = True
    instances: list[str] = ["https://mastodon.social"]
    backfill_pages: int = Field(default=10, ge=1, le=1000)  # first run: how far back (40 statuses a page)
    interval_minutes: int = Field(default=10, ge=1)

    @field_validator("instances")
    @classmethod
    def _urls(cls, instances: list[str]) -> list[str]:
        bad = [i for i in instances if not i.startswith(("https://", "http://"))]
        if bad:
            raise ValueError(f"instances must be URLs such as https://mastodon.social, got {bad!r}")
        return [i.rstrip("/") for i in instances]


class BlueskySettings(_Section):
    enabled: bool = True
    base_url: str = "https://bsky.social"
    handle: str | None = None
    backfill_pages: int = Field(default=10, ge=1, le=1000)  # first run: how far back (100 posts a page)
    interval_minutes: int = Field(default=10, ge=1)


class InstagramSettings(_Section):
    enabled: bool = True
    base_url: str = "https://graph.facebook.com/v21.0"
    business_account_id: str | None = None
    top_media: bool = False  # also read each hashtag's top media (besides the last 24 hours' recent media)
    interval_minutes: int = Field(default=60, ge=1)


class RssSettings(_Section):
    enabled: bool = True
    feeds: list[str] = []
    interval_minutes: int = Field(default=30, ge=1)


class SourcesSettings(_Section):
    x: XSettings = XSettings()
    mastodon: MastodonSettings = MastodonSettings()
    bluesky: BlueskySettings = BlueskySettings()
    instagram: InstagramSettings = InstagramSettings()
    rss: RssSettings = RssSettings()


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    session_hours: int = Field(default=12, ge=1, le=24 * 90)
    # Failed sign-ins allowed per e-mail and per client address within login_window_minutes.
    login_attempts: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A merchant's invitation link works once, for this many days.
    invite_days: int = Field(default=7, ge=1, le=90)
    # `listener serve`: processes sharing the port (service/prefork.py); 0: one per core.
    processes: int = Field(default=1, ge=0, le=32)


class SchedulerSettings(_Section):
    enabled: bool = True
    housekeeping_minutes: int = Field(default=60, ge=1)
    collect: bool = True  # collect each ready source at its interval_minutes
    refresh_minutes: int = Field(default=60, ge=1)
    # `listener run` analyses new posts as they arrive, looking every analyse_poll_seconds when idle (the nlp
    # models load on the first post to analyse).
    analyse: bool = True
    analyse_poll_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    stories: bool = True  # score stories, grant and expire rights every [stories] scoring_minutes


class StoriesSettings(_Section):
    """The featured-stories queue: which posts become candidates, how rights requests expire, rotation."""

    min_score: float = Field(default=0.35, ge=0.0, le=1.0)  # posts scoring below are not candidates
    lookback_days: int = Field(default=30, ge=1, le=365)  # how far back the scoring job looks
    rights_expiry_days: int = Field(default=14, ge=1, le=365)
    max_per_merchant_per_week: int = Field(default=2, ge=1, le=100)
    feature_days: int = Field(default=7, ge=1, le=90)  # default feature window
    feed_size: int = Field(default=20, ge=1, le=200)  # stories in the public feed and widget
    scoring_minutes: int = Field(default=15, ge=1)


class RefreshSettings(_Section):
    """Engagement refresh: metrics of recent posts are re-read so growth is seen (and kept as snapshots)."""

    refresh_days: int = Field(default=7, ge=0, le=90)
    refresh_limit: int = Field(default=2000, ge=0, le=100_000)  # posts per source per run, newest first


class SmtpSettings(_Section):
    """Outgoing mail for the merchant digests and alerts. Nothing is sent unless `host` and `from_address`
    are set; the password comes only from LISTENER_SMTP_PASSWORD."""

    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)  # default by tls: 25 none, 587 starttls, 465 implicit
    tls: Literal["none", "starttls", "implicit"] = "starttls"
    username: str | None = None  # AUTH only when set (with LISTENER_SMTP_PASSWORD)
    from_address: str | None = None  # e.g. "#LoveLocal <noreply@example.org>"
    timeout: float = Field(default=30.0, gt=0, le=600)  # seconds per SMTP step
    ca_file: Path | None = None  # extra CA certificates to trust (a private mail relay); system CAs otherwise

    @property
    def configured(self) -> bool:
        return bool(self.host and self.from_address)

    @property
    def effective_port(self) -> int:
        return self.port or {"none": 25, "starttls": 587, "implicit": 465}[self.tls]

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"CA file {path} does not exist")
        return path


class NotificationsSettings(_Section):
    """Merchant e-mails: the weekly digest (due at a local weekday and hour, in the time zone of the merchant's
    campaign) and the negative-mention spike alert (see jobs/notify.py for the rule)."""

    enabled: bool = True  # the scheduler runs the digest and spike jobs (only when [smtp] is configured)
    digest_weekday: int = Field(default=1, ge=1, le=7)  # ISO weekday the digest of the past week is due: 1 Monday
    digest_hour: int = Field(default=8, ge=0, le=23)  # local hour it is due
    digest_check_minutes: int = Field(default=15, ge=1)  # how often the scheduler looks for due digests
    best_posts: int = Field(default=3, ge=0, le=20)  # best posts shown per merchant in a digest
    spike_minutes: int = Field(default=30, ge=1)  # how often the spike check runs
    spike_window_hours: int = Field(default=24, ge=1, le=24 * 7)  # negatives counted over this window...
    spike_baseline_days: int = Field(default=28, ge=1, le=365)  # ...against the daily average of these days
    spike_factor: float = Field(default=3.0, ge=1.0, le=100.0)  # alert at factor x the average...
    spike_min_count: int = Field(default=3, ge=1, le=10_000)  # ...and never below this many
    # A delivery still failing this long after its first attempt is given up (logged as an error, listed by
    # `listener notify status`); until then every run retries it.
    give_up_hours: int = Field(default=72, ge=1, le=24 * 60)


class RetentionSettings(_Section):
    """How long personal data is kept (the daily purge, `listener privacy purge`); 0 disables a rule."""

    # Raw platform payloads (and quarantined ones) are blanked after this many days; never before the
    # engagement refresh is done with a post ([refresh] refresh_days), which re-reads its payload.
    raw_payload_days: int = Field(default=90, ge=0, le=36_500)
    # Posts of people who never took part in the rights flow (no rights request on a story of theirs, no
    # consent reply) are deleted after this many days; featured and granted stories' posts are kept.
    non_interacting_days: int = Field(default=365, ge=0, le=36_500)
    # Posts the platform says were deleted (found by the engagement refresh) are deleted here too.
    remove_deleted_upstream: bool = True
    batch_size: int = Field(default=500, ge=10, le=50_000)  # posts per purge transaction (~0.4 s on SQLite)


class ReportsSettings(_Section):
    """The weekly reach report (jobs/report.py): generated every Monday at `hour` in each campaign's time zone
    for the week just ended, stored, and e-mailed to the campaign's `report_recipients` (through [smtp])."""

    enabled: bool = True  # the scheduler generates (and e-mails) each campaign's report every Monday
    hour: int = Field(default=8, ge=0, le=23)  # local hour on Monday
    language: Literal["en", "fr"] = "en"  # of the generated documents (the web page follows the reader's)
    top: int = Field(default=10, ge=1, le=100)  # rows of the top posts and merchant tables
    attachments: list[Literal["pdf", "html", "csv", "json"]] = ["pdf", "csv"]  # files attached to the e-mail
    # Connections reading a week's posts at once, each a share of the authors (storage/repositories/
    # report_parts.py); 0: one per core, at most 4.
    parallel: int = Field(default=0, ge=0, le=8)


class FileSettings(_Section):
    """Everything a TOML file may hold. Secrets are deliberately absent (see `Secrets`)."""

    data_dir: Path = Path("data")
    database_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # text: one readable line per record; json: one JSON object per line, for a log collector.
    log_format: Literal["text", "json"] = "text"
    campaigns: dict[str, CampaignSettings] = Field(default_factory=default_campaigns)
    sources: SourcesSettings = SourcesSettings()
    web: WebSettings = WebSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    refresh: RefreshSettings = RefreshSettings()
    stories: StoriesSettings = StoriesSettings()
    retention: RetentionSettings = RetentionSettings()
    smtp: SmtpSettings = SmtpSettings()
    notifications: NotificationsSettings = NotificationsSettings()
    reports: ReportsSettings = ReportsSettings()

    @field_validator("campaigns")
    @classmethod
    def _campaign_slugs(cls, campaigns: dict[str, CampaignSettings]) -> dict[str, CampaignSettings]:
        for slug in campaigns:
            if not slug.replace("-", "").replace("_", "").isalnum() or not slug.isascii():
                raise ValueError(f"campaign key {slug!r} must be ASCII letters, digits, '-' or '_'")
        if not campaigns:
            raise ValueError("at least one campaign is required")
        return campaigns

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://' (the async drivers we ship)"
            )
        return url


# Secret name -> environment variable. Values never live in files, logs or pages.
SECRET_ENV: dict[str, str] = {
    "secret_key": "LISTENER_SECRET_KEY",
    "x_bearer_token": "LISTENER_X_BEARER_TOKEN",
    "mastodon_token": "LISTENER_MASTODON_TOKEN",
    "bluesky_app_password": "LISTENER_BLUESKY_APP_PASSWORD",
    "instagram_access_token": "LISTENER_INSTAGRAM_ACCESS_TOKEN",
    "smtp_password": "LISTENER_SMTP_PASSWORD",
    "metrics_token": "LISTENER_METRICS_TOKEN",
}
# Keys that look like secrets: if one appears in the TOML file we point at the variable instead.
_SECRET_KEYS_IN_FILE = {
    "secret_key": "LISTENER_SECRET_KEY",
    "bearer_token": "LISTENER_X_BEARER_TOKEN",
    "token": "LISTENER_MASTODON_TOKEN",
    "access_token": "LISTENER_INSTAGRAM_ACCESS_TOKEN",
    "app_password": "LISTENER_BLUESKY_APP_PASSWORD",
    "password": "LISTENER_SMTP_PASSWORD",
}


class Secret:
    """A string that does not print itself: `str()`/`repr()` show a mask, `.reveal()` the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Secrets:
    values: Mapping[str, Secret] = field(default_factory=dict)

    def get(self, name: str) -> Secret | None:
        return self.values.get(name)


@dataclass(frozen=True)
class Settings:
    """The validated configuration handed down from the edge (CLI) to every part of the service."""

    data_dir: Path
    database_url: str
    log_level: str
    log_format: str
    campaigns: Mapping[str, CampaignSettings]
    sources: SourcesSettings
    web: WebSettings
    scheduler: SchedulerSettings
    refresh: RefreshSettings
    stories: StoriesSettings
    secrets: Secrets
    config_path: Path | None
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    notifications: NotificationsSettings = field(default_factory=NotificationsSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _env_bindings() -> dict[str, tuple[str, ...]]:
    """Map every settable scalar to its variable: top level LISTENER_KEY, sections LISTENER_SECTION_KEY,
    sources LISTENER_<SOURCE>_KEY (e.g. LISTENER_X_ENABLED, LISTENER_WEB_PORT)."""
    bindings: dict[str, tuple[str, ...]] = {}
    for name in ("data_dir", "database_url", "log_level", "log_format"):
        bindings[f"{ENV_PREFIX}{name.upper()}"] = (name,)
    sections: tuple[tuple[str, type[BaseModel]], ...] = (
        ("web", WebSettings),
        ("scheduler", SchedulerSettings),
        ("refresh", RefreshSettings),
        ("stories", StoriesSettings),
        ("retention", RetentionSettings),
        ("smtp", SmtpSettings),
        ("notifications", NotificationsSettings),
        ("reports", ReportsSettings),
    )
    for section, section_model in sections:
        for name in section_model.model_fields:
            bindings[f"{ENV_PREFIX}{section.upper()}_{name.upper()}"] = (section, name)
    for source, info in SourcesSettings.model_fields.items():
        source_model = info.annotation
        assert isinstance(source_model, type)
        assert issubclass(source_model, BaseModel)
        for name in source_model.model_fields:
            bindings[f"{ENV_PREFIX}{source.upper()}_{name.upper()}"] = ("sources", source, name)
    return bindings


ENV_BINDINGS = _env_bindings()


def _env_value(path: tuple[str, ...], raw: str) -> Any:
    # Lists come as comma-separated values; pydantic converts the scalars ("true", "8080").
    if path[-1] in {"instances", "feeds", "attachments"}:
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _merge_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Apply LISTENER_* overrides into `data`; returns which dotted key each variable set."""
    applied: dict[str, str] = {}
    for var, path in ENV_BINDINGS.items():
        if var not in environ:
            continue
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = _env_value(path, environ[var])
        applied[".".join(path)] = var
    return applied


def _find_secret_in_file(data: Any, where: str = "") -> tuple[str, str] | None:
    if isinstance(data, dict):
        for key, value in data.items():
            dotted = f"{where}.{key}" if where else key
            if key in _SECRET_KEYS_IN_FILE and not isinstance(value, dict):
                return dotted, _SECRET_KEYS_IN_FILE[key]
            found = _find_secret_in_file(value, dotted)
            if found:
                return found
    return None


def _describe(error: Mapping[str, Any], origin: str, env_for: Mapping[str, str]) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = ".".join(str(p) for p in error["loc"][:-1])
        section = f"[{parent}]" if parent else "the top level"
        key = error["loc"][-1]
        return f"{origin}: unknown key '{key}' in {section} (check the spelling against listener.example.toml)"
    source = f"{env_for[loc]} (environment)" if loc in env_for else origin
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    shown = "" if isinstance(value, dict | list) or value is None else f", got {value!r}"
    return f"{source}: {loc}: {message}{shown}"


def load_settings(
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load, merge and validate the configuration. Raises ConfigError with one clear line."""
    env = os.environ if environ is None else environ
    explicit = config_path if config_path is not None else env.get(f"{ENV_PREFIX}CONFIG")
    path = Path(explicit) if explicit else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    used_path: Path | None = None
    if path.is_file():
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
        used_path = path
    elif explicit:
        how = "--config" if config_path is not None else f"{ENV_PREFIX}CONFIG"
        raise ConfigError(
            f"{path}: config file not found (given by {how}); copy listener.example.toml there or fix the path"
        )
    secret = _find_secret_in_file(data)
    if secret:
        key, var = secret
        raise ConfigError(f"{path}: {key}: secrets are not read from files; set the environment variable {var}")
    applied = _merge_env(data, env)
    origin = str(used_path) if used_path else "defaults"
    try:
        parsed = FileSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], origin, applied)) from None
    data_dir = parsed.data_dir
    database_url = parsed.database_url or f"sqlite+aiosqlite:///{data_dir / 'listener.db'}"
    secrets = {name: Secret(env[var]) for name, var in SECRET_ENV.items() if env.get(var)}
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        log_level=parsed.log_level,
        log_format=parsed.log_format,
        campaigns=parsed.campaigns,
        sources=parsed.sources,
        web=parsed.web,
        scheduler=parsed.scheduler,
        refresh=parsed.refresh,
        stories=parsed.stories,
        secrets=Secrets(secrets),
        config_path=used_path,
        retention=parsed.retention,
        smtp=parsed.smtp,
        notifications=parsed.notifications,
        reports=parsed.reports,
    )
