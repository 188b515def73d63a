"""Adapters looked up by kind. A channel in strategy.yaml names its kind (email, facebook, ...); the
settings may route any channel to the file adapter instead, for dry runs and manual posting."""

from __future__ import annotations

from collections.abc import Callable

import requests

from channels.base import ChannelError
from channels.bluesky import BlueskyAdapter
from channels.email_smtp import SmtpAdapter, SmtpConfig
from channels.entra import EntraToken
from channels.facebook import FacebookAdapter
from channels.file import FileAdapter
from channels.hootsuite import HootsuiteCsvAdapter
from channels.linkedin import LinkedInAdapter
from channels.mastodon import MastodonAdapter
from channels.memory import MemoryAdapter
from channels.notify import NotifyAdapter
from channels.port import ChannelAdapter, ChannelSettings
from channels.sharepoint import SharePointNewsAdapter
from channels.viva_engage import VivaEngageAdapter
from channels.wordpress import WordPressAdapter
from channels.x import XAdapter

# A factory builds one kind's adapter from a channel code and that channel's settings.
Factory = Callable[[str, ChannelSettings], ChannelAdapter]


def _email(code: str, settings: ChannelSettings) -> SmtpAdapter:
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


def _entra(code: str, settings: ChannelSettings, session: requests.Session, scope: str) -> EntraToken:
    required = {
        "microsoft_tenant_id": settings.microsoft_tenant_id,
        "microsoft_client_id": settings.microsoft_client_id,
        "microsoft_client_secret": settings.microsoft_client_secret,
    }
    missing = [f"COMMS_{name.upper()}" for name, value in required.items() if not value]
    if missing:
        raise ChannelError(code, f"Microsoft 365 channels need {', '.join(missing)} in .env", transient=False)
    return EntraToken(
        code,
        session,
        login_url=settings.microsoft_login_url,
        tenant_id=settings.microsoft_tenant_id,
        client_id=settings.microsoft_client_id,
        client_secret=settings.microsoft_client_secret,
        scope=scope,
    )


def _sharepoint(code: str, settings: ChannelSettings) -> SharePointNewsAdapter:
    session = requests.Session()
    token = _entra(code, settings, session, "https://graph.microsoft.com/.default")
    return SharePointNewsAdapter(code, settings.sharepoint_site_id, token, settings.graph_url, session=session)


def _viva_engage(code: str, settings: ChannelSettings) -> VivaEngageAdapter:
    session = requests.Session()
    token = _entra(code, settings, session, "https://api.yammer.com/.default")
    return VivaEngageAdapter(code, settings.viva_engage_group_id, token, settings.viva_engage_api_url, session=session)


FACTORIES: dict[str, Factory] = {
    "email": _email,
    "notify": lambda code, s: NotifyAdapter(code, s.notify_api_key, s.notify_template_id, s.notify_api_url),
    "file": lambda code, s: FileAdapter(code, s.outbox_dir),
    "memory": lambda code, s: MemoryAdapter(code),
    "mastodon": lambda code, s: MastodonAdapter(code, s.mastodon_base_url, s.mastodon_token),
    "facebook": lambda code, s: FacebookAdapter(code, s.facebook_page_id, s.facebook_page_token, s.facebook_graph_url),
    "x": lambda code, s: XAdapter(code, s.x_token, s.x_api_url),
    "linkedin": lambda code, s: LinkedInAdapter(
        code, s.linkedin_token, s.linkedin_author, s.linkedin_api_url, s.linkedin_version
    ),
    "bluesky": lambda code, s: BlueskyAdapter(code, s.bluesky_handle, s.bluesky_app_password, s.bluesky_pds_url),
    "sharepoint": _sharepoint,
    "viva-engage": _viva_engage,
    "wordpress": lambda code, s: WordPressAdapter(
        code, s.wordpress_url, s.wordpress_username, s.wordpress_app_password
    ),
    "hootsuite": lambda code, s: HootsuiteCsvAdapter(code, s.outbox_dir),
}


def build(code: str, kind: str, settings: ChannelSettings) -> ChannelAdapter:
    """The adapter for a channel, or a ChannelError naming what is missing. A channel's own settings
    (COMMS_CHANNEL__<CODE>__<SETTING>) are laid over the shared ones first."""
    settings = settings.for_channel(code)
    routed = settings.file_channels
    if ("*" in routed and kind != "email") or code in routed:
        return FileAdapter(code, settings.outbox_dir, counted_as=kind)
    factory = FACTORIES.get(kind)
    if factory is None:
        raise ChannelError(
            code, f"unknown channel kind {kind!r} (known: {', '.join(sorted(FACTORIES))})", transient=False
        )
    return factory(code, settings)
