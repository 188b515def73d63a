"""A Facebook Page, through the Graph API: POST /{page-id}/feed with a Page access token.

Facebook has no idempotency key, so a send first looks among the Page's newest posts for the same
text (see `ApiChannel`). Graph reports most failures as HTTP 400 with its own error codes, which are
sorted here: an expired or revoked token (190) and missing permissions fail at once; its rate limits
(4, 17, 32, 613, 80001) and temporary faults (1, 2) are retried.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.http import ApiChannel, parse_time
from channels.measure import Measurement, Patience, PostFigures, json_body, missing, number, pull

RATE_LIMITED = {4, 17, 32, 613, 80001}
TEMPORARY = {1, 2}
# Post insights (lifetime) -> our metrics; read for up to 50 posts a call with ?ids=
INSIGHTS = {
    "post_impressions": "impressions",
    "post_impressions_unique": "reach",
    "post_engaged_users": "engagements",
    "post_clicks": "clicks",
}
IDS_PER_CALL = 50
ALIASES = re.compile(r"aliases you requested do not exist: ([\w,\s]+)")


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
        if not isinstance(error, dict):  # not Graph's own shape (a gateway's 429, say): the usual rules
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

    # measuring ----------------------------------------------------------------------------------
    def account(self) -> str:
        return f"Page {self.page_id}"

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Lifetime post insights, 50 posts a call (`GET /?ids=...&fields=insights.metric(...)`). Graph
        refuses the whole call when one id no longer exists ("Some of the aliases you requested do not
        exist"): those posts are gone, and the rest are asked again."""
        return pull(posts, IDS_PER_CALL, self._insights, patience)

    def _insights(self, batch: Sequence[str]) -> tuple[list[PostFigures], list[str]]:
        ids, gone = list(batch), []
        while True:
            try:
                response = self.call(
                    "GET",
                    f"{self.graph_url}/",
                    params={"ids": ",".join(ids), "fields": f"insights.metric({','.join(INSIGHTS)})"},
                    classify=self._aliases,
                )
                break
            except _Missing as exc:
                named = [i for i in ids if i in exc.ids]
                if not named:
                    raise ChannelError(self.channel, str(exc), transient=False) from None
                gone += named
                ids = [i for i in ids if i not in named]
                if not ids:
                    return [PostFigures(i, gone=True) for i in gone], []
        body = json_body(self.channel, response)
        found = [PostFigures(i, gone=True) for i in gone]
        found += [PostFigures(i, _figures(body[i])) for i in ids if isinstance(body.get(i), dict)]
        lost = [i for i in ids if not isinstance(body.get(i), dict)]
        return found, [missing(self.channel, lost)] if lost else []

    def _aliases(self, response: requests.Response) -> ChannelError | None:
        """Graph's error 100 naming ids that do not exist is an answer: those posts were deleted."""
        if response.status_code == 400 and (m := ALIASES.search(response.text)):
            return _Missing(self.channel, {i.strip() for i in m.group(1).split(",") if i.strip()})
        return self.classify(response)


class _Missing(ChannelError):
    def __init__(self, channel: str, ids: set[str]) -> None:
        super().__init__(channel, f"Graph says {len(ids)} post(s) do not exist", transient=False)
        self.ids = ids


def _figures(node: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in (node.get("insights") or {}).get("data", []):
        values = metric.get("values") or [{}]
        value = number(values[-1].get("value"))
        if metric.get("name") in INSIGHTS and value is not None:
            out[INSIGHTS[metric["name"]]] = value
    return out
