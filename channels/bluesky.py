"""Bluesky, through the account's PDS (AT Protocol XRPC) with an app password.

Idempotent by record key: each post's rkey is a TID made from the due time and the send key, so
the same key always names the same record. A send looks the record up first and creates it only if
it is not there. Links and hashtags are made clickable with facets (byte offsets in UTF-8), since
Bluesky does not find them in the text itself. The limit is 300 graphemes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.http import ApiChannel
from channels.limits import URL
from channels.measure import Measurement, Patience, PostFigures, json_body, missing, number, pull

URIS_PER_CALL = 25  # app.bsky.feed.getPosts takes up to 25 uris
COUNTS = {"likeCount": "reactions", "repostCount": "shares", "quoteCount": "shares", "replyCount": "comments"}

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TAG = re.compile(r"(?<![\w&])#(\w+)")


def tid(key: str, when: datetime | None) -> str:
    """A valid TID (13 base32-sortable characters: 53 bits of microseconds, 10 of clock id) that is
    the same for the same key, near the due time so records still sort by time."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    base = int((when or datetime(2026, 1, 1, tzinfo=UTC)).timestamp()) * 1_000_000
    micros = base + h % 1_000_000
    value = ((micros & ((1 << 53) - 1)) << 10) | (h >> 54)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets, indexed in UTF-8 bytes as the lexicon requires."""
    out: list[dict[str, Any]] = []

    def span(start: int, end: int) -> dict[str, int]:
        return {"byteStart": len(text[:start].encode()), "byteEnd": len(text[:end].encode())}

    for m in URL.finditer(text):
        uri = m.group(0).rstrip(".,;:!?)")
        out.append(
            {
                "index": span(m.start(), m.start() + len(uri)),
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
            }
        )
    for m in TAG.finditer(text):
        out.append(
            {
                "index": span(m.start(), m.end()),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": m.group(1)}],
            }
        )
    return out


class BlueskyAdapter(ApiChannel):
    kind = "bluesky"
    COLLECTION = "app.bsky.feed.post"

    def __init__(self, channel: str, handle: str, app_password: str, pds_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(bluesky_handle=handle, bluesky_app_password=app_password)
        self.handle, self.app_password, self.pds_url = handle, app_password, pds_url.rstrip("/")
        self.did: str | None = None

    def classify(self, response: requests.Response) -> ChannelError | None:
        if response.status_code == 429 and not response.headers.get("Retry-After"):
            reset = response.headers.get("ratelimit-reset", "")
            wait = max(0.0, int(reset) - datetime.now(UTC).timestamp()) if reset.isdigit() else None
            return ChannelError(self.channel, "Bluesky rate limit reached", transient=True, retry_after=wait)
        return None

    def login(self, again: bool = False) -> str:
        if self.did is None or again:
            response = self.call(
                "POST",
                f"{self.pds_url}/xrpc/com.atproto.server.createSession",
                json={"identifier": self.handle, "password": self.app_password},
            )
            body = response.json()
            self.did = body["did"]
            self.session.headers["Authorization"] = f"Bearer {body['accessJwt']}"
        return self.did

    def check(self) -> str:
        return f"signed in as {self.handle} ({self.login(again=True)})"

    def xrpc(self, method: str, name: str, **kwargs: Any) -> requests.Response:
        """One XRPC call, logging in first and once more if the session has expired."""
        self.login()
        try:
            return self.call(method, f"{self.pds_url}/xrpc/{name}", **kwargs)
        except ChannelError as exc:
            if "ExpiredToken" not in str(exc):
                raise
        self.login(again=True)
        return self.call(method, f"{self.pds_url}/xrpc/{name}", **kwargs)

    def find(self, post: Post, key: str) -> Receipt | None:
        rkey = tid(key, post.due_at)
        try:
            record = self.xrpc(
                "GET",
                "com.atproto.repo.getRecord",
                params={"repo": self.login(), "collection": self.COLLECTION, "rkey": rkey},
            ).json()
        except ChannelError as exc:
            if "RecordNotFound" in str(exc) or "Could not locate record" in str(exc):
                return None
            raise
        return Receipt(external_id=record["uri"], url=self._url(rkey))

    def create(self, post: Post, key: str) -> Receipt:
        text = self.text(post)
        rkey = tid(key, post.due_at)
        record: dict[str, Any] = {
            "$type": self.COLLECTION,
            "text": text,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "langs": ["en-GB"],
        }
        if found := facets(text):
            record["facets"] = found
        body = self.xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            json={"repo": self.login(), "collection": self.COLLECTION, "rkey": rkey, "record": record},
        ).json()
        return Receipt(external_id=body["uri"], url=self._url(rkey))

    def _url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.handle}/post/{rkey}"

    # measuring ----------------------------------------------------------------------------------
    def account(self) -> str:
        return self.handle

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Likes, reposts (with quotes) and replies, 25 posts a call (`app.bsky.feed.getPosts`). The
        AppView leaves out posts it cannot show; each one left out is looked up in our repository
        (`com.atproto.repo.getRecord`), where RecordNotFound says it was deleted."""
        return pull(posts, URIS_PER_CALL, self._counts, patience)

    def _counts(self, batch: Sequence[str]) -> tuple[list[PostFigures], list[str]]:
        body = json_body(self.channel, self.xrpc("GET", "app.bsky.feed.getPosts", params={"uris": list(batch)}))
        found = {p["uri"]: p for p in body.get("posts") or [] if isinstance(p, dict) and "uri" in p}
        results = [PostFigures(uri, _figures(found[uri])) for uri in batch if uri in found]
        lost = []
        for uri in (u for u in batch if u not in found):
            repo, _, rest = uri.removeprefix("at://").partition("/")
            collection, _, rkey = rest.partition("/")
            try:
                self.xrpc(
                    "GET", "com.atproto.repo.getRecord", params={"repo": repo, "collection": collection, "rkey": rkey}
                )
            except ChannelError as exc:
                if "RecordNotFound" not in str(exc) and "Could not locate record" not in str(exc):
                    raise
                results.append(PostFigures(uri, gone=True))
                continue
            lost.append(uri)  # still there, but the AppView did not say how it is doing
        return results, [missing(self.channel, lost)] if lost else []


def _figures(post: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, metric in COUNTS.items():
        if (value := number(post.get(name))) is not None:
            out[metric] = out.get(metric, 0.0) + value
    return out
