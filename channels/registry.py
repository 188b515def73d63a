"""Adapters looked up by kind. A channel in strategy.yaml names its kind (email, facebook, ...); the
settings may route any channel to the file adapter instead, for dry runs and manual posting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import requests

from channels.base import ChannelError
from channels.bluesky import BlueskyAdapter
from channels.email_smtp import SmtpAdapter, SmtpConfig
from channels.entra import EntraToken
from channels.facebook import FacebookAdapter
from channels.file import FileAdapter
from channels.ga4 import Ga4Measurer, ServiceAccountToken
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


class Ga4Settings(Protocol):
    """What `build_ga4` reads (`pipeline.settings.Settings` is one)."""

    ga4_property_id: str
    ga4_page_paths: tuple[str, ...]
    ga4_credentials_file: str
    ga4_objective: str
    ga4_api_url: str
    ga4_token_url: str


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


# What each kind's adapter measures of what it published (`Measurer`); any other kind is "figures by
# import only" (`comms metrics import`).
MEASURES: dict[str, str] = {
    "facebook": "impressions, reach, engaged users and clicks of each post (post insights)",
    "linkedin": "impressions, reach, clicks, reactions, comments and shares (organisation share statistics)",
    "x": "likes, replies, reposts and quotes of each post; impressions where the access level gives them",
    "mastodon": "favourites, boosts and replies of each post",
    "bluesky": "likes, reposts, quotes and replies of each post",
    "sharepoint": "views of each news page (Microsoft Graph item analytics, where the tenant allows it)",
}
IMPORT_ONLY = "figures by import only"


def measures(kind: str) -> str:
    """What a kind's adapter measures, or "figures by import only"."""
    return MEASURES.get(kind, IMPORT_ONLY)


def build_ga4(code: str, settings: Ga4Settings) -> Ga4Measurer | None:
    """The Google Analytics 4 measurer of the web page, or None when no property is configured."""
    if not settings.ga4_property_id:
        return None
    if not settings.ga4_objective:
        raise ChannelError(code, "GA4 figures need COMMS_GA4_OBJECTIVE: the objective they count for", transient=False)
    session = requests.Session()
    token = None
    if settings.ga4_credentials_file:
        token = ServiceAccountToken(code, session, Path(settings.ga4_credentials_file), settings.ga4_token_url)
    return Ga4Measurer(
        code, settings.ga4_property_id, settings.ga4_page_paths, token, settings.ga4_api_url, session=session
    )
