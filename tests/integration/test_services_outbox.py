"""The use cases on a real database (SQLite, and PostgreSQL where it runs): the outbox life cycle and its
rules (which status allows which move, an edit needs approving again, four eyes), and the status view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.app import Pipeline
from pipeline.cli import main
from pipeline.errors import CommsError, Conflict, Invalid, NotAllowed, NotFound
from pipeline.records import FeedSpec, ItemStatus, NationalMessage, OutboxItem
from pipeline.services.actor import Actor, ActorKind, Role
from pipeline.services.control import ControlService
from pipeline.services.outbox import OutboxService
from pipeline.settings import Settings
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
ALEX, SAM = Actor.cli("Alex Author", Role.APPROVER), Actor.cli("Sam Approver", Role.APPROVER)


def _queue(store: Repositories, key: str = "e@2026-11-05", status: str = "awaiting_approval") -> OutboxItem:
    return store.outbox.add_item(
        NOW,
        occurrence_key=key,
        entry_id="e",
        channel="facebook",
        kind="post",
        title="T",
        body="Hello",
        audiences=["residents"],
        objectives=["1"],
        due_at=NOW + timedelta(hours=2),
        approval="required",
        status=status,
    )


@pytest.fixture
def outbox(store: Repositories) -> OutboxService:
    return OutboxService(store.outbox)


def test_errors_share_the_root() -> None:
    for error in (NotFound, NotAllowed, Conflict, Invalid):
        assert issubclass(error, CommsError)


def test_approve_records_who_and_when(store: Repositories, outbox: OutboxService) -> None:
    item = _queue(store)
    approved = outbox.approve(SAM, item.id, NOW).item
    assert approved.status == ItemStatus.APPROVED == "approved"
    assert approved.approved_by == "Sam Approver" and approved.approved_at == NOW


def test_four_eyes_the_last_editor_cannot_approve_someone_else_can(store: Repositories, outbox: OutboxService) -> None:
    item = _queue(store)
    edited = outbox.edit(ALEX, item.id, NOW, body="Hello, residents")
    assert edited.edited_by == "Alex Author" and edited.status == "awaiting_approval"
    for same in (ALEX, Actor.cli("  alex author ", Role.ADMIN)):
        with pytest.raises(NotAllowed, match="four eyes: Alex Author edited #"):
            outbox.approve(same, item.id, NOW)
    assert outbox.get(SAM, item.id).status == "awaiting_approval", "a refused approval changes nothing"
    approved = outbox.approve(SAM, item.id, NOW).item
    assert approved.status == "approved" and approved.approved_by == "Sam Approver"


def test_an_edit_after_approval_needs_approving_again(store: Repositories, outbox: OutboxService) -> None:
    item = _queue(store)
    outbox.approve(SAM, item.id, NOW)
    edited = outbox.edit(SAM, item.id, NOW, body="Hello again")
    assert edited.status == "awaiting_approval" and edited.approved_by is None and edited.body == "Hello again"
    with pytest.raises(NotAllowed):
        outbox.approve(SAM, item.id, NOW)  # Sam now edited it: the approver must be someone else
    assert outbox.approve(ALEX, item.id, NOW).item.status == "approved"
    unchanged = outbox.edit(ALEX, item.id, NOW, body="Hello again")
    assert unchanged.status == "approved" and unchanged.edited_by == "Sam Approver", "the same text is no edit"


def test_reject_needs_a_reason_and_sends_the_item_back_to_draft(store: Repositories, outbox: OutboxService) -> None:
    item = _queue(store)
    with pytest.raises(Invalid, match="needs a reason"):
        outbox.reject(SAM, item.id, "  ", NOW)
    rejected = outbox.reject(SAM, item.id, "wrong date", NOW)
    assert rejected.status == "draft" and rejected.reason == "wrong date"
    with pytest.raises(Conflict, match="it can be rejected only when awaiting_approval, approved"):
        outbox.reject(SAM, item.id, "again", NOW)
    assert outbox.edit(ALEX, item.id, NOW, body="Fixed").status == "awaiting_approval", "an edited draft is resubmitted"


def test_cancel_and_wrong_state_moves_raise_conflict(store: Repositories, outbox: OutboxService) -> None:
    item = _queue(store)
    outbox.approve(SAM, item.id, NOW)
    assert outbox.cancel(SAM, item.id, NOW).status == "cancelled"
    with pytest.raises(Conflict, match="is cancelled; it can be approved only when draft, awaiting_approval"):
        outbox.approve(SAM, item.id, NOW)
    with pytest.raises(Conflict):
        outbox.cancel(SAM, item.id, NOW)
    with pytest.raises(Conflict, match="only an item not yet sent or cancelled can be edited"):
        outbox.edit(ALEX, item.id, NOW, body="too late")
    with pytest.raises(Conflict):
        outbox.retry(SAM, item.id, NOW)
    sent = _queue(store, "sent@2026-11-05")
    store.outbox.transition(sent.id, ItemStatus.SENT, NOW)
    for move in (outbox.approve, outbox.cancel):
        with pytest.raises(Conflict, match="is sent"):
            move(SAM, sent.id, NOW)


def test_retry_resets_failed_deliveries_and_needs_approval(store: Repositories, outbox: OutboxService) -> None:
    item = _queue(store)
    store.outbox.ensure_deliveries(item.id, [("a@example.org", "residents"), ("b@example.org", "residents")])
    first, second = store.outbox.deliveries(item.id)
    store.outbox.record_attempt("k", first.id, "failed", NOW, ledger=None, error="550 no such user")
    store.outbox.record_attempt("k", second.id, "sent", NOW, ledger=None)
    with pytest.raises(Conflict, match="it can be retried only when failed, missed"):
        outbox.retry(SAM, item.id, NOW)
    assert [d.status for d in store.outbox.deliveries(item.id)] == ["failed", "sent"], "nothing reset on refusal"
    outbox.approve(SAM, item.id, NOW)
    store.outbox.transition(item.id, ItemStatus.FAILED, NOW, reason="1 of 2 failed")
    done = outbox.retry(ALEX, item.id, NOW)
    assert done.deliveries_reset == 1 and done.item.status == "awaiting_approval" and done.item.approved_by is None
    assert [d.status for d in outbox.show(SAM, item.id).deliveries] == ["pending", "sent"]


def test_unknown_items_raise_not_found(outbox: OutboxService) -> None:
    for call in (
        lambda: outbox.show(SAM, 999),
        lambda: outbox.approve(SAM, 999, NOW),
        lambda: outbox.reject(SAM, 999, "why", NOW),
        lambda: outbox.cancel(SAM, 999, NOW),
        lambda: outbox.retry(SAM, 999, NOW),
        lambda: outbox.edit(SAM, 999, NOW, body="x"),
    ):
        with pytest.raises(NotFound, match="no outbox item 999"):
            call()


def test_list_and_show(store: Repositories, outbox: OutboxService) -> None:
    a, b = _queue(store, "a@2026-11-05"), _queue(store, "b@2026-11-05")
    outbox.approve(SAM, b.id, NOW)
    assert [i.id for i in outbox.list_items(SAM)] == [a.id, b.id]
    assert [i.id for i in outbox.list_items(SAM, status=ItemStatus.APPROVED)] == [b.id]
    store.outbox.ensure_deliveries(a.id, [("a@example.org", "residents")])
    view = outbox.show(SAM, a.id)
    assert view.item == a and [d.recipient for d in view.deliveries] == ["a@example.org"]


def test_actors() -> None:
    assert Actor.cli("  ").name and Actor.cli(None).kind == ActorKind.CLI, "no --by: the login name"
    assert Actor.clock().name == "clock" and Actor.clock().role is None
    with pytest.raises(AttributeError):
        ALEX.name = "someone else"  # type: ignore[misc]


def test_status_view(store: Repositories, settings: Settings) -> None:
    control = ControlService(settings, store.control, store.outbox, store.feeds)
    quiet = control.status(NOW)
    assert not quiet.freeze.paused and not quiet.failed and not quiet.awaiting_approval and not quiet.feed_problems
    assert len(quiet.next_wakeups) == 10 and all(moment >= NOW for _name, moment in quiet.next_wakeups)
    with pytest.raises(NotAllowed, match="needs an admin"):
        control.pause(SAM, "critical incident", NOW)
    duty = Actor.cli("Sam Approver", Role.ADMIN)
    with pytest.raises(Invalid):
        control.pause(duty, " ", NOW)
    assert control.pause(duty, "critical incident", NOW).paused
    waiting, failed, missed = (_queue(store, f"{k}@2026-11-05") for k in ("w", "f", "m"))
    store.outbox.transition(failed.id, ItemStatus.FAILED, NOW, reason="refused")
    store.outbox.transition(missed.id, ItemStatus.MISSED, NOW, reason="too late")
    run = store.control.start_job("dispatch", NOW)
    store.control.finish_job(run, NOW, "failed", "failures=1")
    store.feeds.upsert([FeedSpec("https://example.org/a.xml", "A"), FeedSpec("https://example.org/b.xml", "B")])
    feed_a = next(f for f in store.feeds.all() if f.spec.name == "A")
    store.feeds.record_fetch(feed_a.id, NOW, ok=False, error="HTTP 500")
    message = NationalMessage("g", "https://example.org/m", "Title", "<p>x</p>", None, "h1")
    store.feeds.save_messages(feed_a.id, [("g", message)], NOW)
    store.feeds.mark_messages_used([m.id for m in store.feeds.messages() if m.id is not None])
    changed = NationalMessage("g", "https://example.org/m", "Title (updated)", "<p>y</p>", None, "h2")
    store.feeds.save_messages(feed_a.id, [("g", changed)], NOW)

    view = control.status(NOW)
    assert view.freeze.paused and view.freeze.by == "Sam Approver" and view.freeze.reason == "critical incident"
    assert [i.id for i in view.failed] == [failed.id, missed.id]
    assert [i.id for i in view.awaiting_approval] == [waiting.id]
    assert [(r.job, r.outcome) for r in view.last_runs] == [("dispatch", "failed")]
    assert [f.spec.name for f in view.feed_problems] == ["A"]
    assert [m.title for m in view.changed_after_sent] == ["Title (updated)"]
    assert not control.resume(duty, "", NOW + timedelta(hours=1)).paused


def test_the_command_line_names_the_four_eyes_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMS_DATABASE_URL", f"sqlite:///{tmp_path / 'comms.db'}")
    monkeypatch.setenv("COMMS_WORKSPACE", str(EXAMPLE))
    assert main(["calendar", "import"]) == 0
    for who, role in (("dana", "approver"), ("alex", "approver"), ("sam", "approver"), ("viv", "viewer")):
        assert main(["users", "add", f"{who}@thurrock.gov.uk", "--role", role]) == 0
    capsys.readouterr()
    assert main(["report", "--month", "2026-11", "--send-to", "elected-members", "--by", "dana@thurrock.gov.uk"]) == 0
    assert "queued as #1" in capsys.readouterr().out
    assert main(["queue", "approve", "1", "--by", "nobody@thurrock.gov.uk"]) == 2
    assert "no user nobody@thurrock.gov.uk: add one with `comms users add" in capsys.readouterr().err
    assert main(["queue", "approve", "1"]) == 2
    assert "cannot approve, reject and cancel items: name one with --by" in capsys.readouterr().err
    assert main(["queue", "approve", "1", "--by", "viv@thurrock.gov.uk"]) == 2
    assert "viv@thurrock.gov.uk is a viewer and cannot approve" in capsys.readouterr().err
    assert main(["queue", "approve", "1", "--by", "DANA@thurrock.gov.uk"]) == 2
    assert "four eyes: dana@thurrock.gov.uk created #1" in capsys.readouterr().err
    alex = ["--by", "alex@thurrock.gov.uk"]
    assert main(["queue", "edit", "1", "--text", "Members: the report is attached.", *alex]) == 0
    assert "#1 edited (version " in capsys.readouterr().out
    assert main(["queue", "approve", "1", *alex]) == 2
    assert "four eyes: alex@thurrock.gov.uk edited #1, so someone else must approve it" in capsys.readouterr().err
    monkeypatch.setenv("COMMS_USER", "sam@thurrock.gov.uk")
    assert main(["queue", "approve", "1"]) == 0
    assert "#1 is now approved" in capsys.readouterr().out
    assert main(["queue", "retry", "1"]) == 2
    assert "it can be retried only when failed, missed" in capsys.readouterr().err
    assert main(["queue", "show", "42"]) == 2
    assert "no outbox item 42" in capsys.readouterr().err
    assert main(["queue", "list", "--status", "approved"]) == 0
    assert "1 item(s)" in capsys.readouterr().out


def test_status_lists_the_next_things_due_not_the_clock(pipeline: Pipeline) -> None:
    pipeline.import_plan(now=NOW)
    before = ControlService.of(pipeline).status(NOW).next_due
    assert len(before) == 10 and all(d.at >= NOW for d in before)
    assert [d.at for d in before] == sorted(d.at for d in before) and {d.state for d in before} == {"planned"}
    assert len({(d.title, d.at) for d in before}) == 10, "ten different things, not ten wake-ups"
    first = before[0]
    pipeline.compose(first.at - timedelta(hours=1), entry=None)
    after = ControlService.of(pipeline).status(NOW).next_due
    mine = next(d for d in after if d.title == first.title and d.at == first.at)
    assert mine.state == "awaiting_approval" and mine.item_id is not None, "composed: its item and its state"
