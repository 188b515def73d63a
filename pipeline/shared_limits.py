"""Each provider credential's published limits, and the adapter wrapper that keeps every process within
them on PostgreSQL (`pipeline.storage.rate_limits`). A 429 still backs off as before: these limits keep
us from reaching it, they do not replace the handling of it.

Credentials are named without their secret: an account name, or a digest of the token.
"""

from __future__ import annotations

import hashlib
from typing import Any

from channels.base import Post, Receipt
from pipeline.ports import ChannelAdapter
from pipeline.settings import Settings
from pipeline.storage.rate_limits import Limit, SharedRateLimiter

MINUTE, HOUR, DAY = 60, 3600, 86400
# Published per-account limits on creating posts (a kind not listed has none we can count against:
# Facebook's depends on the Page's audience, and its 429 is handled as a backoff).
SOCIAL_LIMITS: dict[str, tuple[Limit, ...]] = {
    "mastodon": (Limit(300, 3 * HOUR),),  # Mastodon: 300 statuses per 3 hours per account
    "bluesky": (Limit(1666, HOUR), Limit(11666, DAY)),  # 5,000 points an hour, 35,000 a day; a post is 3
    "x": (Limit(100, DAY),),  # X API v2 Basic: 100 posts per 24 hours per user
    "linkedin": (Limit(150, DAY),),  # LinkedIn: 150 member shares a day
}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def limits_for(code: str, kind: str, settings: Settings) -> tuple[str, tuple[Limit, ...]] | None:
    """The credential a channel sends under, and its limits; None for a channel with none."""
    s = settings.for_channel(code)
    if kind == "notify" and s.notify_api_key:
        return f"notify:{_digest(s.notify_api_key)}", (
            Limit(s.notify_rate_per_minute, MINUTE),
            Limit(s.notify_rate_per_day, DAY),
        )
    if kind == "email" and s.smtp_rate_per_hour:
        return f"smtp:{s.smtp_username}@{s.smtp_host}:{s.smtp_port}", (Limit(s.smtp_rate_per_hour, HOUR),)
    token = {"mastodon": s.mastodon_token, "bluesky": s.bluesky_handle, "x": s.x_token, "linkedin": s.linkedin_token}
    if kind in SOCIAL_LIMITS and token.get(kind):
        return f"{kind}:{_digest(token[kind])}", SOCIAL_LIMITS[kind]
    return None


class RateLimited:
    """An adapter whose sends first take room under the credential's shared limits."""

    def __init__(self, adapter: ChannelAdapter, limiter: SharedRateLimiter) -> None:
        self.adapter, self.limiter = adapter, limiter
        self.kind = adapter.kind

    def check(self) -> str:
        return self.adapter.check()

    def validate(self, post: Post) -> list[str]:
        return self.adapter.validate(post)

    def send(self, post: Post, key: str) -> Receipt:
        self.limiter.acquire()
        return self.adapter.send(post, key)

    def close(self) -> None:
        self.adapter.close()

    def __getattr__(self, name: str) -> Any:  # the adapter's other abilities (reading figures back, ...)
        return getattr(self.adapter, name)
