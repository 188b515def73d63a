"""The council's web page, measured by Google Analytics 4's Data API: page views and downloads of the
configured page paths, per month (`POST /v1beta/properties/{id}:runReport`).

There are no posts to measure: `measure` is given the months (YYYY-MM) to report, and returns one
result per month, named by the month. The report asks for `eventCount` by `yearMonth` and `eventName`,
for the events `page_view` and `file_download` on the configured `pagePath`s, a page of rows at a time
(`limit`, `offset`) until `rowCount` rows have come; a page that ends before them leaves the months
unmeasured (a month's total from part of its rows would be wrong), said as a problem.

Access is a Google service account's key file (JSON), exchanged for a token with a JWT signed RS256
(the OAuth 2.0 JWT bearer grant); the account must be a viewer of the property.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests

from channels.base import ChannelError
from channels.http import ApiChannel, message, request
from channels.measure import Measurement, Patience, PostFigures, json_body

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
EVENTS = {"page_view": "page_views", "file_download": "downloads"}
ROWS_PER_PAGE = 10_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ServiceAccountToken:
    """An access token for a Google service account, kept until a minute before it expires."""

    def __init__(self, channel: str, session: requests.Session, key_file: Path, token_url: str = "") -> None:
        self.channel, self.session = channel, session
        try:
            key = json.loads(key_file.read_text(encoding="utf-8"))
            self.email, self.pem = key["client_email"], key["private_key"].encode()
        except (OSError, ValueError, KeyError, TypeError):
            raise ChannelError(
                channel,
                f"cannot read a service account key (client_email, private_key) from {key_file}",
                transient=False,
            ) from None
        self.token_url = token_url or key.get("token_uri") or "https://oauth2.googleapis.com/token"
        self.token, self.expires = "", 0.0

    def header(self) -> dict[str, str]:
        if not self.token or time.monotonic() >= self.expires:
            self.refresh()
        return {"Authorization": f"Bearer {self.token}"}

    def assertion(self) -> str:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        now = int(time.time())
        claims = {"iss": self.email, "scope": SCOPE, "aud": self.token_url, "iat": now, "exp": now + 3600}
        head = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        key = serialization.load_pem_private_key(self.pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ChannelError(self.channel, "the service account's private_key is not an RSA key", transient=False)
        signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64(signature)}"

    def refresh(self) -> None:
        def refused(response: requests.Response) -> ChannelError | None:
            if response.status_code in (400, 401):
                return ChannelError(
                    self.channel,
                    f"Google refused the service account ({message(response)}); check COMMS_GA4_CREDENTIALS_FILE",
                    transient=False,
                )
            return None

        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": self.assertion()}
        response = request(self.session, self.channel, "POST", self.token_url, data=form, classify=refused)
        body = json_body(self.channel, response)
        self.token = body["access_token"]
        self.expires = time.monotonic() + max(0, int(body.get("expires_in", 3600)) - 60)


class Ga4Measurer(ApiChannel):
    kind = "ga4"

    def __init__(
        self,
        channel: str,
        property_id: str,
        page_paths: Sequence[str],
        token: ServiceAccountToken | None,
        api_url: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(channel, **kwargs)
        self.require(ga4_property_id=property_id, ga4_page_paths=",".join(page_paths))
        self.property_id, self.page_paths, self.token = property_id, tuple(page_paths), token
        self.url = f"{api_url.rstrip('/')}/v1beta/properties/{property_id}:runReport"

    def auth(self) -> dict[str, str]:
        return self.token.header() if self.token else {}

    def account(self) -> str:
        return f"GA4 property {self.property_id}"

    def check(self) -> str:
        self.call("GET", self.url.replace(":runReport", "/metadata"))
        return f"property {self.property_id} readable with the service account"

    def measure(self, posts: Sequence[str], now: datetime, patience: Patience) -> Measurement:
        """Page views and downloads of each month in `posts` (YYYY-MM), up to `now`."""
        months = sorted(set(posts))
        if not months:
            return Measurement()
        start = date.fromisoformat(months[0] + "-01")
        try:
            totals = patience.run(lambda: self._report(start, now.date()))
        except ChannelError as exc:
            return Measurement(problems=(str(exc),), requests=patience.calls, fatal=True)
        results = tuple(
            PostFigures(m, {metric: totals.get((m, metric), 0.0) for metric in EVENTS.values()}) for m in months
        )
        return Measurement(results, requests=patience.calls)

    def _report(self, first: date, last: date) -> dict[tuple[str, str], float]:
        totals: dict[tuple[str, str], float] = {}
        offset, expected = 0, None
        while expected is None or offset < expected:
            body = json_body(self.channel, self.call("POST", self.url, json=self._query(first, last, offset)))
            rows = body.get("rows") or []
            expected = int(body.get("rowCount") or 0)
            if not rows and offset < expected:
                raise ChannelError(
                    self.channel,
                    f"the report ended after {offset} of its {expected} rows; the months are measured at the next pull",
                    transient=False,
                )
            for row in rows:
                month, event = (v.get("value", "") for v in row["dimensionValues"][:2])
                value = _float(row["metricValues"][0].get("value"))
                key = (f"{month[:4]}-{month[4:6]}", EVENTS.get(event, ""))
                if key[1] and value is not None:
                    totals[key] = totals.get(key, 0.0) + value
            offset += len(rows)
        return totals

    def _query(self, first: date, last: date, offset: int) -> dict[str, Any]:
        def within(field: str, values: Sequence[str]) -> dict[str, Any]:
            return {"filter": {"fieldName": field, "inListFilter": {"values": list(values)}}}

        return {
            "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
            "dimensions": [{"name": "yearMonth"}, {"name": "eventName"}],
            "metrics": [{"name": "eventCount"}],
            "dimensionFilter": {
                "andGroup": {"expressions": [within("pagePath", self.page_paths), within("eventName", list(EVENTS))]}
            },
            "limit": ROWS_PER_PAGE,
            "offset": offset,
        }


def _float(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None
