"""Mastodon: POST /api/v1/statuses with the server's own Idempotency-Key, so a retry after a timeout
that in fact succeeded returns the first status instead of posting twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

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

IDS_PER_CALL = 20  # GET /api/v1/statuses?id[]= (Mastodon 4.3) takes up to 20
COUNTS = {"favourites_count": "reactions", "reblogs_count": "shares", "replies_count": "comments"}


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

    # measuring ----------------------------------------------------------------------------------
    def account(self) -> str:
        return self.base_url.split("://", 1)[-1]

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Favourites, boosts and replies, 20 statuses a call (`GET /api/v1/statuses?id[]=`). The
        server leaves out statuses it does not have; each one left out is asked for alone, and a 404
        says it was deleted."""
        return pull(posts, IDS_PER_CALL, self._counts, patience)

    def _counts(self, batch: Sequence[str]) -> tuple[list[PostFigures], list[str]]:
        auth = {"Authorization": f"Bearer {self.token}"}
        response = self.call("GET", f"{self.base_url}/api/v1/statuses", params={"id[]": list(batch)}, headers=auth)
        found = {str(s["id"]): _figures(s) for s in json_body(self.channel, response) if isinstance(s, dict)}
        results = [PostFigures(i, found[i]) for i in batch if i in found]
        lost = []
        for status_id in (i for i in batch if i not in found):
            try:
                alone = self.call(
                    "GET",
                    f"{self.base_url}/api/v1/statuses/{status_id}",
                    headers=auth,
                    classify=gone_on_404(self.channel),
                )
            except NotThere:
                results.append(PostFigures(status_id, gone=True))
                continue
            body = json_body(self.channel, alone)
            if isinstance(body, dict) and str(body.get("id")) == status_id:
                results.append(PostFigures(status_id, _figures(body)))
            else:
                lost.append(status_id)
        return results, [missing(self.channel, lost)] if lost else []


def _figures(status: dict[str, Any]) -> dict[str, float]:
    return {metric: v for name, metric in COUNTS.items() if (v := number(status.get(name))) is not None}
