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


class SchedulerSettings(_Section):
    enabled: bool = True
    housekeeping_minutes: int = Field(default=60, ge=1)
    collect: bool = True  # collect each ready source at its interval_minutes
    refresh_minutes: int = Field(default=60, ge=1)
    analyse: bool = True  # analyse new posts every analyse_minutes (the nlp models load on first need)
    analyse_minutes: int = Field(default=5, ge=1)
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


class FileSettings(_Section):
    """Everything a TOML file may hold. Secrets are deliberately absent (see `Secrets`)."""

    data_dir: Path = Path("data")
    database_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    campaigns: dict[str, CampaignSettings] = Field(default_factory=default_campaigns)
    sources: SourcesSettings = SourcesSettings()
    web: WebSettings = WebSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    refresh: RefreshSettings = RefreshSettings()
    stories: StoriesSettings = StoriesSettings()

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
    campaigns: Mapping[str, CampaignSettings]
    sources: SourcesSettings
    web: WebSettings
    scheduler: SchedulerSettings
    refresh: RefreshSettings
    stories: StoriesSettings
    secrets: Secrets
    config_path: Path | None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _env_bindings() -> dict[str, tuple[str, ...]]:
    """Map every settable scalar to its variable: top level LISTENER_KEY, sections LISTENER_SECTION_KEY,
    sources LISTENER_<SOURCE>_KEY (e.g. LISTENER_X_ENABLED, LISTENER_WEB_PORT)."""
    bindings: dict[str, tuple[str, ...]] = {}
    for name in ("data_dir", "database_url", "log_level"):
        bindings[f"{ENV_PREFIX}{name.upper()}"] = (name,)
    sections: tuple[tuple[str, type[BaseModel]], ...] = (
        ("web", WebSettings),
        ("scheduler", SchedulerSettings),
        ("refresh", RefreshSettings),
        ("stories", StoriesSettings),
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
    if path[-1] in {"instances", "feeds"}:
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
        campaigns=parsed.campaigns,
        sources=parsed.sources,
        web=parsed.web,
        scheduler=parsed.scheduler,
        refresh=parsed.refresh,
        stories=parsed.stories,
        secrets=Secrets(secrets),
        config_path=used_path,
    )
