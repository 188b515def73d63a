"""Single sign-on through OpenID Connect (Microsoft Entra ID, or any provider), with Authlib's Flask client.

On when COMMS_OIDC_ISSUER is set: the provider's settings are read from the issuer's
`/.well-known/openid-configuration` when the first person signs in. `/signin/sso` sends the browser to
the provider with a state, a nonce and a PKCE (S256) challenge, kept in this browser's signed session;
`/signin/callback` swaps the code for tokens (over the back channel, with the client secret and the
PKCE verifier), checks the ID token (signature against the provider's keys, issuer, audience, expiry,
nonce) and signs the person in with the role their `COMMS_OIDC_ROLES_CLAIM` claim gives
(`UserService.sso_signin`). Every refusal is a page that says what to do; no token, code or secret is
ever shown or logged, only the kind of error.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from pipeline.errors import Invalid, NotAllowed
from pipeline.services.users import UserService
from pipeline.settings import Settings
from pipeline.web.auth import address, begin_session, ctx, now, public, safe_next

log = logging.getLogger(__name__)
bp = Blueprint("sso", __name__)
NAME = "oidc"
TIMEOUT = 10  # seconds for each call to the provider
NOT_SET_UP = "Single sign-on is not set up for this workspace: sign in with your email address and password."


def install(app: Flask, settings: Settings) -> None:
    """Register the provider when COMMS_OIDC_ISSUER is set; nothing is fetched until someone signs in."""
    if not settings.oidc_issuer:
        return
    client_kwargs: dict[str, Any] = {
        "scope": "openid email profile",
        "code_challenge_method": "S256",
        "default_timeout": TIMEOUT,
    }
    if not settings.oidc_client_secret:  # a public client: PKCE alone proves it
        client_kwargs["token_endpoint_auth_method"] = "none"  # noqa: S105 (a method, not a password)
    OAuth(app).register(
        NAME,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )


def _client() -> Any:
    oauth: OAuth | None = current_app.extensions.get("authlib.integrations.flask_client")
    client = oauth.create_client(NAME) if oauth is not None else None
    if client is None:
        abort(404, NOT_SET_UP)
    return client


def _callback_url() -> str:
    """On the public address (what the provider has registered), not whatever host the request named."""
    return ctx().settings.public_base_url.rstrip("/") + "/signin/callback"


def _refused(status: int, title: str, message: str, what_to_do: str) -> tuple[str, int]:
    return render_template("web/sso_refused.html", title=title, message=message, what_to_do=what_to_do), status


def _unreachable(exc: Exception) -> tuple[str, int]:
    log.warning("single sign-on: the provider could not be reached", extra={"error": type(exc).__name__})
    return _refused(
        502,
        "The sign-in service could not be reached",
        "The workspace could not talk to your organisation's sign-in service.",
        "Try again in a few minutes. If it keeps happening, tell your IT service desk, or sign in with a local "
        "account if you have one.",
    )


@bp.route("/signin/sso")
@public
def start() -> Response | tuple[str, int]:
    client = _client()
    session["sso_next"] = safe_next(request.args.get("next"))
    try:
        response: Response = client.authorize_redirect(_callback_url())
    except (requests.RequestException, ValueError, RuntimeError, AuthlibBaseError) as exc:
        return _unreachable(exc)
    return response


def _plain(text: str, limit: int) -> str:
    """A provider's words, shown as text: printable characters only, and not too many."""
    return re.sub(r"[^\w .,:;'()/-]", "", text)[:limit].strip()


def _provider_said_no() -> tuple[str, int]:
    error = _plain(request.args.get("error", ""), 60)
    description = _plain(request.args.get("error_description", ""), 300)
    log.info("single sign-on refused by the provider", extra={"error": error})
    return _refused(
        403,
        "Your organisation's sign-in service did not sign you in",
        f"It said: {description or error}.",
        "If you cancelled, start again. If you should have access to the communications workspace, ask your "
        "IT service desk to give your account one of the workspace's roles.",
    )


def _tokens() -> dict[str, Any] | tuple[str, int]:
    """The provider's answer with its ID token checked, or the page that says why not."""
    try:
        token: dict[str, Any] = _client().authorize_access_token()
    except MismatchingStateError:
        log.info("single sign-on: the answer did not match a sign-in started in this browser")
        return _refused(
            400,
            "The sign-in could not be finished",
            "The answer from the sign-in service did not match a sign-in started in this browser: it may have "
            "been started in another window, or the browser was closed in between.",
            "Start again from the sign-in page.",
        )
    except requests.RequestException as exc:
        return _unreachable(exc)
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as exc:
        log.warning("single sign-on: the provider's answer was refused", extra={"error": type(exc).__name__})
        return _refused(
            400,
            "The sign-in could not be checked",
            "The answer from the sign-in service did not pass the workspace's checks (its signature, who it "
            "was for, or when it was made), so you were not signed in.",
            "Start again from the sign-in page. If it happens again, tell your IT service desk: the workspace's "
            "log says what was wrong.",
        )
    if not token.get("userinfo"):
        log.warning("single sign-on: the provider sent no ID token")
        return _refused(
            400,
            "The sign-in could not be checked",
            "The sign-in service did not say who you are (it sent no ID token).",
            "Tell your IT service desk: the workspace needs the openid scope.",
        )
    return token


def _roles(claims: dict[str, Any]) -> list[str]:
    value = claims.get(ctx().settings.oidc_roles_claim) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


@bp.route("/signin/callback")
@public
def callback() -> Response | tuple[str, int]:
    _client()
    if request.args.get("error"):
        return _provider_said_no()
    token = _tokens()
    if isinstance(token, tuple):
        return token
    claims: dict[str, Any] = dict(token["userinfo"])
    email = str(claims.get("email") or claims.get("preferred_username") or "")
    try:
        signed = UserService.of(ctx()).sso_signin(
            email, str(claims.get("name") or ""), _roles(claims), now(), address()
        )
    except Invalid:
        return _refused(
            403,
            "You cannot use the workspace yet",
            "Your organisation's sign-in service did not give an email address for your account.",
            "Ask your IT service desk to send the email or preferred_username claim.",
        )
    except NotAllowed as exc:
        return _refused(
            403,
            "You cannot use the workspace yet",
            f"You were signed in by your organisation, but {exc}.",
            "An admin of the workspace can give your account a role (in Microsoft Entra ID, one of the app roles "
            "Comms.Viewer, Comms.Author, Comms.Approver or Comms.Admin), then sign in again.",
        )
    target = safe_next(session.get("sso_next"))
    begin_session(signed)
    return redirect(target)
