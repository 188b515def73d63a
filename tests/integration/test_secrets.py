"""Secrets never leave: destinations that echo the credentials they were sent, across `comms channels
check`, a failing dispatch, the database and the log. Plus the redaction itself."""

from __future__ import annotations

import base64
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.redact import HIDDEN, credentials, redact
from pipeline.cli import main
from pipeline.logs import FieldsFormatter, RedactingFilter
from pipeline.redact import Redactor, secret_values
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE
from tests.httpserver import Request, Response, Server, http_server

SECRETS = {
    "COMMS_FACEBOOK_PAGE_TOKEN": "fb-page-token-0001",
    "COMMS_X_TOKEN": "x-bearer-token-0002",
    "COMMS_MICROSOFT_CLIENT_SECRET": "entra-client-secret-0003",
    "COMMS_WORDPRESS_APP_PASSWORD": "wpap pass word 0004",
    "COMMS_SMTP_PASSWORD": "smtp-password-0005",
    "COMMS_CHANNEL__FACEBOOK__FACEBOOK_PAGE_TOKEN": "fb-override-token-0006",
}
# What a destination may echo: the values as set, and as sent (WordPress sends its password unspaced).
PLANTED = [*SECRETS.values(), "wpappassword0004"]


def echo(request: Request) -> Response:
    """A destination that refuses everything and repeats what it was sent, credentials and all."""
    sent = request.headers.get("Authorization", "")
    decoded = ""
    if sent.startswith("Basic "):
        decoded = base64.b64decode(sent[6:]).decode()
    words = f"refused {sent} user:password={decoded} path={request.path} body={request.body.decode()}"
    return Response(401, f'{{"error": {{"message": "{words}"}}}}', {"Content-Type": "application/json"})


@pytest.fixture
def echoing() -> Iterator[Server]:
    with http_server() as server:
        server.route("/*", echo)
        yield server


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echoing: Server) -> Path:
    from pipeline.localservers import free_port

    monkeypatch.chdir(tmp_path)
    values = {
        "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SECRET_KEY": "secret-key-0007",
        "COMMS_LOG_LEVEL": "DEBUG",
        "COMMS_OUTBOX_DIR": str(tmp_path / "outbox"),
        "COMMS_SMTP_HOST": "127.0.0.1",
        "COMMS_SMTP_PORT": str(free_port()),
        "COMMS_SMTP_USERNAME": "comms",
        "COMMS_FACEBOOK_PAGE_ID": "123",
        "COMMS_FACEBOOK_GRAPH_URL": echoing.url,
        "COMMS_X_API_URL": echoing.url,
        "COMMS_MICROSOFT_LOGIN_URL": echoing.url,
        "COMMS_MICROSOFT_TENANT_ID": "tenant",
        "COMMS_MICROSOFT_CLIENT_ID": "client",
        "COMMS_VIVA_ENGAGE_GROUP_ID": "1",
        "COMMS_WORDPRESS_URL": echoing.url,
        "COMMS_WORDPRESS_USERNAME": "editor",
        **SECRETS,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def _leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


def test_channels_check_shows_no_echoed_secret(env: Path, echoing: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["channels", "check"]) == 1
    captured = capsys.readouterr()
    assert "FAILED  facebook (facebook)" in captured.out and "FAILED  website (wordpress)" in captured.out
    assert HIDDEN in captured.out  # the echoes arrived, and were hidden
    assert any("Authorization" in r.headers for r in echoing.requests)
    assert _leaks(captured.out + captured.err) == []


def _text_cells(database: Path) -> Iterator[tuple[str, str, str]]:
    with sqlite3.connect(database) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')  # names from sqlite_master
            names = [d[0] for d in cursor.description]
            for row in cursor:
                for name, value in zip(names, row, strict=True):
                    if isinstance(value, str | bytes):
                        yield table, name, value.decode(errors="replace") if isinstance(value, bytes) else value


def test_a_failing_dispatch_stores_and_prints_no_secret(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "import"]) == 0
    assert main(["compose", "--at", "2026-11-19T08:00"]) == 0
    listed = capsys.readouterr().out
    assert main(["queue", "list", "--channel", "facebook"]) == 0
    item = next(line.split()[0] for line in capsys.readouterr().out.splitlines() if "awaiting_approval" in line)
    assert main(["users", "add", "approver@thurrock.gov.uk", "--role", "approver"]) == 0
    assert main(["queue", "approve", item, "--by", "approver@thurrock.gov.uk"]) == 0
    assert main(["dispatch", "--at", "2026-11-19T12:05"]) in (0, 1)  # "partial": counted as failed=1
    assert main(["queue", "show", item]) == 0
    assert main(["status"]) == 0
    captured = capsys.readouterr()
    output = listed + captured.out + captured.err
    assert "HTTP 401" in output and HIDDEN in output
    assert _leaks(output) == []
    cells = list(_text_cells(env / "comms.db"))
    assert any("HTTP 401" in value for _t, _c, value in cells)  # the error was stored, without its secret
    assert [(table, column) for table, column, value in cells if _leaks(value)] == []


def test_the_log_filter_hides_secrets_in_message_fields_and_traceback() -> None:
    record_out = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record_out.append(FieldsFormatter().format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter(Redactor(frozenset({"hunter2-secret"}))))
    log = logging.getLogger("tests.secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise RuntimeError("login failed with hunter2-secret")
        except RuntimeError:
            log.exception(
                "calling %s", "https://u:pw1234@host/?access_token=abc", extra={"error": "Bearer abcdefgh1234"}
            )
    finally:
        log.removeHandler(handler)
    (line,) = record_out
    assert "hunter2-secret" not in line and "pw1234" not in line and "abcdefgh1234" not in line
    assert "access_token=abc" not in line and "RuntimeError" in line


def test_secret_values_include_each_channels_own_and_the_database_password() -> None:
    settings = load_settings(
        environ={
            "COMMS_X_TOKEN": "shared-x-token",
            "COMMS_CHANNEL__PREVENT_X__X_TOKEN": "own-x-token",
            "COMMS_DATABASE_URL": "postgresql+psycopg://comms:db%40pass@db/comms",
        },
        env_file=None,
    )
    values = secret_values(settings)
    assert {"shared-x-token", "own-x-token", "db@pass", "db%40pass"} <= values
    shown = "\n".join(f"{k}={v}" for k, v in settings.redacted().items())
    assert "db%40pass" not in shown and "own-x-token" not in shown


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql+psycopg://comms:hunter2@db/comms", "hunter2"),
        ("GET https://api.example/x?id=1&access_token=tok123&b=2", "tok123"),
        ("token=tok123; api_key=key456", "key456"),
        ('{"api_key": "key456"}', "key456"),
        ("Authorization: Bearer sk-live-abcdef", "sk-live-abcdef"),
        ("{'Authorization': 'Basic Ym9iOnMzY3JldCE='}", "Ym9iOnMzY3JldCE="),
        ("refused: bearer abcdefgh12345", "abcdefgh12345"),
    ],
)
def test_redact_hides_credentials_by_their_shape(text: str, secret: str) -> None:
    assert secret not in redact(text) and HIDDEN in redact(text)


def test_redact_leaves_plain_words_alone() -> None:
    for text in (
        "HTTP 401: the token was refused (invalid); check the channel's credentials in .env",
        "basic information for headteachers",
        "key=send:facebook:6:- status=failed",
    ):
        assert redact(text) == text


def test_credentials_are_read_from_what_the_request_carried() -> None:
    basic = "Basic " + base64.b64encode(b"editor:wp app pass").decode()
    assert "wp app pass" in credentials({"Authorization": basic})
    assert "tok-1" in credentials({"Authorization": "Bearer tok-1"})
    assert "s3cret" in credentials({}, b"grant_type=client_credentials&client_secret=s3cret")
    assert "pw-2" in credentials({}, b'{"identifier": "me", "password": "pw-2"}')
    assert credentials({"Accept": "text/html"}, b"text=hello") == set()
