"""A real browser on the real workspace: Debian's chromium driven by Playwright (no browser download),
against the Flask app served over HTTP on a free local port, on a temp SQLite database with the bundled
example. Skips, saying why, where there is no chromium or no Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.context import AppContext, open_context
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.settings import Settings, load_settings
from tests.browserkit import browser_reason
from tests.conftest import EXAMPLE

PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "author", "approver", "admin")


def email_of(role: str) -> str:
    return f"{role}@thurrock.gov.uk"


@dataclass
class Workspace:
    """The served app, its context and address."""

    ctx: AppContext
    url: str
    settings: Settings


@pytest.fixture
def web_settings(tmp_path: Path, mailbox: Any) -> Settings:
    _box, (host, port) = mailbox
    return load_settings(
        environ={},
        env_file=None,
        database_url=f"sqlite:///{tmp_path / 'comms.db'}",
        workspace=EXAMPLE,
        outbox_dir=tmp_path / "outbox",
        reports_dir=tmp_path / "reports",
        smtp_host=host,
        smtp_port=port,
        secret_key="browser-test-secret",
        file_channels=("*",),
        public_base_url="http://127.0.0.1:8000",
    )


@pytest.fixture
def served(web_settings: Settings) -> Iterator[Workspace]:
    reason = browser_reason()
    if reason:
        pytest.skip(reason)
    from werkzeug.serving import make_server

    from pipeline.web.app import create_app

    ctx = open_context(web_settings)
    users = UserService.of(ctx)
    for role in ROLES:
        users.add(Actor.cli("test"), email_of(role), role, datetime.now(UTC), name=role.title(), password=PASSWORD)
    server = make_server("127.0.0.1", 0, create_app(ctx), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Workspace(ctx, f"http://127.0.0.1:{server.server_port}", web_settings)
    finally:
        server.shutdown()
        ctx.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Any, url: str, role: str) -> None:
    """Sign in through the real form, from the keyboard."""
    page.goto(f"{url}/signin")
    page.get_by_label("Email address").fill(email_of(role))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda u: "/signin" not in u)


def axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.2 A and AA violations on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
    results = Axe().run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
