"""X (Twitter): POST /2/tweets with a user access token (OAuth 2.0, `tweet.write`).

X has no idempotency key, so a send first looks among the account's newest posts for the same text
(links come back as t.co addresses, so they are set aside when comparing). X signals its rate limit
with `x-rate-limit-reset` (epoch seconds) rather than Retry-After; both are honoured.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.http import ApiChannel, message, parse_time
from channels.measure import Measurement, Patience, PostFigures, json_body, missing, number, pull

IDS_PER_CALL = 100  # GET /2/tweets?ids= takes up to 100
# public_metrics -> our metrics (impression_count only where the access level gives it)
PUBLIC = {
    "impression_count": "impressions",
    "like_count": "reactions",
    "reply_count": "comments",
    "retweet_count": "shares",
    "quote_count": "shares",
}
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"


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

    # measuring ----------------------------------------------------------------------------------
    def account(self) -> str:
        return f"user {self._user_id}" if self._user_id else ""  # not worth a call of its own

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Each post's public metrics, 100 posts a call (`GET /2/tweets?ids=`). A post deleted since
        comes back under `errors` as resource-not-found; impressions are read where the access level
        gives them (`impression_count`), and left out otherwise."""
        return pull(posts, IDS_PER_CALL, self._metrics, patience)

    def _metrics(self, batch: Sequence[str]) -> tuple[list[PostFigures], list[str]]:
        response = self.call(
            "GET", f"{self.api_url}/2/tweets", params={"ids": ",".join(batch), "tweet.fields": "public_metrics"}
        )
        body = json_body(self.channel, response)
        found: dict[str, PostFigures] = {}
        for tweet in body.get("data") or []:
            figures: dict[str, float] = {}
            for name, metric in PUBLIC.items():
                value = number((tweet.get("public_metrics") or {}).get(name))
                if value is not None:
                    figures[metric] = figures.get(metric, 0.0) + value
            found[str(tweet["id"])] = PostFigures(str(tweet["id"]), figures)
        for error in body.get("errors") or []:
            if error.get("type") == NOT_FOUND and str(error.get("resource_id")) in batch:
                found[str(error["resource_id"])] = PostFigures(str(error["resource_id"]), gone=True)
        lost = [i for i in batch if i not in found]
        return list(found.values()), [missing(self.channel, lost)] if lost else []


def _url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"
