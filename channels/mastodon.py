"""Mastodon: POST /api/v1/statuses with the server's own Idempotency-Key, so a retry after a timeout
that in fact succeeded returns the first status instead of posting twice."""

from __future__ import annotations

import requests

from channels.base import ChannelError, Post, Receipt
from channels.http import USER_AGENT, request
from channels.limits import check_length


class MastodonAdapter:
    kind = "mastodon"

    def __init__(
        self,
        channel: str,
        base_url: str,
        token: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> None:
        if not base_url or not token:
            raise ChannelError(
                channel, "Mastodon needs COMMS_MASTODON_BASE_URL and COMMS_MASTODON_TOKEN in .env", transient=False
            )
        self.channel, self.base_url, self.token = channel, base_url.rstrip("/"), token
        self.session = session or requests.Session()
        self.timeout = timeout

    def validate(self, post: Post) -> list[str]:
        return ([] if post.text.strip() else ["the post is empty"]) + check_length("mastodon", self._text(post))

    @staticmethod
    def _text(post: Post) -> str:
        return f"{post.text}\n\n{post.link}" if post.link and post.link not in post.text else post.text

    def send(self, post: Post, key: str) -> Receipt:
        response = request(
            self.session,
            self.channel,
            "POST",
            f"{self.base_url}/api/v1/statuses",
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key, "User-Agent": USER_AGENT},
            json={"status": self._text(post), "visibility": "public", "language": "en"},
            timeout=self.timeout,
        )
        body = response.json()
        return Receipt(external_id=str(body["id"]), url=body.get("url"))

    def close(self) -> None:
        self.session.close()
