"""Signed unsubscribe tokens: the address, the list the email came from, and an HMAC, so a link works
with one click, leaves only that list, and cannot be forged for someone else's address or another list.

A list is the code of the email channel that sent the email (`headteacher-bulletin`), the thing its
footer names ("Unsubscribe from the Thurrock headteacher bulletin"). Links sent before lists were named
carry the address alone; they still verify, and mean every list (what they did when they were sent):
stopping more than was asked is the safe side of consent, and the page says so and offers the way back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from pipeline.errors import CommsError

_SEPARATOR = "\n"  # never in a checked address nor in a list's code


class TokenError(CommsError):
    """The unsubscribe link was altered or signed with another key."""


@dataclass(frozen=True)
class Unsubscribe:
    """What a verified link stands for: an address and the list to leave (None: every list)."""

    email: str
    list_code: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(email: str, key: str, list_code: str | None = None) -> str:
    """The token for `email` leaving `list_code` (every list without one, as links used to)."""
    if not key:
        raise TokenError("COMMS_SECRET_KEY is not set; unsubscribe links cannot be signed (set it in .env)")
    text = email.strip().lower()
    if list_code is not None:
        if not list_code or _SEPARATOR in list_code or _SEPARATOR in text:
            raise TokenError(f"{list_code!r} cannot name a list in an unsubscribe link")
        text += _SEPARATOR + list_code
    payload = text.encode()
    mac = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def unsubscribe_url(public_base_url: str, key: str, email: str, list_code: str | None = None) -> str:
    """The one-click link that takes an address off one list, on the workspace's public address."""
    return f"{public_base_url.rstrip('/')}/unsubscribe?token={sign(email, key, list_code)}"


def address_digest(email: str, key: str) -> str:
    """A keyed digest of an address: the same address always gives the same digest, and without the key
    nobody can tell which address it was (the suppression list of erased addresses holds only these)."""
    if not key:
        raise TokenError("COMMS_SECRET_KEY is not set; an erased address cannot be kept off the list (set it in .env)")
    return hmac.new(key.encode(), b"suppress\x00" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


def read(token: str, key: str) -> Unsubscribe:
    """The address and list a token was signed for; TokenError if it was altered or signed elsewhere."""
    try:
        payload_b64, mac_b64 = token.split(".", 1)
        payload = _unb64(payload_b64)
        expected = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:16]
        if key and hmac.compare_digest(expected, _unb64(mac_b64)):
            email, _, list_code = payload.decode().partition(_SEPARATOR)
            return Unsubscribe(email, list_code or None)
    except (ValueError, UnicodeDecodeError):
        pass
    raise TokenError("this unsubscribe link is not valid")


def verify(token: str, key: str) -> str:
    """The address a token was signed for (`read` gives the list as well)."""
    return read(token, key).email
