"""Signing in and out, the session, and the role check on every route.

A session cookie (signed, HttpOnly, SameSite=Lax, Secure over https) holds only the account's email and
when it was last used. Every request reads the account again, so a role change or deactivation takes
effect at once, and a session unused for COMMS_WEB_IDLE_MINUTES is signed out.

Every view is wrapped in `requires(Permission.X)` or `public`; `install` refuses any endpoint that
has neither, so a route added without a check fails closed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from pipeline.errors import NotAllowed
from pipeline.records import ItemStatus
from pipeline.services.actor import Actor
from pipeline.services.permissions import Permission, can
from pipeline.services.users import UserService
from pipeline.web.forms import ActionForm, SignInForm

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    """The view needs a signed-in person whose role allows `permission`."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            actor: Actor | None = g.get("actor")
            if actor is None:
                return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
            if not can(actor, permission):
                abort(403, f"Your role ({actor.role}) cannot {permission.value}.")
            return view(*args, **kwargs)

        checked.permission = permission  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return wrap


def public(view: F) -> F:
    """The view is open to anyone (sign-in, unsubscribe, health)."""
    view.public = True  # type: ignore[attr-defined]
    return view


def actor() -> Actor:
    """The signed-in person (only inside a view wrapped in `requires`)."""
    who: Actor = g.actor
    return who


def now() -> datetime:
    return datetime.now(UTC)


def _ctx():  # type: ignore[no-untyped-def]
    return current_app.extensions["comms"]


def install(app: Flask) -> None:
    @app.before_request
    def load_person() -> None:
        g.actor = None
        view = app.view_functions.get(request.endpoint or "")
        if request.endpoint == "static" or view is None:
            return
        if not (getattr(view, "public", False) or getattr(view, "permission", None)):
            abort(403, "This page has no access rule, so nobody can use it.")
        email, seen = session.get("email"), session.get("seen", 0)
        if not email:
            return
        idle = app.permanent_session_lifetime.total_seconds()
        if time.time() - float(seen) > idle:
            session.clear()
            flash("You were signed out because the workspace was not used for a while.", "info")
            return
        g.actor = UserService.of(_ctx()).current(email)
        if g.actor is None:
            session.clear()
            return
        session["seen"] = int(time.time())
        session.permanent = True

    @app.context_processor
    def shared() -> dict[str, Any]:
        """What every page's layout shows: who is signed in, the freeze banner, the counts in the nav."""
        who: Actor | None = g.get("actor")
        if who is None:
            return {"actor": None, "freeze": None, "counts": {}, "can": lambda p: False, "P": Permission}
        ctx = _ctx()
        return {
            "actor": who,
            "freeze": ctx.repos.control.freeze(),
            "counts": {
                "awaiting": len(ctx.repos.outbox.items(status=ItemStatus.AWAITING_APPROVAL)),
                "failed": len(ctx.repos.outbox.items(status=ItemStatus.FAILED)),
            },
            "can": lambda p: can(who, p),
            "P": Permission,
            "signout_form": ActionForm(),
            "organisation": ctx.workspace.organisation.get("name", ""),
        }

    @app.context_processor
    def always() -> dict[str, Any]:
        return {"service_name": "Communications workspace", "tz": _ctx().settings.tz}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target:
        return url_for("items.queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("items.queue")
    return target


@bp.route("/signin", methods=["GET", "POST"])
@public
def signin() -> str | Response:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        try:
            signed = UserService.of(_ctx()).authenticate(
                form.email.data or "", form.password.data or "", now(), request.remote_addr or ""
            )
        except NotAllowed as exc:
            error = str(exc)
        else:
            session.clear()  # a new session: nothing carried over from before signing in
            session["email"], session["seen"] = signed.user.email, int(time.time())
            session.permanent = True
            return redirect(_safe_next(form.next.data))
    status = 400 if request.method == "POST" else 200
    return render_template("web/signin.html", form=form, error=error, sso=bool(_ctx().settings.oidc_issuer)), status  # type: ignore[return-value]


@bp.route("/signout", methods=["POST"])
@requires(Permission.VIEW)
def signout() -> Response:
    UserService.of(_ctx()).signed_out(actor(), now())
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.signin"))
