"""Single sign-on against a real OpenID Connect provider on 127.0.0.1 (`tests/web/oidc_provider.py`):
the browser's part of the journey goes through the Flask test client and `requests`, the back channel
(discovery, keys, the code swapped for tokens) is Authlib's own HTTP calls."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from pipeline.services.actor import Actor, Role
from pipeline.services.audit import AuditService
from pipeline.services.users import UserService
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider
from tests.web.people import close, context, make_app, text, web_settings

CALLBACK = "http://localhost/signin/callback"
SAM = {"email": "sam.patel@council.example.gov.uk", "name": "Sam Patel", "roles": ["Comms.Approver"]}


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with running_provider(CALLBACK) as provider:
        yield provider


@pytest.fixture
def provider(idp: Provider) -> Provider:
    idp.claims, idp.tamper, idp.refuse = dict(SAM), False, ""
    return idp


@pytest.fixture
def app(provider: Provider, tmp_path: Path) -> Iterator[Flask]:
    settings = web_settings(
        tmp_path,
        public_base_url="http://localhost",
        oidc_issuer=provider.base,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    built = make_app(settings)
    yield built
    close(built)


def through_the_provider(client: FlaskClient, provider: Provider, next_: str = "") -> TestResponse:
    """Click "Sign in with your organisation's account", let the provider answer, come back."""
    start = client.get("/signin/sso" + (f"?next={quote(next_)}" if next_ else ""))
    assert start.status_code == 302 and start.headers["Location"].startswith(f"{provider.base}/authorize?")
    answer = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return client.get(f"{back.path}?{back.query}")


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as the log would hold it: its message and every field."""
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


def _never_shown(provider: Provider, *texts: str) -> None:
    codes = [r.get("code", "") for r in provider.token_requests]
    verifiers = [r.get("code_verifier", "") for r in provider.token_requests]
    for secret in [CLIENT_SECRET, *provider.issued, *codes, *verifiers]:
        for shown in texts:
            assert not secret or secret not in shown


def test_an_approver_signs_in_with_the_role_from_the_claim(
    app: Flask, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = app.test_client()
    assert "Sign in with your organisation" in text(client.get("/signin"))
    done = through_the_provider(client, provider, next_="/audit?action=signin")
    assert done.status_code == 302 and done.headers["Location"] == "/audit?action=signin"
    page = client.get("/audit?action=signin")
    assert page.status_code == 200, "an approver may read the audit log"
    assert "Signed in as" in text(page) and "sam.patel@council.example.gov.uk</a> (approver)" in text(page)
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) >= 43
    assert asked["state"] and asked["nonce"] and "openid" in asked["scope"].split()
    assert len(provider.token_requests[-1]["code_verifier"]) >= 43
    user = UserService.of(context(app)).own_account(Actor.person(SAM["email"], Role.APPROVER))
    assert (user.role, user.name, user.has_password) == ("approver", "Sam Patel", False)
    signins = AuditService.of(context(app)).search(Actor.cli(), action="signin").entries
    assert signins[0].actor == user.email and signins[0].detail.startswith("sso;")
    _never_shown(provider, text(page), text(done), _logged(caplog))


def test_the_email_may_come_from_preferred_username_and_the_role_word_alone(app: Flask, provider: Provider) -> None:
    provider.claims = {"preferred_username": "Ola.Author@Council.example.gov.uk", "roles": "author"}
    client = app.test_client()
    assert through_the_provider(client, provider).headers["Location"] == "/"
    assert "ola.author@council.example.gov.uk</a> (author)" in text(client.get("/queue"))


def test_no_role_is_refused_with_what_to_do(app: Flask, provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    provider.claims = {**SAM, "roles": ["Some.Other.App"]}
    client = app.test_client()
    refused = through_the_provider(client, provider)
    assert refused.status_code == 403
    page = text(refused)
    assert "You cannot use the workspace yet" in page and "has no role in this workspace" in page
    assert "Comms.Approver" in page and "Traceback" not in page
    assert client.get("/queue").status_code == 302
    assert AuditService.of(context(app)).search(Actor.cli(), action="signin.no_role").total == 1
    _never_shown(provider, page, _logged(caplog))


def test_a_tampered_signature_is_refused(app: Flask, provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    provider.tamper = True
    client = app.test_client()
    refused = through_the_provider(client, provider)
    assert refused.status_code == 400
    assert "The sign-in could not be checked" in text(refused) and "signature" in text(refused)
    assert client.get("/queue").status_code == 302
    assert "BadSignatureError" in _logged(caplog)  # the kind of error, for whoever reads the log
    assert UserService.of(context(app)).list_users(Actor.cli()) == []
    _never_shown(provider, text(refused), _logged(caplog))


def test_the_provider_saying_no_is_a_page_not_a_traceback(app: Flask, provider: Provider) -> None:
    provider.refuse = "access_denied"
    client = app.test_client()
    refused = through_the_provider(client, provider)
    assert refused.status_code == 403
    assert "did not sign you in" in text(refused) and "AADSTS50105" in text(refused)
    assert client.get("/queue").status_code == 302


def test_an_answer_for_a_sign_in_this_browser_did_not_start_is_refused(app: Flask, provider: Provider) -> None:
    started = app.test_client()
    start = started.get("/signin/sso")
    answer = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    stranger = app.test_client()  # someone else's browser, handed the link
    refused = stranger.get(f"{back.path}?{back.query}")
    assert refused.status_code == 400 and "did not match a sign-in started in this browser" in text(refused)
    assert stranger.get("/queue").status_code == 302
    assert "code" in parse_qs(back.query)


def test_a_deactivated_account_cannot_come_back_through_single_sign_on(app: Flask, provider: Provider) -> None:
    client = app.test_client()
    through_the_provider(client, provider)
    UserService.of(context(app)).set_active(Actor.cli(), SAM["email"], False, datetime.now(UTC))
    assert client.get("/queue").status_code == 302
    refused = through_the_provider(app.test_client(), provider)
    assert refused.status_code == 403 and "is deactivated in this workspace" in text(refused)


def test_without_an_issuer_there_is_no_single_sign_on(tmp_path: Path) -> None:
    app = make_app(web_settings(tmp_path))
    client = app.test_client()
    assert "Sign in with your organisation" not in text(client.get("/signin"))
    missing = client.get("/signin/sso")
    assert missing.status_code == 404 and "Single sign-on is not set up" in text(missing)
    close(app)


def test_a_provider_that_cannot_be_reached_is_a_page_not_a_traceback(tmp_path: Path) -> None:
    from pipeline.localservers import free_port

    settings = web_settings(tmp_path, oidc_issuer=f"http://127.0.0.1:{free_port()}", oidc_client_id=CLIENT_ID)
    app = make_app(settings)
    down = app.test_client().get("/signin/sso")
    assert down.status_code == 502 and "The sign-in service could not be reached" in text(down)
    assert "Traceback" not in text(down)
    close(app)
