"""The channel port: what every adapter offers, as a Protocol, and what the registry reads from the
settings to build one. Defined here, beside the adapters, so that `channels/` never imports `pipeline/`;
`pipeline.ports` re-exports `ChannelAdapter`, and every layer types against this one definition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from channels.base import Post, Receipt
from channels.measure import Measurement, Patience


class ChannelAdapter(Protocol):
    """One destination. `validate` never sends; `send` publishes once per key.

    - `check()` makes a harmless authenticated call (`comms channels check`), raising ChannelError.
    - `validate(post)` returns the problems that would make the destination refuse the post.
    - `send(post, key)` publishes and returns a Receipt. Sending the same key again must not
      publish twice: the adapter uses the destination's own idempotency where it has one (an
      Idempotency-Key header, a stable Message-ID, a file named by the key).
    - Raises `ChannelError` with `transient=True` for timeouts, 429 and 5xx (retried later), and
      `transient=False` for refusals such as 401/403 or an invalid post (failed at once).
    - `close()` releases connections (an SMTP pool, an HTTP session); the process calls it once.
    """

    kind: str

    def check(self) -> str:
        """A harmless call that proves the settings and credentials work; says what it verified."""
        ...

    def validate(self, post: Post) -> list[str]: ...

    def send(self, post: Post, key: str) -> Receipt: ...

    def close(self) -> None: ...


@runtime_checkable
class Measurer(Protocol):
    """A destination that reports the figures of what it published (`comms metrics pull`).

    - `account()` names the account the figures belong to (a Page id, a handle, a GA4 property).
    - `measure(posts, now, patience)` returns each post's lifetime figures (`PostFigures`, by the
      destination's id as the send's receipt gave it), posts deleted at the source marked `gone`, and
      the problems met, in batches where the API has them. It never raises for a destination's
      fault: an expired token, a revoked permission or a rate limit longer than `patience` allows
      ends the pull with the problem said (`Measurement.fatal`), keeping what was measured before.
    - A web analytics property has no posts: it is given none and returns one result per month.
    An adapter that cannot measure is "figures by import only" (`channels.registry.measures`).
    """

    kind: str

    def account(self) -> str: ...

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement: ...


class ChannelSettings(Protocol):
    """What `channels.registry` reads to build an adapter: `pipeline.settings.Settings` is one (a
    typed assignment in `tests/contract/test_ports_typed.py` checks it)."""

    outbox_dir: Path
    file_channels: tuple[str, ...]
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    smtp_password: str
    smtp_pool_size: int
    smtp_rate_per_hour: int
    mail_from: str
    mastodon_base_url: str
    mastodon_token: str
    notify_api_key: str
    notify_template_id: str
    notify_api_url: str
    facebook_page_id: str
    facebook_page_token: str
    facebook_graph_url: str
    x_token: str
    x_api_url: str
    linkedin_author: str
    linkedin_token: str
    linkedin_api_url: str
    linkedin_version: str
    bluesky_handle: str
    bluesky_app_password: str
    bluesky_pds_url: str
    microsoft_tenant_id: str
    microsoft_client_id: str
    microsoft_client_secret: str
    microsoft_login_url: str
    graph_url: str
    sharepoint_site_id: str
    viva_engage_group_id: str
    viva_engage_api_url: str
    wordpress_url: str
    wordpress_username: str
    wordpress_app_password: str

    def for_channel(self, code: str) -> ChannelSettings:
        """These settings with the channel's own laid over them."""
        ...
