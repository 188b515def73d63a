"""All settings in one typed object, read from the environment and `.env` and checked at start-up.

`Settings` is a pydantic-settings model: each field is read from `COMMS_<FIELD>`, typed and validated
by pydantic. `load_settings()` is the way in for the processes: it reads the env file and the
environment (or a given mapping), lays explicit overrides over them, adds each channel's own settings
(`COMMS_CHANNEL__<CODE>__<SETTING>`, typed and checked like the shared ones) and turns every problem
into one `SettingsError` line that names the variable and never shows a secret.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from channels.redact import redact
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
        "oidc_client_secret",
    }
)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known timezone; use Europe/London") from None
    return value


def _database_url(value: str) -> str:
    if not value.startswith(("sqlite:", "postgresql")):
        raise ValueError("must be sqlite:///path or postgresql+psycopg://user@host/db")
    return value


def _queue(value: str) -> str:
    if value not in ("embedded", "procrastinate"):
        raise ValueError("is not a way to run the jobs: use embedded (the clock runs them) or procrastinate (workers)")
    return value


def _log_format(value: str) -> str:
    if value not in ("text", "json"):
        raise ValueError("is not a log format: use text (one readable line per event) or json (one object a line)")
    return value


def _smtp_security(value: str) -> str:
    if value not in ("none", "starttls", "tls"):
        raise ValueError("is not a way to secure SMTP: use none, starttls or tls")
    return value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError("must be a port number, 1-65535")
    return value


def _at_least(least: float, why: str = "") -> AfterValidator:
    def check(value: float) -> float:
        if value < least:
            raise ValueError(f"must be at least {least:g}{why}")
        return value

    return AfterValidator(check)


def _codes(value: object) -> object:
    """`facebook, x` -> ("facebook", "x"); a tuple or list given in code passes through."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return value


Secret = Annotated[str, Field(repr=False)]


class Settings(BaseSettings):
    """Every setting, read from `COMMS_<NAME>`. Frozen: a process reads its settings once."""

    model_config = SettingsConfigDict(
        env_prefix="COMMS_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,  # a ValidationError's text never shows a value (a secret, say)
    )

    database_url: Annotated[str, AfterValidator(_database_url)] = "sqlite:///var/comms.db"
    timezone: Annotated[str, AfterValidator(_timezone)] = "Europe/London"
    workspace: Path = Path("examples/thurrock")
    outbox_dir: Path = Path("var/outbox")
    reports_dir: Path = Path("var/reports")
    smtp_host: str = "localhost"
    smtp_port: Annotated[int, AfterValidator(_port)] = 25
    smtp_security: Annotated[str, AfterValidator(_smtp_security)] = "none"  # none | starttls | tls
    smtp_username: str = ""
    smtp_password: Secret = ""
    smtp_pool_size: Annotated[int, _at_least(1)] = 2
    smtp_rate_per_hour: Annotated[int, _at_least(0)] = 0  # 0: unlimited
    # GOV.UK Notify's limits per service (API key): shared by every worker on PostgreSQL (0: unlimited).
    notify_rate_per_minute: Annotated[int, _at_least(0)] = 3000
    notify_rate_per_day: Annotated[int, _at_least(0)] = 250_000
    mail_from: str = "Prevent Communications <prevent@example.org>"
    public_base_url: str = "http://localhost:8000"
    secret_key: Secret = ""
    # Channel codes routed to the file adapter ("*" for every non-email), written `facebook, x`.
    file_channels: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_codes)] = ()
    mastodon_base_url: str = ""
    mastodon_token: Secret = ""
    notify_api_key: Secret = ""
    notify_template_id: str = ""
    notify_api_url: str = "https://api.notifications.service.gov.uk"
    facebook_page_id: str = ""
    facebook_page_token: Secret = ""
    facebook_graph_url: str = "https://graph.facebook.com/v21.0"
    x_token: Secret = ""
    x_api_url: str = "https://api.x.com"
    linkedin_author: str = ""  # urn:li:organization:NNN
    linkedin_token: Secret = ""
    linkedin_api_url: str = "https://api.linkedin.com"
    linkedin_version: str = "202411"
    bluesky_handle: str = ""
    bluesky_app_password: Secret = ""
    bluesky_pds_url: str = "https://bsky.social"
    microsoft_tenant_id: str = ""
    microsoft_client_id: str = ""
    microsoft_client_secret: Secret = ""
    microsoft_login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    sharepoint_site_id: str = ""
    viva_engage_group_id: str = ""
    viva_engage_api_url: str = "https://api.yammer.com"
    wordpress_url: str = ""
    wordpress_username: str = ""
    wordpress_app_password: Secret = ""
    # Google Analytics 4 (the Data API) for the web page's page views and downloads (`comms metrics pull`):
    # the property, the page paths (written `/prevent, /prevent/leaflet.pdf`), a service account's key
    # file, and the channel and objective its figures count for.
    ga4_property_id: str = ""
    ga4_page_paths: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_codes)] = ()
    ga4_credentials_file: str = ""
    ga4_channel: str = "website"
    ga4_objective: str = ""
    ga4_api_url: str = "https://analyticsdata.googleapis.com"
    ga4_token_url: str = ""  # default: the key file's token_uri
    # Links in editions go through /r/ on the web workspace, which counts clicks per edition, link and
    # audience (never per person); false sends links as they are and counts nothing.
    link_counting: bool = True
    feed_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    feed_max_bytes: Annotated[int, _at_least(1)] = 5_000_000
    feed_workers: Annotated[int, _at_least(1)] = 8
    misfire_grace_seconds: Annotated[int, _at_least(60, ": a shorter grace loses runs on restart")] = 900
    # A send or compose claim not finished by then counts as abandoned (a dead process on this host at once).
    claim_lease_seconds: Annotated[int, _at_least(60, ": a lease must outlast a slow send")] = 600
    # SQLite: a clock whose heartbeat is older than this has lost the clock lock to the next clock.
    clock_stale_seconds: Annotated[int, _at_least(1)] = 120
    log_level: str = "INFO"
    # `text`: one readable line per event, its fields as key=value; `json`: one JSON object per line
    # (event, level, logger, time and the event's fields), for a log shipper.
    log_format: Annotated[str, AfterValidator(_log_format)] = "text"
    # How the jobs run: `embedded` (the clock runs them in its own process; SQLite or PostgreSQL) or
    # `procrastinate` (PostgreSQL: the clock only enqueues, `comms worker` processes run the jobs).
    queue: Annotated[str, AfterValidator(_queue)] = "embedded"
    # A worker's heartbeat; a worker silent for three of them is stalled and its jobs are retried.
    worker_heartbeat_seconds: Annotated[int, _at_least(1)] = 10
    # The web workspace (`comms web`, at public_base_url: https:// in production, and cookies are then
    # Secure): sessions, single sign-on, staff emails.
    web_idle_minutes: Annotated[int, _at_least(1)] = 30
    # The web process checks every five minutes that the clock still wakes, and alerts the admins when it
    # has not for 30 minutes (the clock cannot report its own death).
    web_watchdog: bool = True  # signed out after this long without a request
    web_proxies: Annotated[int, _at_least(0)] = 0  # proxies in front whose X-Forwarded-For/-Proto/-Host to trust
    oidc_issuer: str = ""  # e.g. https://login.microsoftonline.com/<tenant>/v2.0; empty: local accounts only
    oidc_client_id: str = ""
    oidc_client_secret: Secret = ""
    oidc_roles_claim: str = "roles"  # Entra app roles; values such as Comms.Approver or approver
    staff_mail_from: str = ""  # sender of approval digests and alerts (default: mail_from)
    # Per-channel settings, from COMMS_CHANNEL__<CODE>__<SETTING> (a second Facebook Page, say): set by
    # load_settings, already typed and checked; never read from a variable of its own.
    _channel_overrides: dict[str, dict[str, object]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> Settings:
        if self.smtp_password and self.smtp_security == "none" and self.smtp_host not in ("localhost", "127.0.0.1"):
            raise ValueError(
                "COMMS_SMTP_PASSWORD is set but COMMS_SMTP_SECURITY=none would send it in clear; use starttls or tls"
            )
        return self

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> Settings:
        if self.queue == "procrastinate" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                "COMMS_QUEUE=procrastinate needs PostgreSQL (COMMS_DATABASE_URL=postgresql+psycopg://...); "
                "with SQLite use COMMS_QUEUE=embedded, where the clock runs the jobs itself"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def channel_overrides(self) -> Mapping[str, Mapping[str, object]]:
        """Each channel's own settings by channel code as in a variable name (PREVENT_FACEBOOK)."""
        return self._channel_overrides

    def redacted(self) -> dict[str, str]:
        """Every setting as text, secrets shown only as set or unset: safe to log or print."""
        out = {name: _shown(name, getattr(self, name)) for name in type(self).model_fields}
        for code, values in sorted(self._channel_overrides.items()):
            for name, value in sorted(values.items()):
                out[f"{code}.{name}"] = _shown(name, value)
        return out

    def for_channel(self, code: str) -> Settings:
        """These settings with the channel's own (COMMS_CHANNEL__<CODE>__<SETTING>) laid over them."""
        overrides = self._channel_overrides.get(channel_env_code(code))
        return self.model_copy(update=overrides) if overrides else self


def _shown(name: str, value: object) -> str:
    """A secret as set or unset; anything else as text, with a password in a URL hidden."""
    return ("(set)" if value else "(unset)") if name in SECRET_FIELDS else redact(str(value))


ENV = {name: f"COMMS_{name.upper()}" for name in Settings.model_fields}
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


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), **overrides: Any
) -> Settings:
    """Settings from `env_file` (if it exists), then the environment (`environ`, by default the process's),
    then explicit overrides (typed values, checked like the rest); then each channel's own. Raises
    SettingsError naming the variable to change; an unknown COMMS_ variable in the file is refused."""
    source = {**_read_env_file(env_file), **(os.environ if environ is None else environ)}
    settings = _validated({**_MappingSource(Settings, source)(), **overrides})
    channels = _channel_values(source)
    shared = settings.model_dump()
    for code, raw in channels.items():
        names = {**ENV, **{name: f"{CHANNEL_PREFIX}{code}__{name.upper()}" for name in raw}}
        try:
            merged = _validated({**shared, **raw}, names)
        except SettingsError as exc:
            raise SettingsError(f"channel {code} ({CHANNEL_PREFIX}{code}__...): {exc}") from None
        settings._channel_overrides[code] = {name: getattr(merged, name) for name in raw}
    return settings


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source reading a given mapping (the env file's values with the
    environment's laid over them) instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {var.lower(): value for var, value in environ.items() if value != ""}


def _validated(values: Mapping[str, Any], names: Mapping[str, str] = ENV) -> Settings:
    """Settings from exactly these values and the defaults: nothing else is read. `names` says which
    variable each field came from, for the message."""
    every = {name: field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items()}
    try:
        # Every field is given, so the model's own sources (os.environ, ./.env) cannot add anything.
        # mypy sees only the fields (pydantic's dataclass_transform), not BaseSettings' `_env_file`.
        return Settings(_env_file=None, **{**every, **values})  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError("; ".join(_problem(error, names) for error in exc.errors())) from None
    except SourceError as exc:
        raise SettingsError(str(exc)) from None


_KINDS = {
    "int": "must be a whole number",
    "float": "must be a number",
    "string": "must be text",
    "path": "must be a path",
    "tuple": "must be a list of channel codes, written facebook, x",
}


def _problem(error: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One problem as `COMMS_SMTP_PORT='abc' must be a whole number`; a secret's value is never shown."""
    if not error["loc"]:  # a rule across settings: its message names them
        return str(error["ctx"]["error"]) if "ctx" in error else str(error["msg"])
    name = str(error["loc"][0])
    var = names.get(name, f"COMMS_{name.upper()}")
    kind = str(error["type"])
    if kind == "value_error":
        problem = str(error["ctx"]["error"])
    elif kind == "greater_than":
        problem = f"must be more than {error['ctx']['gt']:g}"
    else:
        problem = next((text for prefix, text in _KINDS.items() if kind.startswith(prefix)), str(error["msg"]))
    shown = " (value not shown)" if name in SECRET_FIELDS else f"={error['input']!r}"
    return f"{var}{shown} {problem}"


def _read_env_file(env_file: Path | None) -> dict[str, str]:
    """The file's variables. A COMMS_ name that is no setting (a typo, or a setting since renamed) is
    refused, naming the closest setting: otherwise it would be silently ignored."""
    if env_file is None or not env_file.exists():
        return {}
    values = {var: value for var, value in dotenv_values(env_file).items() if value is not None}
    known = set(ENV.values())
    for var in values:
        name = var.upper()
        if name.startswith("COMMS_") and not name.startswith(CHANNEL_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean {close[0]}?" if close else "see .env.example for every setting"
            raise SettingsError(f"{var} in {env_file} is not a setting; {hint}")
    return values


def _channel_values(source: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """COMMS_CHANNEL__<CODE>__<SETTING> variables as {CODE: {setting: text}}; a setting a channel
    cannot have for itself is refused."""
    out: dict[str, dict[str, str]] = {}
    for var, raw in source.items():
        if not var.upper().startswith(CHANNEL_PREFIX) or raw == "":
            continue
        code, sep, name = var[len(CHANNEL_PREFIX) :].upper().partition("__")
        if not sep or not code or name.lower() not in PER_CHANNEL:
            raise SettingsError(
                f"{var}: write COMMS_CHANNEL__<CODE>__<SETTING>, where SETTING is one of the channel settings "
                f"(e.g. FACEBOOK_PAGE_TOKEN); {name or '(none)'} is not one"
            )
        out.setdefault(code, {})[name.lower()] = raw
    return out
