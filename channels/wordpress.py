"""WordPress, through its REST API (POST /wp-json/wp/v2/posts) with an application password.

Idempotent by slug: the slug is the title's words and a short digest of the send key, so a send
first asks for a post with that slug (in any state) and creates one only if there is none.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from channels.base import Post, Receipt
from channels.http import ApiChannel, digest
from channels.richtext import text_to_html

STATES = "publish,future,draft,pending,private"


def slug(title: str, key: str) -> str:
    words = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:60].rstrip("-")
    return f"{words}-{digest(key, 8)}" if words else f"post-{digest(key, 8)}"


class WordPressAdapter(ApiChannel):
    kind = "wordpress"

    def __init__(self, channel: str, site_url: str, username: str, app_password: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(wordpress_url=site_url, wordpress_username=username, wordpress_app_password=app_password)
        self.posts = f"{site_url.rstrip('/')}/wp-json/wp/v2/posts"
        self.session.auth = (username, app_password.replace(" ", ""))

    @staticmethod
    def title(post: Post) -> str:
        return post.subject or post.text.strip().splitlines()[0][:120]

    def check(self) -> str:
        self.call("GET", self.posts, params={"status": "draft", "per_page": 1, "context": "edit"})
        return "signed in: drafts are readable, so posts can be made"

    def find(self, post: Post, key: str) -> Receipt | None:
        response = self.call(
            "GET", self.posts, params={"slug": slug(self.title(post), key), "status": STATES, "context": "edit"}
        )
        found = response.json()
        return Receipt(external_id=str(found[0]["id"]), url=found[0].get("link")) if found else None

    def create(self, post: Post, key: str) -> Receipt:
        body = {
            "title": self.title(post),
            "content": text_to_html(self.text(post)),
            "status": "publish",
            "slug": slug(self.title(post), key),
        }
        created = self.call("POST", self.posts, json=body).json()
        return Receipt(external_id=str(created["id"]), url=created.get("link"))
