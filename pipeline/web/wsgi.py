"""The web workspace as a WSGI application, for `gunicorn pipeline.web.wsgi:app` (the Procfile's `web:`)
and `comms web`.

`app` is built when gunicorn first asks for it, in each worker: the settings from the environment and
`.env`, the process's context (database, workspace, templates) and the Flask application on it. Nothing
is opened at import. A setting that stops it (COMMS_SECRET_KEY unset, say) is one line on standard error,
and gunicorn stops with "App failed to load" instead of restarting workers that cannot start.
"""

from __future__ import annotations

from flask import Flask

from pipeline import logs
from pipeline.context import AppContext, open_context
from pipeline.errors import SettingsError
from pipeline.redact import secret_values
from pipeline.settings import Settings, load_settings
from pipeline.web.app import check_settings, create_app
from pipeline.web.watchdog import start_watchdog


def build(settings: Settings) -> tuple[Flask, AppContext]:
    """The application on a new context of its own (close the context when the process ends)."""
    check_settings(settings)
    context = open_context(settings)
    try:
        app = create_app(context)
    except BaseException:
        context.close()
        raise
    if settings.web_watchdog:
        start_watchdog(context)
    return app, context


def _from_environment() -> Flask:
    from gunicorn.errors import AppImportError

    try:
        settings = load_settings()
        logs.configure(settings.log_level, secrets=secret_values(settings), fmt=settings.log_format)
        app, _context = build(settings)
    except SettingsError as exc:
        raise AppImportError(f"settings: {exc}") from None
    return app


def __getattr__(name: str) -> Flask:
    """`pipeline.web.wsgi:app`, built on first use (PEP 562) and kept."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()["app"] = _from_environment()
    return built
