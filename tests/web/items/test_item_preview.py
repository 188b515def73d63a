"""The item preview use case (pipeline/services/preview.py) on the composed example, and
`comms queue show`, which prints what it finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channels.base import ChannelError, Post, Receipt
from channels.port import ChannelAdapter
from pipeline.cli import main
from pipeline.context import AdapterLookup, AppContext
from pipeline.errors import Invalid, NotAllowed
from pipeline.records import ItemStatus, OutboxItem
from pipeline.services.actor import Actor, Role
from pipeline.services.preview import ItemPreviewService
from tests.web.items.conftest import Workspace

NOW = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
VIEWER = Actor.person("vic.viewer@thurrock.gov.uk", Role.VIEWER)
AUTHOR = Actor.person("alex.author@thurrock.gov.uk", Role.AUTHOR)


def _email_to(ws: Workspace, audiences: list[str]) -> OutboxItem:
    return ws.ctx.repos.outbox.add_item(
        NOW,
        occurrence_key="educators@2026-11-20",
        entry_id="educators",
        channel="headteacher-bulletin",
        kind="email",
        title="For all educators",
        subject="For all educators",
        body="Hello",
        html="<html lang='en-GB'><body><p>Hello</p></body></html>",
        audiences=audiences,
        objectives=["6"],
        due_at=NOW + timedelta(days=1),
        approval="required",
        status=ItemStatus.AWAITING_APPROVAL,
    )


def test_recipients_include_the_audiences_nested_under_the_items(workspace: Workspace) -> None:
    item = _email_to(workspace, ["educators"])
    found = ItemPreviewService.of(workspace.ctx).recipients_by_audience(VIEWER, item.id)
    assert [(a.code, a.count) for a in found.by_audience] == [("educators", 0), ("headteachers", 12), ("governors", 2)]
    assert found.total == 14 and found.summary() == "14 (educators: 0, headteachers: 12, governors: 2)"
    assert not found.started


def test_once_sending_began_the_deliveries_are_counted_by_status(workspace: Workspace) -> None:
    outbox = workspace.ctx.repos.outbox
    outbox.ensure_deliveries(
        workspace.email_id, [("a@school.example.org", "headteachers"), ("b@school.example.org", "governors")]
    )
    first, _second = outbox.deliveries(workspace.email_id)
    outbox.record_attempt("k", first.id, "sent", NOW, ledger=None)
    found = ItemPreviewService.of(workspace.ctx).recipients_by_audience(VIEWER, workspace.email_id)
    assert found.started and found.total == 2
    assert found.by_status == (("pending", 1), ("sent", 1))
    assert {(a.code, a.count) for a in found.by_audience} == {("headteachers", 1), ("governors", 1)}


def test_a_post_goes_to_its_destination(workspace: Workspace) -> None:
    found = ItemPreviewService.of(workspace.ctx).recipients_by_audience(VIEWER, workspace.post_id)
    assert found.kind == "post" and found.destination == "Thurrock Council Facebook page"


class Refusing:
    kind = "facebook"

    def validate(self, post: Post) -> list[str]:
        return [f"facebook refuses posts mentioning {post.link}"]

    def send(self, post: Post, key: str) -> Receipt:
        raise AssertionError("a check never sends")

    def check(self) -> str:
        return "ok"

    def close(self) -> None:
        pass


def _with_adapters(ctx: AppContext, lookup: AdapterLookup) -> ItemPreviewService:
    r = ctx.repos
    return ItemPreviewService(r.outbox, r.subscribers, r.calendar, r.feeds, r.audit, r.control, lookup, ctx.settings)


def test_a_posts_checks_list_every_problem_the_adapter_finds(workspace: Workspace) -> None:
    service = _with_adapters(workspace.ctx, lambda code, kind: Refusing())
    checks = service.checks(VIEWER, workspace.post_id)
    assert checks.problems == ("facebook refuses posts mentioning https://www.thurrock.gov.uk/prevent",)
    assert checks.length is not None and checks.length.limit == 63206 and not checks.length.over


def test_an_adapter_that_cannot_be_built_is_a_problem_not_a_crash(workspace: Workspace) -> None:
    def broken(code: str, kind: str) -> ChannelAdapter:
        raise ChannelError(code, "COMMS_FACEBOOK_PAGE_TOKEN is not set", transient=False)

    checks = _with_adapters(workspace.ctx, broken).checks(VIEWER, workspace.post_id)
    assert checks.problems == ("the facebook channel cannot be set up: facebook: COMMS_FACEBOOK_PAGE_TOKEN is not set",)

    def buggy(code: str, kind: str) -> ChannelAdapter:
        raise RuntimeError("boom")

    assert (
        "unexpected RuntimeError" in _with_adapters(workspace.ctx, buggy).checks(VIEWER, workspace.post_id).problems[0]
    )


def test_an_emails_checks_are_the_accessibility_checks(workspace: Workspace) -> None:
    service = ItemPreviewService.of(workspace.ctx)
    assert service.checks(VIEWER, workspace.email_id).ok
    bad = _email_to(workspace, ["headteachers"])
    workspace.ctx.repos.outbox.edit_item(
        bad.id,
        NOW,
        {"html": '<html><body><h3>Hi</h3><img src="x.png"><a href="https://x">click here</a></body></html>'},
        by="clock",
        status=ItemStatus.AWAITING_APPROVAL,
        allowed_from=(ItemStatus.AWAITING_APPROVAL,),
    )
    problems = service.checks(VIEWER, bad.id).problems
    assert any("no alt text" in p for p in problems) and any("no language" in p for p in problems)
    assert any("h3 follows" in p for p in problems) and any("'click here'" in p for p in problems)


def test_previews_and_tests_respect_roles(workspace: Workspace) -> None:
    service = ItemPreviewService.of(workspace.ctx)
    stranger = Actor.person("someone@example.org", None)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        service.preview(stranger, workspace.email_id)
    with pytest.raises(NotAllowed):
        service.send_test(VIEWER, workspace.email_id, NOW)
    with pytest.raises(Invalid, match="is a post"):
        service.send_test(AUTHOR, workspace.post_id, NOW)


def test_queue_show_prints_what_will_be_sent(
    workspace: Workspace, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = workspace.item(workspace.email_id)
    assert main(["queue", "show", str(item.id)]) == 0
    out = capsys.readouterr().out
    assert "%%P" not in out and "Dear Sample Reader," in out
    assert f"subject: {item.subject}" in out and "from: Prevent Communications <prevent@example.org>" in out
    assert "Recipients: 14 (headteachers: 12, governors: 2)" in out
    assert f"version: {item.content_hash[:12]}   approvals: 0 of 1" in out
    assert "checks: no problems found" in out
    assert main(["queue", "show", str(workspace.post_id)]) == 0
    post = capsys.readouterr().out
    assert "of 63206 characters" in post and "Destination: Thurrock Council Facebook page" in post
