"""LinkedIn, as an organisation page: POST /rest/posts (the versioned Posts API).

The post's text goes in `commentary`, which LinkedIn reads as "little text": the characters
| { } @ [ ] ( ) < > # * _ ~ and the backslash are markup unless escaped, and a hashtag is written
{hashtag|\\#|Word}. A link becomes an article card. LinkedIn has no idempotency key, so a send first
looks among the organisation's newest posts for the same commentary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from channels.base import Post, Receipt
from channels.http import ApiChannel
from channels.measure import (
    Measurement,
    NotThere,
    Patience,
    PostFigures,
    gone_on_404,
    json_body,
    missing,
    number,
    pull,
)

URNS_PER_CALL = 20
STATISTICS = {
    "impressionCount": "impressions",
    "uniqueImpressionsCount": "reach",
    "clickCount": "clicks",
    "likeCount": "reactions",
    "commentCount": "comments",
    "shareCount": "shares",
}

RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
URL_OR_TAG = re.compile(r"(https?://\S+)|(?<![\w&])#(\w+)")


def little_text(text: str) -> str:
    """Plain text as LinkedIn commentary: markup characters escaped, hashtags as hashtag templates,
    links left whole."""
    out, last = [], 0
    for m in URL_OR_TAG.finditer(text):
        out.append(RESERVED.sub(r"\\\1", text[last : m.start()]))
        out.append(m.group(1) if m.group(1) else "{hashtag|\\#|" + m.group(2) + "}")
        last = m.end()
    out.append(RESERVED.sub(r"\\\1", text[last:]))
    return "".join(out)


class LinkedInAdapter(ApiChannel):
    kind = "linkedin"

    def __init__(self, channel: str, token: str, author: str, api_url: str, version: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(linkedin_token=token, linkedin_author=author)
        self.author, self.api_url = author, api_url.rstrip("/")
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "LinkedIn-Version": version, "X-Restli-Protocol-Version": "2.0.0"}
        )

    def text(self, post: Post) -> str:
        return post.text  # the link travels as an article card

    def check(self) -> str:
        self.call("GET", f"{self.api_url}/rest/posts", params={"author": self.author, "q": "author", "count": 1})
        return f"posts of {self.author} readable with the token"

    def find(self, post: Post, key: str) -> Receipt | None:
        response = self.call(
            "GET",
            f"{self.api_url}/rest/posts",
            params={"author": self.author, "q": "author", "count": 10, "sortBy": "LAST_MODIFIED"},
        )
        recent = (
            (
                p["id"],
                p.get("commentary", ""),
                datetime.fromtimestamp(p["createdAt"] / 1000, UTC) if p.get("createdAt") else None,
                _url(p["id"]),
            )
            for p in response.json().get("elements", [])
        )
        return self.match(post, recent, wanted=little_text(self.text(post)))

    def create(self, post: Post, key: str) -> Receipt:
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": little_text(self.text(post)),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.link:
            body["content"] = {"article": {"source": post.link, "title": post.subject or post.link}}
        response = self.call("POST", f"{self.api_url}/rest/posts", json=body)
        urn = response.headers.get("x-restli-id") or response.json().get("id")
        return Receipt(external_id=urn, url=_url(urn))

    # measuring ----------------------------------------------------------------------------------
    def account(self) -> str:
        return self.author

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Lifetime share statistics of the organisation's posts, 20 a call
        (`GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&shares=List(...)&ugcPosts=List(...)`).
        A post left out of the answer is looked up (`GET /rest/posts/{urn}`): a 404 says it was deleted."""
        return pull(posts, URNS_PER_CALL, self._statistics, patience)

    def _statistics(self, batch: Sequence[str]) -> tuple[list[PostFigures], list[str]]:
        query = f"q=organizationalEntity&organizationalEntity={quote(self.author, safe='')}"
        for name, prefix in (("shares", "urn:li:share:"), ("ugcPosts", "urn:li:ugcPost:")):
            urns = [quote(u, safe="") for u in batch if u.startswith(prefix)]
            if urns:
                query += f"&{name}=List({','.join(urns)})"
        url = f"{self.api_url}/rest/organizationalEntityShareStatistics?{query}"
        body = json_body(self.channel, self.call("GET", url))
        found: dict[str, dict[str, float]] = {}
        for element in body.get("elements") or []:
            urn = element.get("share") or element.get("ugcPost")
            stats = element.get("totalShareStatistics") or {}
            found[urn] = {m: v for k, m in STATISTICS.items() if (v := number(stats.get(k))) is not None}
        results = [PostFigures(urn, found[urn]) for urn in batch if urn in found]
        lost = []
        for urn in (u for u in batch if u not in found):
            try:
                self.call("GET", f"{self.api_url}/rest/posts/{quote(urn, safe='')}", classify=gone_on_404(self.channel))
            except NotThere:
                results.append(PostFigures(urn, gone=True))
                continue
            lost.append(urn)
        return results, [missing(self.channel, lost)] if lost else []


def _url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{quote(urn, safe=':')}/"
