"""Shared HTTP handling for API channels: one session, timeouts, and status codes turned into
transient or permanent ChannelErrors (honouring Retry-After).

`ApiChannel` is the base for every social, intranet and web adapter. When an earlier attempt with the
same key may have landed (it timed out in this process, or the ledger shows a claim with no outcome
after a crash: `Post.maybe_sent`), `send` first asks the destination whether the post is already there
(`find`), and only then publishes (`create`). Adapters find by key where the destination lets the key
name the thing (a Bluesky record key, a SharePoint page name, a WordPress slug, a Notify reference);
Facebook, X, LinkedIn and Viva Engage have nothing of the kind, so they look for the same text among
their newest posts since just before the post was due. Mastodon needs no lookup: its server honours an
Idempotency-Key.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.limits import URL, check_length
from channels.redact import credentials, redact

USER_AGENT = "comms-pipeline/0.1 (+https://example.org/comms-pipeline)"
# How long before a post's due time a matching post found at the destination counts as ours.
LOOKBACK = timedelta(hours=1)

Classify = Callable[[requests.Response], "ChannelError | None"]


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
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
    classify: Classify | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One call. `classify` lets an API with its own error codes (Facebook's, say) decide first."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise ChannelError(channel, f"timed out talking to {_safe(url)}", transient=True) from None
    except requests.RequestException as exc:
        raise ChannelError(channel, f"cannot reach {_safe(url)}: {type(exc).__name__}", transient=True) from None
    if response.status_code < 400:
        return response
    if classify is not None and (error := classify(response)) is not None:
        raise error
    if response.status_code == 429 or response.status_code >= 500:
        raise ChannelError(
            channel,
            f"HTTP {response.status_code} from {_safe(url)}",
            transient=True,
            retry_after=retry_after(response.headers.get("Retry-After")),
        )
    if response.status_code == 401:
        raise ChannelError(
            channel,
            f"HTTP 401: the token was refused ({message(response)}); check the channel's credentials in .env",
            transient=False,
        )
    raise ChannelError(channel, f"HTTP {response.status_code}: {message(response)}", transient=False)


def _safe(url: str) -> str:
    """The address without its query string, which may carry a token."""
    return url.split("?", 1)[0]


def message(response: requests.Response) -> str:
    """The destination's own words for an error, from the usual JSON shapes, with every credential
    the request carried hidden: a destination may echo the token or password it was sent."""
    sent = response.request
    secrets = credentials(sent.headers, sent.body) if sent is not None else set()
    return redact(_words(response), secrets)[:200]


def _words(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:400]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message") or error.get("code")
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            error = error or errors[0].get("message")
        if body.get("error_description"):  # OAuth 2.0 token endpoints
            error = f"{error}: {body['error_description']}"
        return str(error or body.get("message") or body.get("detail") or body.get("title") or body)[:400]
    return str(body)[:400]


def digest(key: str, length: int = 24) -> str:
    """A stable, opaque name for a key (keys can hold an email address; destinations must not see it)."""
    return hashlib.sha256(key.encode()).hexdigest()[:length]


def same_text(a: str, b: str) -> bool:
    """Whether two post texts are the same once links (which destinations shorten or strip) and
    spacing are set aside."""
    return _normal(a) == _normal(b)


def _normal(text: str) -> str:
    return " ".join(URL.sub("", text).split())


def parse_time(value: str | int | float | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ApiChannel:
    """The shape every HTTP adapter shares; subclasses set `kind` and write `create` (and `find`)."""

    kind = "api"

    def __init__(
        self, channel: str, *, session: requests.Session | None = None, timeout: tuple[float, float] = (5.0, 20.0)
    ) -> None:
        self.channel = channel
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout
        self._sent: OrderedDict[str, Receipt] = OrderedDict()  # keys published by this process
        self._tried: set[str] = set()  # keys whose attempt here ended without an answer

    def require(self, **values: str) -> None:
        """A clear error, before anything is sent, naming every missing setting."""
        missing = [name for name, value in values.items() if not value]
        if missing:
            names = ", ".join(f"COMMS_{name.upper()}" for name in missing)
            raise ChannelError(self.channel, f"{self.kind} needs {names} in .env", transient=False)

    def call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One call; `classify=` may stand in for the adapter's own (a measure call reads a 404 as gone)."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs["headers"] = {**self.auth(), **kwargs.get("headers", {})}
        classify = kwargs.pop("classify", self.classify)
        return request(self.session, self.channel, method, url, classify=classify, **kwargs)

    def auth(self) -> dict[str, str]:
        """Headers that authorise a call, for adapters whose token changes (Entra ID's expire hourly)."""
        return {}

    def classify(self, response: requests.Response) -> ChannelError | None:
        return None

    def text(self, post: Post) -> str:
        """The words as published: the link is added at the end unless the text carries it."""
        return f"{post.text}\n\n{post.link}" if post.link and post.link not in post.text else post.text

    def validate(self, post: Post) -> list[str]:
        return ([] if post.text.strip() else ["the post is empty"]) + check_length(self.kind, self.text(post))

    def send(self, post: Post, key: str) -> Receipt:
        if key in self._sent:
            return Receipt(self._sent[key].external_id, self._sent[key].url, duplicate=True)
        if post.maybe_sent or key in self._tried:
            found = self.find(post, key)
            if found is not None:
                self._remember(key, found)
                return Receipt(found.external_id, found.url, duplicate=True)
        self._tried.add(key)  # until it succeeds: even a 500 may come after the post was made
        receipt = self.create(post, key)
        self._remember(key, receipt)
        return receipt

    def _remember(self, key: str, receipt: Receipt) -> None:
        self._tried.discard(key)
        self._sent[key] = receipt
        while len(self._sent) > 10_000:
            self._sent.popitem(last=False)

    def check(self) -> str:
        """A harmless authenticated call: the settings, the token and the account all work."""
        raise NotImplementedError

    def find(self, post: Post, key: str) -> Receipt | None:
        """The post already made for this key, if the destination has it."""
        return None

    def create(self, post: Post, key: str) -> Receipt:
        raise NotImplementedError

    def match(
        self, post: Post, recent: Iterable[tuple[str, str, datetime | None, str | None]], wanted: str | None = None
    ) -> Receipt | None:
        """Among (id, text, created, url) of the destination's newest posts, the one that is this post:
        the same text (`wanted`, if the destination keeps it in another form), made no earlier than
        just before it was due."""
        since = (post.due_at or datetime.now(UTC)) - LOOKBACK
        wanted = self.text(post) if wanted is None else wanted
        for external_id, text, created, url in recent:
            if (created is None or created >= since) and same_text(text, wanted):
                return Receipt(external_id, url)
        return None

    def close(self) -> None:
        self.session.close()
