"""Every route checks the role: the whole URL map of the real application, walked as nobody and as each
role. A route added later (by any blueprint) is walked too, so none can go out unchecked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Blueprint, Flask
from werkzeug.routing import Rule

from pipeline.services.actor import Role
from pipeline.services.permissions import Permission, allows
from pipeline.tokens import sign
from tests.web.people import (
    ROLES,
    SECRET_KEY,
    app_with_team,
    close,
    email_of,
    sign_in,
    text,
    token,
)

# A value for each kind of URL argument: ids that match nothing (so nothing real is changed), a file that
# exists for the static route. A new converter fails the walk until it is given a value here.
SAMPLES = {"IntegerConverter": "999999", "UnicodeConverter": "nothing-here", "PathConverter": "comms.css"}
LAST = {"auth.signout"}  # ends the session (and goes to the sign-in page), so walked last
SENT_TO_SIGN_IN = "/signin"  # where `requires` sends someone not signed in (with ?next= after a GET)


@pytest.fixture(scope="module")
def app(team: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    built = app_with_team(team, tmp_path_factory.mktemp("roles"))
    yield built
    close(built)


def _url(rule: Rule) -> str:
    def sample(match: re.Match[str]) -> str:
        name = match.group(1)
        kind = type(rule._converters[name]).__name__
        assert kind in SAMPLES, f"{rule.rule}: give test_roles.SAMPLES a value for a {kind} argument"
        return SAMPLES[kind]

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", sample, rule.rule)


def _routes(app: Flask) -> list[tuple[Rule, str]]:
    routes = [
        (rule, method) for rule in app.url_map.iter_rules() for method in sorted((rule.methods or set()) - {"OPTIONS"})
    ]
    return sorted(routes, key=lambda r: (r[0].endpoint in LAST, r[0].rule, r[1]))


def _rule_of(app: Flask, rule: Rule) -> tuple[bool, Permission | None]:
    view = app.view_functions[rule.endpoint]
    return rule.endpoint == "static" or bool(getattr(view, "public", False)), getattr(view, "permission", None)


def test_the_walk_covers_every_blueprint(app: Flask) -> None:
    blueprints = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules() if "." in rule.endpoint}
    assert {
        "public",
        "auth",
        "sso",
        "items",
        "admin",
        "accounts",
        "calendar",
        "home",
        "reports",
        "metrics",
        "feeds",
        "subscribers",
        "jobs",
    } <= blueprints
    for rule in app.url_map.iter_rules():
        public, permission = _rule_of(app, rule)
        assert public or isinstance(permission, Permission), f"{rule.rule} ({rule.endpoint}) has no access rule"


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_route_answers_each_role_as_its_permission_says(app: Flask, role: str | None) -> None:
    client = app.test_client()
    if role:
        assert sign_in(client, email_of(role)).status_code == 302
    csrf = token(client.get("/account" if role else "/signin"))
    wrong = []
    for rule, method in _routes(app):
        url = _url(rule)
        data = {"csrf_token": csrf} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        status, where = response.status_code, response.headers.get("Location", "")
        public, permission = _rule_of(app, rule)
        said = f"{method} {url} as {role or 'nobody'}: {status} {where}"
        if status >= 500:
            wrong.append(f"{said} (a server error)")
        elif public:
            if status == 403 or where.startswith(f"{SENT_TO_SIGN_IN}?next="):
                wrong.append(f"{said} (public, so it should answer)")
        elif role is None:
            if status != 302 or not where.startswith(SENT_TO_SIGN_IN):
                wrong.append(f"{said} (should send to the sign-in page)")
        elif permission is not None and not allows(Role(role), permission):
            if status != 403:
                wrong.append(f"{said} (should be 403: {role} cannot {permission.value})")
        elif status == 403 or (where.startswith(SENT_TO_SIGN_IN) and rule.endpoint not in LAST):
            wrong.append(f"{said} (should be allowed: {role} may {permission.value if permission else '?'})")
    assert not wrong, "\n".join(wrong)


def test_a_view_without_an_access_rule_is_refused(team: Path, tmp_path: Path) -> None:
    app = app_with_team(team, tmp_path)
    forgot = Blueprint("forgot", __name__)

    @forgot.route("/forgot")
    def unchecked() -> str:
        return "nobody should see this"

    app.register_blueprint(forgot)
    client = app.test_client()
    for who in (None, "admin"):
        if who:
            sign_in(client, email_of(who))
        response = client.get("/forgot")
        assert response.status_code == 403
        assert "no access rule" in text(response) and "nobody should see this" not in text(response)
    close(app)


def test_every_post_needs_the_form_token_except_one_click_unsubscribe(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, email_of("admin"))
    posts = [rule for rule, method in _routes(app) if method == "POST"]
    assert {"auth.signin", "admin.pause", "accounts.new_user"} <= {r.endpoint for r in posts}
    for rule in posts:
        if rule.endpoint == "public.unsubscribe":
            continue
        response = client.post(_url(rule), data={"reason": "no token", "email": "x@example.org"})
        assert response.status_code == 400, f"POST {rule.rule} without a CSRF token: {response.status_code}"
        assert "The form expired" in text(response)
    # a mail client's one-click POST has no form token (RFC 8058), and still unsubscribes
    one_click = client.post(f"/unsubscribe?token={sign('nobody@example.org', SECRET_KEY)}")
    assert one_click.status_code == 200 and "You are unsubscribed" in text(one_click)
