"""Unsubscribing leaves the list the email came from, as its footer says: someone on the headteacher
bulletin and the resident newsletter who follows the bulletin's one-click link (List-Unsubscribe, RFC
8058) still gets the next resident newsletter, and no more bulletins; through a real SMTP server and the
workspace's real unsubscribe page. The audit log and the log name the list, never the address."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline.app import Pipeline
from pipeline.context import open_context
from pipeline.localservers import Mailbox
from pipeline.logs import FieldsFormatter
from pipeline.records import Subscriber
from pipeline.tokens import address_digest, read
from pipeline.web.app import create_app
from tests.conftest import EXAMPLE

BOTH = "both.lists@grays-school.example.org"
# Each month: both composed on the Tuesday, the newsletter sent that day at 10:00, the bulletin on Thursday.
NOVEMBER_COMPOSE, NOVEMBER_SENT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC), datetime(2026, 11, 5, 8, 1, tzinfo=UTC)
DECEMBER_COMPOSE, DECEMBER_SENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 3, 8, 1, tzinfo=UTC)
NEWSLETTER_AFTER = timedelta(hours=1, minutes=1)
LISTS = ("resident-newsletter", "headteacher-bulletin")


def _send_month(p: Pipeline, compose_at: datetime, send_at: datetime) -> None:
    """Compose both lists' editions, approve them (as an approver would), and send what is due."""
    for entry in LISTS:
        p.compose(compose_at, entry=entry)
    for item in p.repos.outbox.items():
        if item.entry_id in LISTS and item.status == "awaiting_approval":
            p.repos.outbox.transition(item.id, "approved", compose_at, by="Prevent Coordinator")
    for moment in (compose_at + NEWSLETTER_AFTER, send_at):
        outcome = p.dispatch(moment)
        assert not outcome.failures, outcome.failures


def _to(box: Mailbox, address: str, since: int = 0) -> dict[str, Any]:
    """The messages `address` received (after the first `since`), by subject."""
    return {m["Subject"]: m for r, m in box.received[since:] if r == address}


def test_leaving_the_bulletin_keeps_the_newsletter(
    pipeline: Pipeline, mailbox: tuple[Mailbox, Any], caplog: pytest.LogCaptureFixture
) -> None:
    box, _ = mailbox
    pipeline.import_plan(now=NOVEMBER_COMPOSE)
    pipeline.import_subscribers()
    both = Subscriber(BOTH, "Ms B. Oth", "Grays School", ("headteachers", "residents"), "two forms", date(2025, 9, 1))
    pipeline.repos.subscribers.upsert([both])
    _send_month(pipeline, NOVEMBER_COMPOSE, NOVEMBER_SENT)
    november = _to(box, BOTH)
    assert set(november) == {"Keeping Thurrock safe: November 2026", "Prevent update for schools: November 2026"}

    bulletin = november["Prevent update for schools: November 2026"]
    link = bulletin["List-Unsubscribe"].strip("<>")
    assert read(link.split("token=")[1], "test-secret").list_code == "headteacher-bulletin"
    footer = bulletin.get_body(("plain",)).get_content()
    assert "Unsubscribe from the Thurrock headteacher bulletin" in bulletin.get_body(("html",)).get_content()
    assert link in footer.replace("=\n", ""), "the footer's link is the header's link"

    client = create_app(open_context(pipeline.settings, repos=pipeline.repos)).test_client()
    target = urlsplit(link)
    asked = client.get(f"{target.path}?{target.query}").get_data(as_text=True)
    assert "Unsubscribe from the Thurrock headteacher bulletin" in asked and "Thurrock Council" in asked
    with caplog.at_level(logging.INFO):
        done = client.post(f"{target.path}?{target.query}", data={"List-Unsubscribe": "One-Click"})
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "You are unsubscribed from the Thurrock headteacher bulletin" in page
    assert "Thurrock Council" in page and "Subscribe again to the Thurrock headteacher bulletin" in page
    logged = "\n".join(FieldsFormatter().format(r) for r in caplog.records)
    assert BOTH not in logged and "unsubscribed via=one-click list=headteacher-bulletin" in logged

    seen = len(box.received)
    _send_month(pipeline, DECEMBER_COMPOSE, DECEMBER_SENT)
    december = _to(box, BOTH, since=seen)
    assert set(december) == {"Keeping Thurrock safe: December 2026"}, "the newsletter comes, the bulletin not"
    heads = {r for r, m in box.received[seen:] if m["Subject"] == "Prevent update for schools: December 2026"}
    assert len(heads) == 14 and BOTH not in heads, "the other headteachers and governors still get it"

    entries = [e for e in pipeline.repos.audit.entries(action="subscriber.left_list", limit=10)[0]]
    assert [e.detail for e in entries] == [
        f"headteacher-bulletin: subscriber {address_digest(BOTH, 'test-secret')[:16]}"
    ], "audited by the list and the address's keyed digest"
    assert all(BOTH not in f"{e.detail} {e.target} {e.actor}" for e in entries)


def test_the_way_back_puts_the_address_on_that_list_again(pipeline: Pipeline, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    pipeline.import_plan(now=NOVEMBER_COMPOSE)
    pipeline.import_subscribers()
    both = Subscriber(BOTH, "Ms B. Oth", "Grays School", ("headteachers", "residents"), "two forms", date(2025, 9, 1))
    pipeline.repos.subscribers.upsert([both])
    _send_month(pipeline, NOVEMBER_COMPOSE, NOVEMBER_SENT)
    link = _to(box, BOTH)["Prevent update for schools: November 2026"]["List-Unsubscribe"].strip("<>")
    token = link.split("token=")[1]
    client = create_app(open_context(pipeline.settings, repos=pipeline.repos)).test_client()
    done = client.post(f"/unsubscribe?token={token}").get_data(as_text=True)
    csrf = done.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(f"/resubscribe?token={token}").status_code == 400, "the way back is a form with a token"
    back = client.post(f"/resubscribe?token={token}", data={"csrf_token": csrf})
    assert back.status_code == 200
    assert "You are subscribed again to the Thurrock headteacher bulletin" in back.get_data(as_text=True)
    assert pipeline.repos.subscribers.find(BOTH).left_lists == ()  # type: ignore[union-attr]
    seen = len(box.received)
    _send_month(pipeline, DECEMBER_COMPOSE, DECEMBER_SENT)
    assert set(_to(box, BOTH, since=seen)) == {
        "Keeping Thurrock safe: December 2026",
        "Prevent update for schools: December 2026",
    }


def test_the_team_can_take_an_address_off_one_list_from_the_command_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A head who phones to leave the bulletin: `comms subscribers unsubscribe EMAIL --list CODE`."""
    from pipeline.cli import main

    assert main(["subscribers", "import", str(EXAMPLE / "subscribers.csv")]) == 0
    head = "head@gable-hall.example.org"
    assert main(["subscribers", "unsubscribe", head, "--list", "headteacher-bulletin"]) == 0
    assert "unsubscribed from the Thurrock headteacher bulletin; other lists still come" in capsys.readouterr().out
    assert main(["subscribers", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(head))
    assert "active" in line and line.endswith("(left headteacher-bulletin)")
    assert main(["subscribers", "resubscribe", head, "--list", "headteacher-bulletin"]) == 0
    assert "subscribed again to the Thurrock headteacher bulletin" in capsys.readouterr().out
    assert main(["subscribers", "list"]) == 0
    assert "(left" not in capsys.readouterr().out
    assert main(["subscribers", "unsubscribe", "nobody@example.org", "--list", "headteacher-bulletin"]) == 1
