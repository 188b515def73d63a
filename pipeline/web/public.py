"""What anyone may reach: the one-click unsubscribe (RFC 8058), the way back, and the health check.

GET /unsubscribe?token=T shows one button (link scanners in mail clients follow GETs, so a GET never
unsubscribes anyone); POST /unsubscribe?token=T takes the address off the list the email came from, which
is what mail clients send for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is the signed
address and list (`pipeline.tokens`; a link sent before lists were named means every list); the POST
needs no CSRF token (a mail client has none), and changes nothing but that address on that list. The page
that says it is done offers the way back: POST /resubscribe?token=T, a form with a CSRF token like any
other, puts the address back on that list.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFProtect

from pipeline.errors import NotFound
from pipeline.services.actor import Actor
from pipeline.services.subscribers import SubscriberService
from pipeline.tokens import TokenError, Unsubscribe, read
from pipeline.web.auth import now, public

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)
ONE_CLICK = Actor.system("one-click unsubscribe")
WAY_BACK = Actor.system("unsubscribe page")


@bp.route("/healthz")
@public
def healthz() -> Response:
    """For a load balancer: 200 when the database answers, 503 when it does not. Says nothing more."""
    ctx = current_app.extensions["comms"]
    try:
        ctx.repos.control.freeze()
    except Exception:  # any database failure: not healthy
        log.warning("health check: database unavailable")
        return Response("database unavailable", status=503, mimetype="text/plain")
    return Response("ok", mimetype="text/plain")


def _service() -> SubscriberService:
    return SubscriberService.of(current_app.extensions["comms"])


def _link() -> tuple[Unsubscribe | None, str]:
    token = request.args.get("token", "")
    try:
        return read(token, current_app.extensions["comms"].settings.secret_key), token
    except TokenError:
        return None, token


def _page(state: str, link: Unsubscribe | None, token: str = "", choice: object = None) -> tuple[str, int]:
    service = _service()
    organisation = service.workspace.organisation.get("name", "us") if service.workspace else "us"
    return render_template(
        "web/unsubscribe.html",
        state=state,
        organisation=organisation,
        email=link.email if link else "",
        every_list=link is not None and link.list_code is None,
        list_name=service.list_name(link.list_code) if link else "",
        token=token,
        choice=choice,
    ), (400 if state == "invalid" else 200)


@bp.route("/unsubscribe", methods=["GET", "POST"])
@public
def unsubscribe() -> tuple[str, int]:
    link, token = _link()
    if link is None:
        return _page("invalid", None)
    if request.method == "GET":
        return _page("ask", link, token)
    choice = None
    with contextlib.suppress(NotFound):  # erased meanwhile: nothing more to stop
        choice = _service().leave(ONE_CLICK, link.email, link.list_code, now())
    log.info("unsubscribed", extra={"via": "one-click", "list": link.list_code or "every list"})
    return _page("done", link, token, choice)


@bp.route("/resubscribe", methods=["GET", "POST"])
@public
def resubscribe() -> tuple[str, int]:
    link, token = _link()
    if link is None:
        return _page("invalid", None)
    if request.method == "GET":
        return _page("ask_back", link, token)
    try:
        choice = _service().rejoin(WAY_BACK, link.email, link.list_code, now())
    except NotFound:
        return _page("gone", link, token)
    log.info("subscribed again", extra={"list": link.list_code or "every list"})
    return _page("back", link, token, choice)


def exempt(csrf: CSRFProtect) -> None:
    csrf.exempt(unsubscribe)
