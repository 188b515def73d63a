"""Sessions and signing in: the cookie's flags, idle and absolute time-outs, the rate limit shared through
the database, no open redirect, and changes to an account taking effect at the person's next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from pipeline.services.actor import Actor
from pipeline.services.audit import AuditService
from pipeline.services.control import ControlService
from pipeline.services.users import UserService
from tests.web.people import (
    PASSWORD,
    app_with_team,
    client_as,
    close,
    context,
    email_of,
    make_app,
    sign_in,
    submit,
    text,
    token,
    web_settings,
)


def _user_id(app: Flask, email: str) -> int:
    return next(u.id for u in UserService.of(context(app)).list_users(Actor.cli()) if u.email == email)


def _sent_to_sign_in(client: FlaskClient, path: str = "/queue") -> str:
    """Open `path`, expect to be sent to the sign-in page, and return what that page says."""
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next=")
    return text(client.get(response.headers["Location"]))


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Flask) -> None:
    response = sign_in(app.test_client(), email_of("viewer"))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("comms=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://localhost: a browser would not send a Secure cookie back


def test_over_https_the_cookie_is_secure_and_host_only(team: Path, tmp_path: Path) -> None:
    app = app_with_team(team, tmp_path, public_base_url="https://comms.council.example.gov.uk")
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = sign_in(client, email_of("viewer"))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-comms=") and "Secure" in cookie and "Path=/" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Domain" not in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get("/queue").status_code == 200
    close(app)


def test_an_idle_session_is_signed_out_with_a_banner_saying_why(app: Flask) -> None:
    client = client_as(app, "author")
    start = datetime.now(UTC)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/queue").status_code == 200
    with time_machine.travel(start + timedelta(minutes=58), tick=False):  # 29 minutes after the last click
        assert client.get("/queue").status_code == 200
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        page = _sent_to_sign_in(client, "/freeze")
    assert "You were signed out because the workspace was not used for 30 minutes" in page
    assert 'name="next" type="hidden" value="/freeze"' in page
    assert client.get("/queue").status_code == 302, "the idle session is gone, not revived"


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page(app: Flask) -> None:
    admin = client_as(app, "admin")
    form = admin.get("/freeze?from=banner")
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=31), tick=False):
        sent = admin.post(
            "/freeze/pause",
            data={"csrf_token": token(form), "reason": "incident"},
            headers={"Referer": "http://localhost/freeze?from=banner"},
        )
        assert sent.status_code == 302 and sent.headers["Location"] == "/signin?next=/freeze?from%3Dbanner"
        assert not ControlService.of(context(app)).freeze().paused, "nothing done for a signed-out session"
        again = sign_in(admin, email_of("admin"), next_="/freeze?from=banner")
        assert again.headers["Location"] == "/freeze?from=banner"


def test_a_session_ends_after_twelve_hours_however_busy(team: Path, tmp_path: Path) -> None:
    app = app_with_team(team, tmp_path, web_idle_minutes=24 * 60)
    client = client_as(app, "viewer")
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=12, minutes=1), tick=False):
        assert "you signed in more than 12 hours ago" in _sent_to_sign_in(client)
    close(app)


def test_the_sixth_wrong_password_locks_the_account_across_app_instances(app: Flask, tmp_path: Path) -> None:
    """Two workers (two apps on one database) share the count: five failures on one, then even the right
    password on the other is refused for 15 minutes. Other accounts are not locked."""
    other = make_app(web_settings(tmp_path))
    first, second = app.test_client(), other.test_client()
    for _ in range(5):
        refused = sign_in(first, email_of("approver"), "not the password at all")
        assert refused.status_code == 400 and "The email address or password is not right" in text(refused)
    locked = sign_in(second, email_of("approver"), PASSWORD)
    assert locked.status_code == 400 and "too many attempts to sign in: wait 15 minutes" in text(locked).lower()
    assert second.get("/queue").status_code == 302
    assert sign_in(other.test_client(), email_of("author")).status_code == 302
    entries = AuditService.of(context(app)).search(Actor.cli(), action="signin.")
    assert [e.action for e in entries.entries].count("signin.failed") == 5
    assert "signin.throttled" in [e.action for e in entries.entries]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16), tick=False):
        assert sign_in(second, email_of("approver"), PASSWORD).status_code == 302
    close(other)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org/",
        "//evil.example.org/queue",
        "/\\evil.example.org",
        "/\t/evil.example.org",
        "http:/evil.example.org",
        "javascript:alert(1)",
        "evil.example.org",
        "/%0a/evil.example.org" + "\n",
    ],
)
def test_next_never_leads_to_another_site(app: Flask, target: str) -> None:
    response = sign_in(app.test_client(), email_of("viewer"), next_=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_address_is_the_browser_s_only_behind_trusted_proxies(team: Path, tmp_path: Path) -> None:
    """The rate limit and the audit log count the browser's address: X-Forwarded-For is read only when
    COMMS_WEB_PROXIES says a proxy stands in front (else anyone could send it and pick their address)."""
    # over https a form's POST must also carry a same-site Referer (Flask-WTF's strict CSRF check), as the
    # workspace's Referrer-Policy (same-origin) makes browsers send
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "Referer": "https://localhost/signin"}
    for proxies, seen in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        folder = tmp_path / f"proxies-{proxies}"
        folder.mkdir()
        app = app_with_team(team, folder, web_proxies=proxies)
        client = app.test_client()
        client.environ_base.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in forwarded.items()})
        assert sign_in(client, email_of("viewer")).status_code == 302
        signin = AuditService.of(context(app)).search(Actor.cli(), action="signin").entries[0]
        assert signin.detail == f"local; from {seen}"
        close(app)


def test_next_keeps_a_path_on_this_site(app: Flask) -> None:
    client = app.test_client()
    response = sign_in(client, email_of("approver"), next_="/audit?action=item.")
    assert response.headers["Location"] == "/audit?action=item."
    assert client.get("/signin?next=https://evil.example.org/").headers["Location"] == "/"


def test_deactivating_someone_ends_their_session_at_their_next_request(app: Flask) -> None:
    author, admin = client_as(app, "author"), client_as(app, "admin")
    assert author.get("/queue").status_code == 200
    user_id = _user_id(app, email_of("author"))
    done = submit(admin, f"/users/{user_id}", f"/users/{user_id}/active")
    assert done.status_code == 302
    assert "your account changed: it was deactivated" in _sent_to_sign_in(author)
    again = sign_in(author, email_of("author"))
    assert again.status_code == 400 and "not right" in text(again)


def test_a_role_change_takes_effect_at_the_next_request(app: Flask) -> None:
    author, admin = client_as(app, "author"), client_as(app, "admin")
    assert author.get("/audit").status_code == 403
    user_id = _user_id(app, email_of("author"))
    changed = submit(admin, f"/users/{user_id}", f"/users/{user_id}/role", {"role": "approver"})
    assert changed.status_code == 302
    assert author.get("/audit").status_code == 200
    assert "(approver)" in text(author.get("/queue"))


def test_changing_your_password_signs_you_out_everywhere_else(app: Flask) -> None:
    here, elsewhere = client_as(app, "viewer"), client_as(app, "viewer")
    new = "a brand new pass phrase"
    done = submit(here, "/account", "/account", {"current": PASSWORD, "new": new, "again": new})
    assert done.status_code == 302
    assert "Your password is changed" in text(here.get("/account"))
    assert "its password was changed" in _sent_to_sign_in(elsewhere)
    assert sign_in(app.test_client(), email_of("viewer"), new).status_code == 302


def test_signing_out(app: Flask) -> None:
    client = client_as(app, "viewer")
    done = submit(client, "/queue", "/signout")
    assert done.status_code == 302 and done.headers["Location"] == "/signin"
    assert "You have signed out" in text(client.get("/signin"))
    assert client.get("/queue").status_code == 302
