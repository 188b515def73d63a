"""The team's web workspace: one Flask application over the same core as the command line.

`create_app(ctx)` builds it on a process's context (`pipeline.context`). Every page is rendered on the
server and works without JavaScript. Each view declares the permission it needs (`auth.requires`) or
that it is public (`auth.public`); a view that declares neither is refused, so no route goes
unchecked by accident (`tests/web/test_roles.py` walks every route with every role).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from pipeline.context import AppContext
from pipeline.errors import CommsError, Conflict, Invalid, NotAllowed, NotFound, SettingsError
from pipeline.settings import Settings
from pipeline.web import auth, security, sso

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


def session_key(secret_key: str) -> bytes:
    """The cookie-signing key, derived from COMMS_SECRET_KEY for this one use (the unsubscribe tokens
    use the key itself), so one leaked signature says nothing about the other."""
    return hashlib.sha256(b"comms web session\x00" + secret_key.encode()).digest()


def check_settings(settings: Settings) -> None:
    """What the workspace cannot start without, checked before the database is opened."""
    if not settings.secret_key:
        raise SettingsError(
            "COMMS_SECRET_KEY is not set: sessions and unsubscribe links cannot be signed "
            """(make one with: python3 -c 'import secrets; print(secrets.token_hex(32))')"""
        )


def create_app(ctx: AppContext, *, blueprints: tuple[Any, ...] | None = None) -> Flask:
    settings = ctx.settings
    check_settings(settings)
    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    secure = settings.public_base_url.lower().startswith("https://")
    app.config.update(
        SECRET_KEY=session_key(settings.secret_key),
        SESSION_COOKIE_NAME="__Host-comms" if secure else "comms",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Lax, not Strict: the sign-in provider redirects back with a GET
        # The cookie outlives the idle limit (which is checked on the server, `auth`), so a browser still
        # sends it after a long pause and the sign-in page can say why the person was signed out.
        PERMANENT_SESSION_LIFETIME=auth.MAX_SESSION + timedelta(hours=1),
        COMMS_IDLE=timedelta(minutes=settings.web_idle_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which idles out
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    if settings.web_proxies:  # behind a load balancer: the browser's address, scheme and host, not the proxy's
        hops = settings.web_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.extensions["comms"] = ctx
    csrf = CSRFProtect(app)
    security.install(app)
    auth.install(app)
    sso.install(app, settings)
    from pipeline.web import accounts, admin, calendar, feeds, home, items, jobs, metrics, public, reports, subscribers

    public.exempt(csrf)

    pages: tuple[Any, ...] = (public.bp, auth.bp, sso.bp, home.bp, items.bp, admin.bp, accounts.bp, calendar.bp)
    pages += (reports.bp, metrics.bp, feeds.bp, subscribers.bp, jobs.bp)
    for bp in blueprints or pages:
        app.register_blueprint(bp)
    if blueprints is None:  # the counted links of editions, /r/<token> (issue 19)
        from pipeline.web import redirect

        app.register_blueprint(redirect.bp)
    _errors(app)
    return app


def context() -> AppContext:
    from flask import current_app

    ctx: AppContext = current_app.extensions["comms"]
    return ctx


def _errors(app: Flask) -> None:
    """The core's refusals as pages with their message; nothing else ever shows a traceback."""

    def page(status: int, title: str, message: str) -> tuple[str, int]:
        return render_template("web/error.html", title=title, message=message, status=status), status

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> tuple[str, int]:
        return page(404, "Page not found", str(exc))

    @app.errorhandler(NotAllowed)
    def not_allowed(exc: NotAllowed) -> tuple[str, int]:
        return page(403, "You cannot do that", str(exc))

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict) -> tuple[str, int]:
        return page(409, "That has changed", str(exc))

    @app.errorhandler(Invalid)
    def invalid(exc: Invalid) -> tuple[str, int]:
        return page(400, "There is a problem", str(exc))

    @app.errorhandler(CSRFError)
    def csrf(exc: CSRFError) -> tuple[str, int]:
        return page(400, "The form expired", "Go back, reload the page and try again. Nothing was changed.")

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException) -> tuple[str, int]:
        titles = {403: "You cannot see this page", 404: "Page not found", 405: "Not allowed"}
        code = exc.code or 500
        return page(code, titles.get(code, exc.name), exc.description or "")

    @app.errorhandler(CommsError)
    def comms(exc: CommsError) -> tuple[str, int]:
        return page(400, "There is a problem", str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        log.exception("unexpected error", extra={"path": request.path, "who": getattr(g, "actor", None)})
        return page(500, "Sorry, something went wrong", "The error was logged. Nothing was changed; try again.")
