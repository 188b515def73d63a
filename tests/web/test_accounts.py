"""The users pages (admins) and your own account page (everyone), through the real forms."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from tests.web.people import (
    PASSWORD,
    add_user,
    client_as,
    context,
    email_of,
    sign_in,
    submit,
    text,
)

SHOWN = re.compile(r'<span class="secret">([^<]+)</span>')
NEW = "new.officer@council.example.gov.uk"


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    return client_as(app, "admin")


def _id(app: Flask, email: str) -> int:
    return next(u.id for u in UserService.of(context(app)).list_users(Actor.cli()) if u.email == email)


def _add(admin: FlaskClient, **fields: str) -> tuple[int, str]:
    response = submit(admin, "/users/new", "/users/new", fields)
    return response.status_code, text(response)


# adding someone ---------------------------------------------------------------------------------------
def test_a_made_password_is_shown_once_and_works(
    app: Flask, admin: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = submit(admin, "/users/new", "/users/new", {"email": NEW, "name": "Nia Officer", "role": "author"})
    page = text(response)
    assert response.status_code == 201 and f"{NEW} is added as an author" in page
    password = SHOWN.findall(page)[0]
    assert "This is the only time it is shown" in page
    assert password not in response.headers.get("Set-Cookie", "") and password not in caplog.text
    user_page = text(admin.get(f"/users/{_id(app, NEW)}"))
    assert password not in user_page and "a workspace password" in user_page
    listing = text(admin.get("/users"))
    assert NEW in listing and "Nia Officer" in listing and "never" in listing
    newcomer = app.test_client()
    assert sign_in(newcomer, NEW, password).status_code == 302
    assert f"{NEW}</a> (author)" in text(newcomer.get("/queue"))


def test_a_typed_password_is_not_shown_again(app: Flask, admin: FlaskClient) -> None:
    status, page = _add(admin, email=NEW, role="viewer", password="a pass phrase typed by the admin")
    assert status == 201 and "They sign in with the password you typed" in page and not SHOWN.search(page)
    assert sign_in(app.test_client(), NEW, "a pass phrase typed by the admin").status_code == 302


def test_mistakes_are_listed_and_what_was_typed_is_kept(admin: FlaskClient) -> None:
    status, page = _add(admin, email="not an address", name="Nia Officer", password="short")
    assert status == 400 and "<title>Error: Add a user" in page
    assert '<a href="#email">Enter an email address in the right format' in page
    assert '<a href="#role">Choose a role</a>' in page
    assert '<a href="#password">A password needs at least 12 characters' in page
    assert 'value="not an address"' in page and 'value="Nia Officer"' in page and "short" not in page.split("<main")[1]
    status, page = _add(admin, email=email_of("viewer"), role="viewer")
    assert status == 409 and f"There is already a user {email_of('viewer')}" in page


# changing someone ----------------------------------------------------------------------------------------
def test_changing_a_role(app: Flask, admin: FlaskClient) -> None:
    user_id = _id(app, email_of("author"))
    done = submit(admin, f"/users/{user_id}", f"/users/{user_id}/role", {"role": "approver"})
    assert done.status_code == 302 and done.headers["Location"] == f"/users/{user_id}"
    page = text(admin.get(done.headers["Location"]))
    assert "Author Person is now an approver." in page
    assert re.search(r'<input [^>]*\bchecked id="role-2" name="role"[^>]*value="approver"', page)
    history = text(admin.get(f"/audit?target=user:{email_of('author')}"))
    assert "author -&gt; approver" in history


def test_the_only_admin_is_never_demoted_or_deactivated(app: Flask, admin: FlaskClient) -> None:
    me = _id(app, email_of("admin"))
    demoted = submit(admin, f"/users/{me}", f"/users/{me}/role", {"role": "viewer"})
    assert demoted.status_code == 409 and "is the only admin; make someone else an admin first" in text(demoted)
    myself = submit(admin, f"/users/{me}", f"/users/{me}/active")
    assert myself.status_code == 409 and "You cannot deactivate your own account" in text(myself)
    assert admin.get("/users").status_code == 200, "still an admin"


def test_deactivating_and_activating(app: Flask, admin: FlaskClient) -> None:
    user_id = _id(app, email_of("viewer"))
    off = submit(admin, f"/users/{user_id}", f"/users/{user_id}/active")
    assert off.status_code == 302 and "is deactivated" in text(admin.get(off.headers["Location"]))
    assert "deactivated</strong>" in text(admin.get("/users"))
    assert sign_in(app.test_client(), email_of("viewer")).status_code == 400
    on = submit(admin, f"/users/{user_id}", f"/users/{user_id}/active")
    assert on.status_code == 302 and "can sign in again" in text(admin.get(on.headers["Location"]))
    assert sign_in(app.test_client(), email_of("viewer")).status_code == 302


def test_setting_a_new_password_for_someone(app: Flask, admin: FlaskClient) -> None:
    user_id = _id(app, email_of("author"))
    reset = submit(admin, f"/users/{user_id}", f"/users/{user_id}/password")
    password = SHOWN.findall(text(reset))[0]
    assert reset.status_code == 200 and "any session they had is ended" in text(reset)
    assert sign_in(app.test_client(), email_of("author")).status_code == 400
    assert sign_in(app.test_client(), email_of("author"), password).status_code == 302


def test_an_unknown_account_is_a_clear_404(admin: FlaskClient) -> None:
    missing = admin.get("/users/424242")
    assert missing.status_code == 404 and "There is no such account" in text(missing)


# your own account ------------------------------------------------------------------------------------------
def test_changing_your_password_needs_the_current_one(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, email_of("author"))
    page = text(client.get("/account"))
    assert "Author Person" in page and "author: also can edit, comment on and retry items" in page
    wrong = submit(client, "/account", "/account", {"current": "a wrong guess", "new": "x" * 12, "again": "x" * 12})
    assert wrong.status_code == 400 and '<a href="#current">The email address or password is not right</a>' in text(
        wrong
    )
    short = submit(client, "/account", "/account", {"current": PASSWORD, "new": "short", "again": "shorter"})
    assert '<a href="#new">A password needs at least 12 characters' in text(short)
    assert '<a href="#again">The two new passwords are not the same</a>' in text(short)
    assert sign_in(app.test_client(), email_of("author")).status_code == 302, "nothing was changed"


def test_a_single_sign_on_account_has_no_password_to_change(app: Flask) -> None:
    add_user(app, "sso.person@council.example.gov.uk", "viewer", password=None)
    client = app.test_client()
    with client.session_transaction() as session:  # as /signin/callback leaves it (tests/web/test_sso.py)
        stamp = UserService.of(context(app)).session_stamp("sso.person@council.example.gov.uk")
        now = int(datetime.now(UTC).timestamp())
        session.update(email="sso.person@council.example.gov.uk", since=now, seen=now, stamp=stamp)
    page = text(client.get("/account"))
    assert "your password is changed there, not here" in page and 'id="current"' not in page
