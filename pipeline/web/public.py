"""What anyone may reach: the one-click unsubscribe (RFC 8058) and the health check.

GET /unsubscribe?token=T shows one button (link scanners in mail clients follow GETs, so a GET never
unsubscribes anyone); POST /unsubscribe?token=T unsubscribes, which is what mail clients send for
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is the signed address, nothing else;
the POST needs no CSRF token (a mail client has none), and changes nothing but that one address.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFProtect

from pipeline.errors import NotFound
from pipeline.services.actor import Actor
from pipeline.services.subscribers import SubscriberService
from pipeline.tokens import TokenError, verify
from pipeline.web.auth import now, public

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)
ONE_CLICK = Actor.system("one-click unsubscribe")


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


@bp.route("/unsubscribe", methods=["GET", "POST"])
@public
def unsubscribe() -> tuple[str, int]:
    ctx = current_app.extensions["comms"]
    organisation = ctx.workspace.organisation.get("name", "us")
    token = request.args.get("token", "")
    try:
        email = verify(token, ctx.settings.secret_key)
    except TokenError:
        return render_template("web/unsubscribe.html", state="invalid", organisation=organisation), 400
    if request.method == "POST":
        with contextlib.suppress(NotFound):  # erased meanwhile: nothing more to stop
            SubscriberService.of(ctx).unsubscribe(ONE_CLICK, email, now(), reason="one-click unsubscribe")
        log.info("unsubscribed", extra={"via": "one-click"})
        return render_template("web/unsubscribe.html", state="done", email=email, organisation=organisation), 200
    return render_template(
        "web/unsubscribe.html", state="ask", email=email, token=token, organisation=organisation
    ), 200


def exempt(csrf: CSRFProtect) -> None:
    csrf.exempt(unsubscribe)
