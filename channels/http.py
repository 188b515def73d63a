"""Shared HTTP handling for API channels: one session, timeouts, and status codes turned into
transient or permanent ChannelErrors (honouring Retry-After)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import requests

from channels.base import ChannelError

USER_AGENT = "comms-pipeline/0.1 (+https://example.org/comms-pipeline)"


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            from datetime import UTC, datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def request(
    session: requests.Session,
    channel: str,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float] = (5, 20),
    **kwargs: Any,
) -> requests.Response:
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise ChannelError(channel, f"timed out talking to {url}", transient=True) from None
    except requests.RequestException as exc:
        raise ChannelError(channel, f"cannot reach {url}: {type(exc).__name__}", transient=True) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise ChannelError(
            channel,
            f"HTTP {response.status_code} from {url}",
            transient=True,
            retry_after=retry_after(response.headers.get("Retry-After")),
        )
    if response.status_code in (401, 403):
        raise ChannelError(
            channel,
            f"HTTP {response.status_code}: the token was refused; check the channel's credentials in .env",
            transient=False,
        )
    if response.status_code >= 400:
        raise ChannelError(channel, f"HTTP {response.status_code}: {_message(response)}", transient=False)
    return response


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:200]
    return str(body)[:200]
