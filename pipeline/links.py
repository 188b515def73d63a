"""Counted links: each http(s) link in an edition's HTML goes out as `/r/<token>` on the web workspace,
which counts the click and redirects to the link.

The token is the edition's outbox item, the audience the copy was sent to and the link itself, with an
HMAC (SHA-256, 128 bits) by a key derived from COMMS_SECRET_KEY for this one use: nobody can make our
address redirect anywhere we did not send (no open redirect), and no token names a person: every reader
of one audience gets the same link. The plain-text part keeps readable links, and opens are never
counted (no tracking pixel).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import Callable

from pipeline.errors import CommsError
from pipeline.records import OutboxItem
from pipeline.rendering.personalise import ItemPersonaliser
from pipeline.settings import Settings

HREF = re.compile(r"""href=(["'])(https?://[^"'<>\s]+)\1""", re.IGNORECASE)


class LinkError(CommsError):
    """A counted link that was altered, or signed with another key."""


def link_key(secret_key: str) -> bytes:
    """The link-signing key, derived from COMMS_SECRET_KEY for this one use (as the session key is)."""
    if not secret_key:
        raise LinkError("COMMS_SECRET_KEY is not set; links cannot be counted (set it in .env)")
    return hashlib.sha256(b"comms counted link\x00" + secret_key.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(key: bytes, item_id: int, audience: str, url: str) -> str:
    payload = json.dumps([item_id, audience, url], separators=(",", ":"), ensure_ascii=False).encode()
    return f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest()[:16])}"


def verify_link(key: bytes, token: str) -> tuple[int, str, str]:
    """(item id, audience, url) of a token we signed, or LinkError."""
    try:
        payload_b64, mac_b64 = token.split(".", 1)
        payload = _unb64(payload_b64)
        if hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest()[:16], _unb64(mac_b64)):
            item_id, audience, url = json.loads(payload)
            if isinstance(item_id, int) and isinstance(audience, str) and HREF.fullmatch(f'href="{url}"'):
                return item_id, audience, url
    except (ValueError, TypeError, UnicodeDecodeError):
        pass
    raise LinkError("this link is not one of ours, or was changed")


def rewrite(html_part: str, counted: Callable[[str], str], keep: Callable[[str], bool]) -> str:
    """Every http(s) `href` in the HTML replaced by `counted(link)`, except those `keep` says stay as
    they are (our own addresses: the unsubscribe link)."""

    def one(m: re.Match[str]) -> str:
        url = html.unescape(m.group(2))
        if keep(url):
            return m.group(0)
        return f"href={m.group(1)}{html.escape(counted(url))}{m.group(1)}"

    return HREF.sub(one, html_part)


class LinkCounter:
    """The counted form of an item's HTML for one audience, on the workspace at `base_url`."""

    def __init__(self, base_url: str, secret_key: str) -> None:
        self.base, self.key = base_url.rstrip("/"), link_key(secret_key)

    def url(self, item_id: int, audience: str, link: str) -> str:
        return f"{self.base}/r/{sign_link(self.key, item_id, audience, link)}"

    def html(self, html_part: str, item_id: int, audience: str) -> str:
        return rewrite(html_part, lambda link: self.url(item_id, audience, link), self.ours)

    def ours(self, url: str) -> bool:
        return url.startswith(self.base + "/")


def counted(settings: Settings, item: OutboxItem, plain: ItemPersonaliser) -> Callable[[str], ItemPersonaliser] | None:
    """An email's personaliser per audience, its HTML links counted through /r/ (`pipeline.links`);
    None when link counting is off (`COMMS_LINK_COUNTING=false`) or the item is no email. The plain
    text keeps its readable links."""
    if item.kind != "email" or not settings.link_counting or not settings.secret_key:
        return None
    counter = LinkCounter(settings.public_base_url, settings.secret_key)
    made: dict[str, ItemPersonaliser] = {}

    def of(audience: str) -> ItemPersonaliser:
        if audience not in made:
            made[audience] = ItemPersonaliser(counter.html(item.html, item.id, audience), item.body, plain.nonce)
        return made[audience]

    return of
