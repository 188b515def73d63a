"""The small public endpoint: one-click unsubscribe (RFC 8058) and a health check.

GET /unsubscribe?token=T shows one button (link scanners in mail clients follow GETs, so a GET never
unsubscribes anyone); POST /unsubscribe?token=T unsubscribes, which is what mail clients send for
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is the signed address, nothing else.
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIServer, make_server

from pipeline.context import AppContext
from pipeline.errors import NotFound, SettingsError
from pipeline.services.actor import Actor
from pipeline.services.subscribers import SubscriberService
from pipeline.storage.store import Repositories
from pipeline.tokens import TokenError, verify

log = logging.getLogger(__name__)
PAGE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: Arial, sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.5">
<h1>{title}</h1>{body}</body></html>"""


def _page(start: Callable[..., Any], status: str, title: str, body: str) -> Iterable[bytes]:
    start(status, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")])
    return [PAGE.format(title=html.escape(title), body=body).encode()]


def make_app(store: Repositories, secret_key: str, organisation: str = "us") -> Callable[..., Iterable[bytes]]:
    subscribers = SubscriberService(store.subscribers)
    one_click = Actor.system("one-click unsubscribe")

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            start("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path != "/unsubscribe":
            return _page(start, "404 Not Found", "Not found", "<p>There is nothing here.</p>")
        token = parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
        try:
            email = verify(token, secret_key)
        except TokenError:
            return _page(
                start,
                "400 Bad Request",
                "This link is not valid",
                f"<p>Please contact {html.escape(organisation)} to unsubscribe.</p>",
            )
        if method == "POST":
            with contextlib.suppress(NotFound):  # erased meanwhile: nothing more to stop
                subscribers.unsubscribe(one_click, email, datetime.now(UTC), reason="one-click unsubscribe")
            log.info("unsubscribed", extra={"via": "one-click"})
            return _page(
                start,
                "200 OK",
                "You are unsubscribed",
                f"<p>{html.escape(email)} will not receive these emails from {html.escape(organisation)} again.</p>",
            )
        form = (
            f'<form method="post" action="/unsubscribe?token={html.escape(token)}">'
            f"<p>Stop sending these emails to {html.escape(email)}?</p>"
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page(start, "200 OK", "Unsubscribe", form)

    return app


def open_server(ctx: AppContext, host: str, port: int) -> WSGIServer:
    """`comms serve`: the endpoint over the context's database, bound and ready to `serve_forever()`."""
    if not ctx.settings.secret_key:
        raise SettingsError("COMMS_SECRET_KEY is not set: unsubscribe links cannot be checked")
    organisation = ctx.workspace.organisation.get("name", "us")
    server = make_server(host, port, make_app(ctx.repos, ctx.settings.secret_key, organisation))
    log.info("serving", extra={"host": host, "port": port})
    return server
