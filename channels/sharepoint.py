"""SharePoint news, through Microsoft Graph: a news post is a site page with `promotionKind` set to
`newsPost`, created (POST /sites/{site}/pages) and then published.

Idempotent by page name: the page is named from the send key, so a send first asks Graph for a page
of that name. A page found but not yet published (the process stopped between the two calls) is
published rather than made again. The app needs the Sites.ReadWrite.All (or Sites.Selected)
application permission.
"""

from __future__ import annotations

import uuid
from typing import Any

from channels.base import Post, Receipt
from channels.entra import EntraToken
from channels.http import ApiChannel, digest
from channels.richtext import text_to_html


class SharePointNewsAdapter(ApiChannel):
    kind = "sharepoint"

    def __init__(self, channel: str, site_id: str, token: EntraToken | None, graph_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(sharepoint_site_id=site_id)
        self.token = token
        self.pages = f"{graph_url.rstrip('/')}/sites/{site_id}/pages"

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
