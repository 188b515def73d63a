"""The demo, end to end: a month of the Thurrock example, with a real SMTP server counting.

Its report is compared with golden files (tests/golden/demo-report-2026-11.html and .json). To accept a
change on purpose, regenerate them and review the diff before committing:

    COMMS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/e2e/test_demo.py -k golden
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import html5lib
import pytest

from pipeline.demo import run_demo
from tests.conftest import EXAMPLE

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
PRODUCED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # the demo's "now" (the report's "produced on")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo")
    first = run_demo("2026-11", out, EXAMPLE, echo=lambda _line: None, clock=lambda: PRODUCED)
    second = run_demo("2026-11", out, EXAMPLE, echo=lambda _line: None, clock=lambda: PRODUCED)
    return out, first, second


@pytest.mark.parametrize("kind", ["html", "json"])
def test_the_demo_report_matches_its_golden_file(demo, kind: str) -> None:  # type: ignore[no-untyped-def]
    """The whole month (plan, feeds, editions, sends, imported figures) as the committee reads it; the
    second run wrote it again from the same database, and nothing in it depends on when it ran."""
    _out, first, _ = demo
    got = first.outputs[f"report_{kind}"].read_text(encoding="utf-8")
    path = GOLDEN / f"demo-report-2026-11.{kind}"
    if os.environ.get("COMMS_UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8", newline="")
        pytest.skip(f"wrote {path.name}: review the diff before committing it")
    assert path.is_file(), f"{path} is missing: run with COMMS_UPDATE_GOLDEN=1 to write it"
    assert got == path.read_bytes().decode("utf-8"), f"{path.name} differs (COMMS_UPDATE_GOLDEN=1 rewrites it)"
    assert "Produced on 1 December 2026 at 09:30" in got or kind == "json"


def _emails(out: Path) -> list:  # type: ignore[type-arg]
    import email
    import email.policy

    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((out / "mailbox").glob("*.eml"))
    ]


def test_newsletter_and_bulletin_arrive_as_multipart(demo) -> None:  # type: ignore[no-untyped-def]
    out, first, _ = demo
    messages = _emails(out)
    assert len(messages) == first.emails_received > 0
    subjects = {m["Subject"] for m in messages}
    assert "Keeping Thurrock safe: November 2026" in subjects
    assert "Prevent update for schools: November 2026" in subjects
    for m in messages:
        assert m.get_content_type() == "multipart/alternative"
        assert m.get_body(("plain",)).get_content().strip() and "<mjml" not in m.get_body(("html",)).get_content()


def test_the_report_names_all_six_objectives(demo) -> None:  # type: ignore[no-untyped-def]
    _out, first, _ = demo
    report = json.loads(first.outputs["report_json"].read_text())
    assert [o["code"] for o in report["objectives"]] == ["1", "2", "3", "4", "5", "6"]
    doc = html5lib.parse(first.outputs["report_html"].read_text(), namespaceHTMLElements=False)
    headings = [h.text or "" for h in doc.iter("h3")]
    for code in "123456":
        assert any(h.startswith(f"Objective {code}:") for h in headings)
    charts = [f for f in doc.iter("figure") if f.get("class") == "chart"]
    assert len(charts) == 1 and doc.find(".//script") is None


def test_a_second_run_sends_nothing_new(demo) -> None:  # type: ignore[no-untyped-def]
    _out, first, second = demo
    assert first.emails_received > 0 and first.posts_written > 0
    assert second.emails_received == 0 and second.posts_written == 0
    assert second.editions == 0 and second.posts == 0 and second.metrics == 0


def test_every_stage_did_real_work(demo) -> None:  # type: ignore[no-untyped-def]
    out, first, _ = demo
    assert first.planned >= 10 and first.messages >= 8 and first.editions >= 5 and first.metrics > 0
    assert (out / "outbox" / "facebook").is_dir() and (out / "outbox" / "intranet").is_dir()
    assert first.outputs["edition:headteacher-bulletin"].read_text().count("Dear Sample Reader") == 1
    import sqlmodel

    from pipeline.storage.store import open_repositories

    store = open_repositories(f"sqlite:///{out / 'comms.db'}")
    assert any(m.title.startswith("Campaign helps parents") for m in store.feeds.messages())
    with sqlmodel.Session(store.engine) as s:
        from sqlmodel import select

        from pipeline.storage.tables import MessageRow

        assert s.exec(select(MessageRow).where(MessageRow.used_in_sent)).first() is not None
    store.engine.dispose()
    # every address was checked at import by the rule the email channel sends by: none fails at send
    assert not any("not an email address" in f for f in first.failures)


def test_the_approver_account_approves_and_web_env_opens_the_workspace(demo) -> None:  # type: ignore[no-untyped-def]
    """The demo's accounts sign in to the workspace on the demo's database, with the printed passwords."""
    import re

    from pipeline.context import open_context
    from pipeline.services.actor import Actor
    from pipeline.services.audit import AuditService
    from pipeline.settings import load_settings
    from pipeline.web.app import create_app

    out, first, second = demo
    assert [(a.email, a.role) for a in second.accounts] == [
        ("admin@demo.example.org", "admin"),
        ("author@demo.example.org", "author"),
        ("approver@demo.example.org", "approver"),
    ]
    assert first.accounts[2].password != second.accounts[2].password, "new passwords every run"
    assert (out / "web.env").stat().st_mode & 0o777 == 0o600
    settings = load_settings(environ={}, env_file=out / "web.env")
    assert settings.public_base_url == "http://127.0.0.1:8000" and settings.database_url.endswith("comms.db")
    ctx = open_context(settings)
    approvals = AuditService.of(ctx).search(Actor.cli(), action="item.approved", limit=500)
    assert approvals.total > 0 and {e.actor for e in approvals.entries} == {"approver@demo.example.org"}
    client = create_app(ctx).test_client()
    form = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    approver = second.accounts[2]
    signed = client.post("/signin", data={"csrf_token": token, "email": approver.email, "password": approver.password})
    assert signed.status_code == 302
    assert client.get("/audit?action=item.approved").status_code == 200
    ctx.close()


def test_the_demo_ends_by_saying_how_to_open_the_workspace(demo, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """What `comms demo` prints last: the command, the address and the sign-ins (a third run on the same
    folder sends nothing, so it is quick)."""
    import logging

    from pipeline.cli import main

    out, _first, _second = demo
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(["demo", "--out", str(out), "--workspace", str(EXAMPLE)]) == 0
    finally:
        root.handlers[:], root.level = handlers, level  # `comms demo` points the log at its folder
    last = capsys.readouterr().out.strip().splitlines()[-5:]
    assert last[0] == f"  comms --env-file {out / 'web.env'} web"
    assert last[1] == "then go to http://127.0.0.1:8000/ in a browser and sign in as one of (new passwords every run):"
    assert last[2].startswith("  admin     admin@demo.example.org      password: ")
    assert last[4].startswith("  approver  approver@demo.example.org   password: ")
