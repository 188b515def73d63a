"""X (Twitter): POST /2/tweets with a user access token (OAuth 2.0, `tweet.write`).

X has no idempotency key, so a send first looks among the account's newest posts for the same text
(links come back as t.co addresses, so they are set aside when comparing). X signals its rate limit
with `x-rate-limit-reset` (epoch seconds) rather than Retry-After; both are honoured.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.http import ApiChannel, message, parse_time


class XAdapter(ApiChannel):
    kind = "x"

    def __init__(self, channel: str, token: str, api_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(x_token=token)
        self.api_url = api_url.rstrip("/")
        self.session.headers["Authorization"] = f"Bearer {token}"
        self._user_id: str | None = None

    def classify(self, response: requests.Response) -> ChannelError | None:
        if response.status_code == 429 and not response.headers.get("Retry-After"):
            reset = response.headers.get("x-rate-limit-reset")
            wait = max(0.0, float(reset) - time.time()) if reset and reset.isdigit() else None
            return ChannelError(self.channel, "X rate limit reached", transient=True, retry_after=wait)
        if response.status_code == 403:
            return ChannelError(self.channel, f"X refused the post: {message(response)}", transient=False)
        return None

    def user_id(self) -> str:
        if self._user_id is None:
            self._user_id = str(self.me()["id"])
        return self._user_id

    def me(self) -> dict[str, str]:
        return dict(self.call("GET", f"{self.api_url}/2/users/me").json()["data"])

    def check(self) -> str:
        return f"signed in as @{self.me().get('username', '?')}"

    def find(self, post: Post, key: str) -> Receipt | None:
        response = self.call(
            "GET",
            f"{self.api_url}/2/users/{self.user_id()}/tweets",
            params={"max_results": 10, "tweet.fields": "created_at"},
        )
        recent = (
            (t["id"], t.get("text", ""), parse_time(t.get("created_at")), _url(t["id"]))
            for t in response.json().get("data", [])
        )
        return self.match(post, recent)

    def create(self, post: Post, key: str) -> Receipt:
        body = self.call("POST", f"{self.api_url}/2/tweets", json={"text": self.text(post)}).json()
        tweet_id = str(body["data"]["id"])
        return Receipt(external_id=tweet_id, url=_url(tweet_id))


def _url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"
