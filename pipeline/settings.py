"""All settings in one typed object, read from the environment and `.env` and checked at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from pipeline.errors import SettingsError

SECRET_FIELDS = frozenset(
    {
        "smtp_password",
        "secret_key",
        "mastodon_token",
        "notify_api_key",
        "facebook_page_token",
        "x_token",
        "linkedin_token",
        "bluesky_app_password",
        "microsoft_client_secret",
        "wordpress_app_password",
    }
)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/comms.db"
    timezone: str = "Europe/London"
    workspace: Path = Path("examples/thurrock")
    outbox_dir: Path = Path("var/outbox")
    reports_dir: Path = Path("var/reports")
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | tls
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_pool_size: int = 2
    smtp_rate_per_hour: int = 0  # 0: unlimited
    mail_from: str = "Prevent Communications <prevent@example.org>"
    public_base_url: str = "http://localhost:8000"
    secret_key: str = field(default="", repr=False)
    file_channels: tuple[str, ...] = ()  # channel codes routed to the file adapter ("*" for every non-email)
    mastodon_base_url: str = ""
    mastodon_token: str = field(default="", repr=False)
    notify_api_key: str = field(default="", repr=False)
    notify_template_id: str = ""
    notify_api_url: str = "https://api.notifications.service.gov.uk"
    facebook_page_id: str = ""
    facebook_page_token: str = field(default="", repr=False)
    facebook_graph_url: str = "https://graph.facebook.com/v21.0"
    x_token: str = field(default="", repr=False)
    x_api_url: str = "https://api.x.com"
    linkedin_author: str = ""  # urn:li:organization:NNN
    linkedin_token: str = field(default="", repr=False)
    linkedin_api_url: str = "https://api.linkedin.com"
    linkedin_version: str = "202411"
    bluesky_handle: str = ""
    bluesky_app_password: str = field(default="", repr=False)
    bluesky_pds_url: str = "https://bsky.social"
    microsoft_tenant_id: str = ""
    microsoft_client_id: str = ""
    microsoft_client_secret: str = field(default="", repr=False)
    microsoft_login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    sharepoint_site_id: str = ""
    viva_engage_group_id: str = ""
    viva_engage_api_url: str = "https://api.yammer.com"
    wordpress_url: str = ""
    wordpress_username: str = ""
    wordpress_app_password: str = field(default="", repr=False)
    feed_timeout_seconds: float = 10.0
    feed_max_bytes: int = 5_000_000
    feed_workers: int = 8
    misfire_grace_seconds: int = 900
    claim_lease_seconds: int = 600  # a send or compose claim not finished by then counts as abandoned
    clock_stale_seconds: int = 120  # a clock whose heartbeat is older than this has lost the lock (SQLite)
    log_level: str = "INFO"
    # Per-channel settings, from COMMS_CHANNEL__<CODE>__<SETTING>: a second Facebook Page, say.
    channel_overrides: dict[str, dict[str, object]] = field(default_factory=dict, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def redacted(self) -> dict[str, str]:
        """Every setting as text, secrets shown only as set or unset: safe to log or print."""
        out = {}
        for f in fields(self):
            if f.name == "channel_overrides":
                continue
            value = getattr(self, f.name)
            out[f.name] = ("(set)" if value else "(unset)") if f.name in SECRET_FIELDS else str(value)
        for code, values in sorted(self.channel_overrides.items()):
            for name, value in sorted(values.items()):
                shown = ("(set)" if value else "(unset)") if name in SECRET_FIELDS else str(value)
                out[f"{code}.{name}"] = shown
        return out

    def for_channel(self, code: str) -> Settings:
        """These settings with the channel's own (COMMS_CHANNEL__<CODE>__<SETTING>) laid over them."""
        overrides = self.channel_overrides.get(channel_env_code(code))
        return replace(self, **overrides) if overrides else self  # type: ignore[arg-type]


ENV = {f.name: f"COMMS_{f.name.upper()}" for f in fields(Settings) if f.name != "channel_overrides"}
CHANNEL_PREFIX = "COMMS_CHANNEL__"
# What a channel may set for itself: its destination's account and token, not the database or clock.
PER_CHANNEL = frozenset(
    name
    for name in ENV
    if name.split("_")[0]
    in {
        "smtp",
        "mail",
        "mastodon",
        "notify",
        "facebook",
        "x",
        "linkedin",
        "bluesky",
        "microsoft",
        "graph",
        "sharepoint",
        "viva",
        "wordpress",
    }
)


def channel_env_code(code: str) -> str:
    """A channel code as it appears in a variable name: `prevent-facebook` -> PREVENT_FACEBOOK."""
    return code.upper().replace("-", "_")


def _convert(name: str, raw: str) -> object:
    default = getattr(Settings, name, None)
    if name in ("workspace", "outbox_dir", "reports_dir"):
        return Path(raw)
    if name == "file_channels":
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{ENV[name]}={raw!r}: must be a whole number") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{ENV[name]}={raw!r}: must be a number") from None
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), **overrides: object
) -> Settings:
    """Settings from `.env` (if present), then the environment, then explicit overrides; checked."""
    source: dict[str, str] = {}
    if env_file is not None and env_file.exists():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for name, var in ENV.items():
        if var in source and source[var] != "":
            values[name] = _convert(name, source[var])
    values["channel_overrides"] = _channel_overrides(source)
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    for code in settings.channel_overrides:
        try:
            validate(settings.for_channel(code))
        except SettingsError as exc:
            raise SettingsError(f"channel {code} (COMMS_CHANNEL__{code}__...): {exc}") from None
    return settings


def _channel_overrides(source: Mapping[str, str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for var, raw in source.items():
        if not var.startswith(CHANNEL_PREFIX) or raw == "":
            continue
        code, sep, name = var[len(CHANNEL_PREFIX) :].partition("__")
        name = name.lower()
        if not sep or not code or name not in PER_CHANNEL:
            raise SettingsError(
                f"{var}: write COMMS_CHANNEL__<CODE>__<SETTING>, where SETTING is one of the channel settings "
                f"(e.g. FACEBOOK_PAGE_TOKEN); {name.upper() or '(none)'} is not one"
            )
        out.setdefault(code, {})[name] = _convert(name, raw)
    return out


def validate(settings: Settings) -> None:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"COMMS_TIMEZONE={settings.timezone!r} is not a known timezone; use Europe/London"
        ) from None
    if not settings.database_url.startswith(("sqlite:", "postgresql")):
        raise SettingsError(
            f"COMMS_DATABASE_URL must be sqlite:///path or postgresql+psycopg://..., not {settings.database_url!r}"
        )
    if settings.smtp_security not in ("none", "starttls", "tls"):
        raise SettingsError(f"COMMS_SMTP_SECURITY={settings.smtp_security!r}: use none, starttls or tls")
    if not 1 <= settings.smtp_port <= 65535:
        raise SettingsError(f"COMMS_SMTP_PORT={settings.smtp_port}: must be a port number, 1-65535")
    if settings.smtp_pool_size < 1:
        raise SettingsError("COMMS_SMTP_POOL_SIZE must be at least 1")
    if (
        settings.smtp_password
        and settings.smtp_security == "none"
        and settings.smtp_host not in ("localhost", "127.0.0.1")
    ):
        raise SettingsError(
            "COMMS_SMTP_PASSWORD is set but COMMS_SMTP_SECURITY=none would send it in clear; use starttls or tls"
        )
    if settings.claim_lease_seconds < 1 or settings.clock_stale_seconds < 1:
        raise SettingsError("COMMS_CLAIM_LEASE_SECONDS and COMMS_CLOCK_STALE_SECONDS must be at least 1")
    if settings.misfire_grace_seconds < 60:
        raise SettingsError("COMMS_MISFIRE_GRACE_SECONDS must be at least 60: a shorter grace loses runs on restart")
