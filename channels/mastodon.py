"""Mastodon: POST /api/v1/statuses with the server's own Idempotency-Key, so a retry after a timeout
that in fact succeeded returns the first status instead of posting twice."""

from __future__ import annotations

from typing import Any

from channels.base import Post, Receipt
from channels.http import ApiChannel


class MastodonAdapter(ApiChannel):
    kind = "mastodon"

    def __init__(self, channel: str, base_url: str, token: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(mastodon_base_url=base_url, mastodon_token=token)
        self.base_url, self.token = base_url.rstrip("/"), token

    def check(self) -> str:
        account = self.call(
            "GET",
            f"{self.base_url}/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {self.token}"},
        ).json()
        return f"signed in as @{account.get('acct', '?')}"

    def create(self, post: Post, key: str) -> Receipt:
        response = self.call(
            "POST",
            f"{self.base_url}/api/v1/statuses",
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
            json={"status": self.text(post), "visibility": "public", "language": "en"},
        )
        body = response.json()
        return Receipt(external_id=str(body["id"]), url=body.get("url"))
