"""One redaction for every text that may carry a secret: errors, answers, stored details, log lines.

`redact(text, secrets)` removes the given secret values (the settings' tokens and passwords, known
only where the settings are), and by their shape: the password in `scheme://user:password@host`,
the value of an `Authorization` header or a `Bearer`/`Basic` credential, and `token=`, `api_key=`,
`access_token=` (and the like) in query strings, forms and JSON. `Redactor` holds the values for a
process. The pipeline re-exports both from `pipeline.redact`, with `Redactor.of(settings)`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

HIDDEN = "***"
# Shorter values are not searched for: "1" or "no" would blank unrelated words.
MIN_SECRET = 4
_KEYS = (
    r"access_token|refresh_token|id_token|token|api_key|apikey|api-key|client_secret|"
    r"password|passwd|app_password|signature"
)
_SECRET_KEY = re.compile(rf"(?:{_KEYS})", re.I)
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # user:password@ in a URL (any scheme), the password only
    re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)", re.I),
    # Authorization: <scheme> <credentials>, as a header line, in JSON or in a repr
    re.compile(r"(?P<keep>\bauthorization['\"]?\s*[:=]\s*['\"]?)(?:[A-Za-z]+\s+)?[^\s'\",;}]+", re.I),
    # Bearer and Basic credentials wherever they stand (a Basic one is base64: it has a digit, + / or =)
    re.compile(r"(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.I),
    re.compile(r"(?P<keep>\bbasic\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}", re.I),
    # key=value in a query string or form, "key": "value" in JSON, key: value in YAML or a repr
    re.compile(rf"(?P<keep>(?<![A-Za-z0-9_])['\"]?(?:{_KEYS})['\"]?\s*[:=]\s*['\"]?)[^\s&'\",;}}\]]+", re.I),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret value given, and every credential recognisable by its shape, hidden."""
    for value in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(value, HIDDEN)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("keep") + HIDDEN, text)
    return text


def credentials(headers: Mapping[str, str], body: object = None) -> set[str]:
    """The secret values a request carried, to hide in whatever its answer echoes: the Authorization
    header whole and its credentials (a Basic password decoded), and the secret fields of a form or
    JSON body (an OAuth client secret, an app password)."""
    found: set[str] = set()
    for name, value in headers.items():
        if name.lower() not in ("authorization", "proxy-authorization", "x-api-key", "api-key"):
            continue
        found.add(value)
        scheme, _, credential = value.partition(" ")
        found.add(credential or scheme)
        if scheme.lower() == "basic" and credential:
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                found.add(base64.b64decode(credential, validate=True).decode().partition(":")[2])
    return {value for value in found | _body_secrets(body) if value}


def _body_secrets(body: object) -> set[str]:
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    if not isinstance(text, str) or not text:
        return set()
    try:
        fields = json.loads(text)
    except ValueError:
        fields = dict(parse_qsl(text))
    if not isinstance(fields, dict):
        return set()
    return {str(v) for k, v in fields.items() if _SECRET_KEY.fullmatch(str(k)) and isinstance(v, str | int)}


@dataclass(frozen=True)
class Redactor:
    """`redact` with a process's secret values."""

    secrets: frozenset[str] = frozenset()

    def __call__(self, text: str) -> str:
        return redact(text, self.secrets)

    def adding(self, more: Iterable[str]) -> Redactor:
        return Redactor(self.secrets | {s for s in more if s})
