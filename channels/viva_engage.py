"""Viva Engage (formerly Yammer): a message posted to a community.

Microsoft Graph manages Viva Engage communities but cannot post in them, so this adapter uses the
Viva Engage REST API (POST /api/v1/messages.json) with an Entra ID token for the Viva Engage
resource, from the same app registration as SharePoint. There is no idempotency key, so a send
first looks among the community's newest messages for the same text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels.base import Post, Receipt
from channels.entra import EntraToken
from channels.http import ApiChannel


def _created(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y/%m/%d %H:%M:%S %z")
    except ValueError:
        return None


class VivaEngageAdapter(ApiChannel):
    kind = "viva-engage"

    def __init__(self, channel: str, group_id: str, token: EntraToken | None, api_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(viva_engage_group_id=group_id)
        self.group_id, self.token, self.api_url = group_id, token, api_url.rstrip("/")

    def auth(self) -> dict[str, str]:
        return self.token.header() if self.token else {}

    def check(self) -> str:
        self.call("GET", f"{self.api_url}/api/v1/messages/in_group/{self.group_id}.json", params={"limit": 1})
        return f"community {self.group_id} readable with the app's token"

    def find(self, post: Post, key: str) -> Receipt | None:
        response = self.call(
            "GET", f"{self.api_url}/api/v1/messages/in_group/{self.group_id}.json", params={"limit": 20}
        )
        recent = (
            (str(m["id"]), (m.get("body") or {}).get("plain", ""), _created(m.get("created_at")), m.get("web_url"))
            for m in response.json().get("messages", [])
        )
        return self.match(post, recent)

    def create(self, post: Post, key: str) -> Receipt:
        data = {"group_id": self.group_id, "body": self.text(post), "is_rich_text": False}
        body = self.call("POST", f"{self.api_url}/api/v1/messages.json", json=data).json()
        message = body["messages"][0]
        return Receipt(external_id=str(message["id"]), url=message.get("web_url"))
