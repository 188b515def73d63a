"""Signed unsubscribe tokens: the address and an HMAC, so a link works with one click and cannot be
forged for someone else's address."""

from __future__ import annotations

import base64
import hashlib
import hmac

from pipeline.errors import CommsError


class TokenError(CommsError):
    """The unsubscribe link was altered or signed with another key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(email: str, key: str) -> str:
    if not key:
        raise TokenError("COMMS_SECRET_KEY is not set; unsubscribe links cannot be signed (set it in .env)")
    payload = email.strip().lower().encode()
    mac = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def unsubscribe_url(public_base_url: str, key: str, email: str) -> str:
    """The one-click unsubscribe link for an address, on the workspace's public address."""
    return f"{public_base_url.rstrip('/')}/unsubscribe?token={sign(email, key)}"


def address_digest(email: str, key: str) -> str:
    """A keyed digest of an address: the same address always gives the same digest, and without the key
    nobody can tell which address it was (the suppression list of erased addresses holds only these)."""
    if not key:
        raise TokenError("COMMS_SECRET_KEY is not set; an erased address cannot be kept off the list (set it in .env)")
    return hmac.new(key.encode(), b"suppress\x00" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


def verify(token: str, key: str) -> str:
    try:
        payload_b64, mac_b64 = token.split(".", 1)
        payload = _unb64(payload_b64)
        expected = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:16]
        if hmac.compare_digest(expected, _unb64(mac_b64)):
            return payload.decode()
    except (ValueError, UnicodeDecodeError):
        pass
    raise TokenError("this unsubscribe link is not valid")
