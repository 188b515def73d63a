"""SharePoint news, through Microsoft Graph: a news post is a site page with `promotionKind` set to
`newsPost`, created (POST /sites/{site}/pages) and then published.

Idempotent by page name: the page is named from the send key, so a send first asks Graph for a page
of that name. A page found but not yet published (the process stopped between the two calls) is
published rather than made again. The app needs the Sites.ReadWrite.All (or Sites.Selected)
application permission.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from channels.base import ChannelError, Post, Receipt
from channels.entra import EntraToken
from channels.http import ApiChannel, digest, retry_after
from channels.measure import Measurement, Patience, PostFigures, json_body, missing, number, pull
from channels.richtext import text_to_html

REQUESTS_PER_BATCH = 20  # Microsoft Graph JSON batching takes up to 20 requests


class SharePointNewsAdapter(ApiChannel):
    kind = "sharepoint"

    def __init__(self, channel: str, site_id: str, token: EntraToken | None, graph_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(sharepoint_site_id=site_id)
        self.token = token
        self.graph_url, self.site_id = graph_url.rstrip("/"), site_id
        self.pages = f"{graph_url.rstrip('/')}/sites/{site_id}/pages"
        self._list_id: str | None = None

    def auth(self) -> dict[str, str]:
        return self.token.header() if self.token else {}

    def check(self) -> str:
        self.call("GET", f"{self.pages}/microsoft.graph.sitePage", params={"$top": 1, "$select": "id"})
        return "the site's pages are readable with the app's token"

    @staticmethod
    def page_name(key: str) -> str:
        return f"comms-{digest(key, 16)}.aspx"

    def find(self, post: Post, key: str) -> Receipt | None:
        name = self.page_name(key)
        response = self.call(
            "GET",
            f"{self.pages}/microsoft.graph.sitePage",
            params={"$filter": f"name eq '{name}'", "$select": "id,name,webUrl,publishingState"},
        )
        pages = response.json().get("value", [])
        if not pages:
            return None
        page = pages[0]
        if (page.get("publishingState") or {}).get("level") != "published":
            self.publish(page["id"])
        return Receipt(external_id=page["id"], url=page.get("webUrl"))

    def create(self, post: Post, key: str) -> Receipt:
        title = post.subject or post.text.strip().splitlines()[0][:120]
        body = {
            "@odata.type": "#microsoft.graph.sitePage",
            "name": self.page_name(key),
            "title": title,
            "pageLayout": "article",
            "promotionKind": "newsPost",
            "showComments": True,
            "showRecommendedPages": False,
            "canvasLayout": {
                "horizontalSections": [
                    {
                        "layout": "oneColumn",
                        "id": "1",
                        "emphasis": "none",
                        "columns": [
                            {
                                "id": "1",
                                "width": 12,
                                "webparts": [
                                    {
                                        "@odata.type": "#microsoft.graph.textWebPart",
                                        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
                                        "innerHtml": text_to_html(self.text(post)),
                                    }
                                ],
                            }
                        ],
                    }
                ]
            },
        }
        page = self.call("POST", self.pages, json=body).json()
        self.publish(page["id"])
        return Receipt(external_id=page["id"], url=page.get("webUrl"))

    def publish(self, page_id: str) -> None:
        self.call("POST", f"{self.pages}/{page_id}/microsoft.graph.sitePage/publish")

    # measuring ----------------------------------------------------------------------------------
    def account(self) -> str:
        return f"site {self.site_id}"

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Views of each news page over its life: the page is an item of the site's Site Pages list,
        whose analytics Graph gives (`.../lists/{list}/items/{page id}/analytics/allTime`, the page id
        being the item's unique id), 20 pages per JSON batch (`POST /$batch`). A page Graph no longer
        has (404) was deleted. The tenant must allow item analytics (Sites.Read.All)."""
        try:
            patience.run(self.site_pages_list)
        except ChannelError as exc:
            return Measurement(problems=(str(exc),), requests=patience.calls, fatal=True)
        return pull(posts, REQUESTS_PER_BATCH, self._views, patience)

    def site_pages_list(self) -> str:
        """The id of the site's Site Pages library (list name SitePages), following @odata.nextLink."""
        url: str | None = f"{self.graph_url}/sites/{self.site_id}/lists?$select=id,name"
        while self._list_id is None and url:
            body = json_body(self.channel, self.call("GET", url))
            self._list_id = next((x["id"] for x in body.get("value", []) if x.get("name") == "SitePages"), None)
            url = body.get("@odata.nextLink")
        if self._list_id is None:
            raise ChannelError(self.channel, "the site has no Site Pages library (list SitePages)", transient=False)
        return self._list_id

    def _views(self, batch: Sequence[str]) -> tuple[list[PostFigures], list[str]]:
        items = f"/sites/{self.site_id}/lists/{self._list_id}/items"
        requests_ = [
            {"id": str(n), "method": "GET", "url": f"{items}/{page}/analytics/allTime"} for n, page in enumerate(batch)
        ]
        body = json_body(self.channel, self.call("POST", f"{self.graph_url}/$batch", json={"requests": requests_}))
        answers = {r.get("id"): r for r in body.get("responses", [])}
        results, lost = [], []
        for n, page in enumerate(batch):
            answer = answers.get(str(n)) or {}
            status = answer.get("status")
            if status == 200:
                access = (answer.get("body") or {}).get("access") or {}
                views = number(access.get("actionCount"))
                results.append(PostFigures(page, {"page_views": views} if views is not None else {}))
            elif status == 404:
                results.append(PostFigures(page, gone=True))
            elif status in (401, 403):
                error = ((answer.get("body") or {}).get("error") or {}).get("message", "")
                raise ChannelError(
                    self.channel,
                    f"Graph refused page analytics (HTTP {status}: {error}); the app needs Sites.Read.All",
                    transient=False,
                )
            elif status == 429 or (isinstance(status, int) and status >= 500):
                wait = retry_after(str((answer.get("headers") or {}).get("Retry-After") or ""))
                raise ChannelError(
                    self.channel, f"HTTP {status} inside a Graph batch", transient=True, retry_after=wait
                )
            else:
                lost.append(page)
        return results, [missing(self.channel, lost)] if lost else []
