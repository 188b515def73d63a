"""Adapters looked up by kind. A channel in strategy.yaml names its kind (email, mastodon, ...); the
settings may route any channel to the file adapter instead, for dry runs and manual posting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.base import ChannelError
from channels.email_smtp import SmtpAdapter, SmtpConfig
from channels.file import FileAdapter
from channels.hootsuite import HootsuiteCsvAdapter
from channels.mastodon import MastodonAdapter
from channels.memory import MemoryAdapter

Factory = Callable[[str, Any], Any]


def _email(code: str, settings: Any) -> SmtpAdapter:
    return SmtpAdapter(
        code,
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.mail_from,
            pool_size=settings.smtp_pool_size,
            rate_per_hour=settings.smtp_rate_per_hour,
        ),
    )


FACTORIES: dict[str, Factory] = {
    "email": _email,
    "file": lambda code, settings: FileAdapter(code, settings.outbox_dir),
    "memory": lambda code, settings: MemoryAdapter(code),
    "mastodon": lambda code, settings: MastodonAdapter(code, settings.mastodon_base_url, settings.mastodon_token),
    "hootsuite": lambda code, settings: HootsuiteCsvAdapter(code, settings.outbox_dir),
}
# Destinations we plan for but reach only through the file adapter (or Hootsuite) so far.
FILE_ONLY = ("facebook", "x", "linkedin", "bluesky", "viva-engage", "sharepoint", "wordpress", "notify")


def build(code: str, kind: str, settings: Any) -> Any:
    """The adapter for a channel, or a ChannelError naming what is missing."""
    routed = settings.file_channels
    if ("*" in routed and kind != "email") or code in routed:
        return FileAdapter(code, settings.outbox_dir, counted_as=kind)
    if kind in FILE_ONLY:
        raise ChannelError(
            code,
            f"no live adapter for {kind!r} yet: add {code} to COMMS_FILE_CHANNELS to write its "
            "posts to the file outbox, or use a hootsuite channel",
            transient=False,
        )
    factory = FACTORIES.get(kind)
    if factory is None:
        raise ChannelError(
            code, f"unknown channel kind {kind!r} (known: {', '.join(sorted(FACTORIES))})", transient=False
        )
    return factory(code, settings)
