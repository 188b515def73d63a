"""A Facebook Page, through the Graph API: POST /{page-id}/feed with a Page access token.

Facebook has no idempotency key, so a send first looks among the Page's newest posts for the same
text (see `ApiChannel`). Graph reports most failures as HTTP 400 with its own error codes, which are
sorted here: an expired or revoked token (190) and missing permissions fail at once; its rate limits
(4, 17, 32, 613, 80001) and temporary faults (1, 2) are retried.
"""

from __future__ import annotations

from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.http import ApiChannel, parse_time

RATE_LIMITED = {4, 17, 32, 613, 80001}
TEMPORARY = {1, 2}


class FacebookAdapter(ApiChannel):
    kind = "facebook"

    def __init__(self, channel: str, page_id: str, token: str, graph_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(facebook_page_id=page_id, facebook_page_token=token)
        self.page_id, self.graph_url = page_id, graph_url.rstrip("/")
        self.session.headers["Authorization"] = f"Bearer {token}"

    def classify(self, response: requests.Response) -> ChannelError | None:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return None
        code, text = error.get("code"), error.get("message", "")
        if code in RATE_LIMITED or code in TEMPORARY or error.get("is_transient"):
            return ChannelError(self.channel, f"Facebook error {code}: {text}", transient=True)
        if code == 190:
            return ChannelError(
                self.channel,
                f"Facebook refused the Page token ({text}); make a new one and set COMMS_FACEBOOK_PAGE_TOKEN",
                transient=False,
            )
        if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
            return ChannelError(
                self.channel,
                f"the Page token lacks a permission ({text}); it needs pages_manage_posts and pages_read_engagement",
                transient=False,
            )
        return None

    def check(self) -> str:
        self.call("GET", f"{self.graph_url}/{self.page_id}/posts", params={"fields": "id", "limit": 1})
        return f"Page {self.page_id} readable with its token"

    def find(self, post: Post, key: str) -> Receipt | None:
        response = self.call(
            "GET",
            f"{self.graph_url}/{self.page_id}/posts",
            params={"fields": "id,message,created_time,permalink_url", "limit": 25},
        )
        recent = (
            (p["id"], p.get("message", ""), parse_time(p.get("created_time")), p.get("permalink_url"))
            for p in response.json().get("data", [])
        )
        return self.match(post, recent)

    def create(self, post: Post, key: str) -> Receipt:
        data = {"message": self.text(post)}
        if post.link:
            data["link"] = post.link
        body = self.call("POST", f"{self.graph_url}/{self.page_id}/feed", data=data).json()
        return Receipt(external_id=body["id"], url=f"https://www.facebook.com/{body['id']}")
