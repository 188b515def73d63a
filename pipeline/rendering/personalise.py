"""Per-recipient personalisation of an edition compiled once.

MJML is compiled once per edition with sentinels where the greeting, school name and unsubscribe
link go. Each sentinel carries a random per-edition nonce, so feed text cannot forge one. Per
recipient, the compiled HTML is split at the sentinels once and joined with escaped values.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from channels.base import Pieces

SLOTS = ("first_name", "organisation", "greeting", "unsubscribe_url", "email")


def new_nonce() -> str:
    return secrets.token_hex(6)


def sentinel(nonce: str, slot: str) -> str:
    if slot not in SLOTS:
        raise ValueError(f"unknown personalisation slot {slot!r}; use one of {', '.join(SLOTS)}")
    return f"%%P{nonce}_{slot}%%"


class Personaliser:
    """Compiled HTML (or text) split at the sentinels; `render` joins it with one recipient's values."""

    def __init__(self, compiled: str, nonce: str, *, escape: bool = True) -> None:
        pattern = re.compile(rf"%%P{re.escape(nonce)}_({'|'.join(SLOTS)})%%")
        pieces = pattern.split(compiled)
        self.literals = pieces[0::2]
        self.slots = pieces[1::2]
        self.escape = escape

    def render(self, values: Mapping[str, str]) -> Pieces:
        out = [self.literals[0]]
        esc = html.escape if self.escape else str
        for slot, literal in zip(self.slots, self.literals[1:], strict=True):
            out.append(esc(values.get(slot, "")))
            out.append(literal)
        return Pieces(out)


def recipient_values(name: str, organisation: str, email: str, unsubscribe_url: str) -> dict[str, str]:
    first = name.split()[0] if name.strip() else ""
    return {
        "first_name": first,
        "organisation": organisation,
        "greeting": f"Dear {name.strip()}" if name.strip() else "Hello",
        "unsubscribe_url": unsubscribe_url,
        "email": email,
    }


SAMPLE_NAME, SAMPLE_ORGANISATION, SAMPLE_EMAIL = "Sample Reader", "Sample School", "reader@example.org"
LEFTOVER = re.compile(rf"%%P[0-9a-f]*_({'|'.join(SLOTS)})%%")
"""A personalisation sentinel still in a personalised text: feed text that imitates one (the real ones
carry the edition's nonce, so they are all replaced)."""


@dataclass(frozen=True)
class Reader:
    """Who an email is personalised for: their name, organisation, address and unsubscribe link."""

    name: str
    organisation: str
    email: str
    unsubscribe_url: str

    def values(self) -> dict[str, str]:
        return recipient_values(self.name, self.organisation, self.email, self.unsubscribe_url)


class ItemPersonaliser:
    """An outbox item's HTML and plain text, split once, joined per reader. The dispatcher sends what
    this renders and the item page previews it, so what a person approves is what readers get.
    Without a nonce (a post, or an email queued without an edition) the parts are sent as they are."""

    def __init__(self, html_part: str, text_part: str, nonce: str | None) -> None:
        self.nonce = nonce
        self.html, self.text = html_part, text_part
        if nonce:
            self._html, self._text = Personaliser(html_part, nonce), Personaliser(text_part, nonce, escape=False)

    def render(self, reader: Reader) -> tuple[str, str]:
        if not self.nonce:
            return self.html, self.text
        values = reader.values()
        return self._html.render(values), self._text.render(values)
