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
