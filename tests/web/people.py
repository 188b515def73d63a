"""Helpers for the web workspace's tests: a real app on a real SQLite database, real accounts, and
signing in through the real sign-in form (CSRF token and all)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from pipeline.context import AppContext, open_context
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.settings import Settings, load_settings
from pipeline.web.app import create_app
from tests.conftest import EXAMPLE

PASSWORD = "correct horse battery staple"
SECRET_KEY = "web-test-secret-key"
ROLES = ("viewer", "author", "approver", "admin")
TOKEN = re.compile(r'name="(?:[\w-]+-)?csrf_token" type="hidden" value="([^"]+)"')


def web_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'comms.db'}",
        "workspace": EXAMPLE,
        "outbox_dir": tmp_path / "outbox",
        "secret_key": SECRET_KEY,
        "file_channels": ("*",),
    }
    return load_settings(environ={}, env_file=None, **(values | overrides))


def make_app(settings: Settings) -> Flask:
    """The workspace as `comms web` builds it; close with `close(app)`."""
    app = create_app(open_context(settings))
    app.testing = False  # errors are shown as the pages a person sees, not raised into the test
    return app


def context(app: Flask) -> AppContext:
    ctx: AppContext = app.extensions["comms"]
    return ctx


def close(app: Flask) -> None:
    context(app).close()


def add_user(app: Flask, email: str, role: str, *, password: str | None = PASSWORD, name: str = "") -> None:
    """An account, made as `comms users add` makes one."""
    UserService.of(context(app)).add(Actor.cli("test"), email, role, datetime.now(UTC), name=name, password=password)


def email_of(role: str) -> str:
    return f"{role}@council.example.gov.uk"


def add_team(app: Flask) -> None:
    """One account for each role: viewer@…, author@…, approver@…, admin@…"""
    for role in ROLES:
        add_user(app, email_of(role), role, name=f"{role.capitalize()} Person")


def team_database(folder: Path) -> Path:
    """A database with the schema and one account per role, made once for a test module and copied for
    each test (`app_with_team`): migrations and argon2 hashes take seconds."""
    app = make_app(web_settings(folder))
    add_team(app)
    close(app)
    return folder / "comms.db"


def app_with_team(template: Path, tmp_path: Path, **overrides: Any) -> Flask:
    """A fresh app on a copy of `team_database`."""
    shutil.copyfile(template, tmp_path / "comms.db")
    return make_app(web_settings(tmp_path, **overrides))


def client_as(app: Flask, role: str) -> FlaskClient:
    """A browser signed in (through the form) as the team's account with `role`."""
    client = app.test_client()
    assert sign_in(client, email_of(role)).status_code == 302
    return client


def token(page: TestResponse | str) -> str:
    """The CSRF token in a page's form."""
    text = page if isinstance(page, str) else page.get_data(as_text=True)
    found = TOKEN.search(text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, next_: str = "") -> TestResponse:
    form = client.get("/signin")
    return client.post("/signin", data={"csrf_token": token(form), "email": email, "password": password, "next": next_})


def submit(client: FlaskClient, page: str, action: str, data: dict[str, str] | None = None) -> TestResponse:
    """Open `page`, then post `data` to `action` with the page's CSRF token, as a browser would."""
    return client.post(action, data={"csrf_token": token(client.get(page)), **(data or {})})


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
