"""Signing in and out, the session, and the role check on every route.

A session cookie (signed, HttpOnly, SameSite=Lax, Secure and `__Host-` over https) holds only the
account's email, when the session began and was last used, and the account's session stamp. Every
request reads the account again, so a role change or deactivation takes effect at once; a session unused
for COMMS_WEB_IDLE_MINUTES, older than `MAX_SESSION`, or whose account has had its password changed
since, is signed out with a banner that says why.

Every view is wrapped in `requires(Permission.X)` or `public`; `install` refuses any endpoint that
has neither, so a route added without a check fails closed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from pipeline.context import AppContext
from pipeline.errors import NotAllowed
from pipeline.records import ItemStatus
from pipeline.services.actor import Actor
from pipeline.services.permissions import Permission, can
from pipeline.services.users import SignedIn, UserService
from pipeline.web.forms import ActionForm, SignInForm, sentence

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
MAX_SESSION = timedelta(hours=12)  # a working day: then sign in again, however busy the session was


def requires(permission: Permission) -> Callable[[F], F]:
    """The view needs a signed-in person whose role allows `permission`."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            actor: Actor | None = g.get("actor")
            if actor is None:
                back = _come_back_to()
                return redirect(url_for("auth.signin", next=back) if back else url_for("auth.signin"))
            if not can(actor, permission):
                abort(403, f"Your role ({actor.role}) cannot {permission.value}.")
            return view(*args, **kwargs)

        checked.permission = permission  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return wrap


def _come_back_to() -> str:
    """Where to return after signing in: the page asked for; for a form sent after the session ended, the
    page the form was on (its address takes only a POST)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc != request.host:
        return ""
    return came_from.path + (f"?{came_from.query}" if came_from.query else "")


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


def ctx() -> AppContext:
    """The process's context (`pipeline.context`), which `create_app` was given."""
    built: AppContext = current_app.extensions["comms"]
    return built


def address() -> str:
    """The browser's address (the proxies' X-Forwarded-For is read when COMMS_WEB_PROXIES trusts them)."""
    return request.remote_addr or ""


def begin_session(signed: SignedIn) -> None:
    """A fresh session for someone who just signed in (locally or through single sign-on): nothing from
    before signing in is carried over, so a session id planted before sign-in is worth nothing."""
    session.clear()
    moment = int(time.time())
    session.update(
        email=signed.user.email,
        since=moment,
        seen=moment,
        stamp=UserService.of(ctx()).session_stamp(signed.user.email),
    )
    session.permanent = True


def renew_stamp() -> None:
    """After this session's own password change: keep it, while every other session of the account ends."""
    session["stamp"] = UserService.of(ctx()).session_stamp(actor().name)


def _signed_out(why: str) -> None:
    session.clear()
    flash(f"You were signed out because {why}. Sign in again to carry on.", "info")


def _load_person(app: Flask) -> None:
    g.actor = None
    view = app.view_functions.get(request.endpoint or "")
    if request.endpoint == "static" or view is None:
        return
    if not (getattr(view, "public", False) or getattr(view, "permission", None)):
        abort(403, "This page has no access rule, so nobody can use it.")
    email = session.get("email")
    if not email:
        return
    moment = time.time()
    idle = app.config["COMMS_IDLE"].total_seconds()
    if moment - float(session.get("seen", 0)) > idle:
        _signed_out(f"the workspace was not used for {int(idle // 60)} minutes")
    elif moment - float(session.get("since", 0)) > MAX_SESSION.total_seconds():
        _signed_out(f"you signed in more than {int(MAX_SESSION.total_seconds() // 3600)} hours ago")
    elif (who := UserService.of(ctx()).current(email, str(session.get("stamp", "")))) is None:
        _signed_out("your account changed: it was deactivated, or its password was changed")
    else:
        g.actor = who
        session["seen"] = int(moment)
        session.permanent = True


def install(app: Flask) -> None:
    app.before_request(lambda: _load_person(app))

    @app.context_processor
    def shared() -> dict[str, Any]:
        """What every page's layout shows: who is signed in, the freeze banner, the counts in the nav."""
        who: Actor | None = g.get("actor")
        if who is None:
            return {"actor": None, "freeze": None, "counts": {}, "can": lambda p: False, "P": Permission}
        repos = ctx().repos
        counts = repos.outbox.status_counts()  # one grouped read, whatever the size of the outbox
        return {
            "actor": who,
            "freeze": repos.control.freeze(),
            "counts": {
                "awaiting": counts.get(ItemStatus.AWAITING_APPROVAL, 0),
                "failed": counts.get(ItemStatus.FAILED, 0),
            },
            "can": lambda p: can(who, p),
            "P": Permission,
            "signout_form": ActionForm(),
        }

    @app.context_processor
    def always() -> dict[str, Any]:
        context = ctx()
        return {
            "service_name": "Communications workspace",
            "tz": context.settings.tz,
            "organisation": context.workspace.organisation.get("name", ""),
        }


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else. Browsers read `/\\host` and a
    path with a tab or newline in it as `//host`, so a backslash or any control character is refused too."""
    home = url_for("home.home")
    if not target or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return home
    parts = urlsplit(target)
    return home if parts.scheme or parts.netloc else target


@bp.route("/signin", methods=["GET", "POST"])
@public
def signin() -> str | Response | tuple[str, int]:
    form = SignInForm()
    if request.method == "GET":
        if g.actor is not None:
            return redirect(safe_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        try:
            signed = UserService.of(ctx()).authenticate(
                form.email.data or "", form.password.data or "", now(), address()
            )
        except NotAllowed as exc:
            error = sentence(exc)
        else:
            begin_session(signed)
            return redirect(safe_next(form.next.data))
    status = 400 if request.method == "POST" else 200
    sso = bool(ctx().settings.oidc_issuer)
    return render_template("web/signin.html", form=form, error=error, sso=sso), status


@bp.route("/signout", methods=["POST"])
@requires(Permission.VIEW)
def signout() -> Response:
    UserService.of(ctx()).signed_out(actor(), now())
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.signin"))
