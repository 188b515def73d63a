"""The pipeline's one redaction (`channels.redact`, re-exported), with the settings' secret values.

Applied at the edges: channel errors before they are shown or stored (deliveries.last_error, the
ledger's details, job_runs.detail), `comms channels check`, the command line's messages, and every
log record (`pipeline.logs` installs `RedactingFilter`)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from channels.redact import HIDDEN, Redactor, credentials, redact
from pipeline.settings import SECRET_FIELDS, Settings

__all__ = ["HIDDEN", "Redactor", "credentials", "redact", "redactor", "secret_values"]


def secret_values(settings: Settings) -> frozenset[str]:
    """Every secret setting's value, each channel's own included, and the database URL's password."""
    values = {getattr(settings, name) for name in SECRET_FIELDS}
    for overrides in settings.channel_overrides.values():
        values |= {value for name, value in overrides.items() if name in SECRET_FIELDS}
    password = urlsplit(settings.database_url).password
    if password:
        values |= {password, unquote(password)}
    return frozenset(str(value) for value in values if value)


def redactor(settings: Settings) -> Redactor:
    return Redactor(secret_values(settings))
