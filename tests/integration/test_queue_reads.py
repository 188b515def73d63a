"""The cheap reads the approval queue and the item page make, on a real database (SQLite, and PostgreSQL
where it runs): item lines without their content, the approvals of each item's current version in one
read, and recipients counted by audience in the database exactly as `recipients` matches them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from pipeline.records import ItemStatus, OutboxItem, Subscriber
from pipeline.storage.store import Repositories

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)


def _item(store: Repositories, key: str, hours: int, status: str = ItemStatus.AWAITING_APPROVAL) -> OutboxItem:
    return store.outbox.add_item(
        NOW,
        occurrence_key=key,
        entry_id=key,
        channel="facebook",
        kind="post",
        title=key.title(),
        body=f"The text of {key}",
        audiences=["residents"],
        objectives=["1"],
        due_at=NOW + timedelta(hours=hours),
        approval="required",
        status=status,
        created_by="clock",
        approvals_required=2,
    )


def test_lines_are_items_without_their_content(store: Repositories) -> None:
    later, sooner = _item(store, "later", 30), _item(store, "sooner", 2)
    _item(store, "other", 1, status=ItemStatus.DRAFT)
    lines = store.outbox.lines(ItemStatus.AWAITING_APPROVAL)
    assert [line.id for line in lines] == [sooner.id, later.id], "by due time"
    line = lines[0]
    assert (line.title, line.channel, line.kind, line.due_at, line.status) == (
        "Sooner",
        "facebook",
        "post",
        sooner.due_at,
        ItemStatus.AWAITING_APPROVAL,
    )
    assert (line.approvals_required, line.created_by, line.content_hash) == (2, "clock", sooner.content_hash)
    assert line.due_at.tzinfo is not None
    assert [x.id for x in store.outbox.lines(ItemStatus.AWAITING_APPROVAL, due_to=NOW + timedelta(hours=3))] == [
        sooner.id
    ]


def test_current_approvals_leave_out_earlier_versions(store: Repositories) -> None:
    first, second, none = _item(store, "first", 1), _item(store, "second", 2), _item(store, "none", 3)
    store.outbox.approve(first.id, first.content_hash, "ann@x.gov.uk", NOW, allowed_from=("awaiting_approval",))
    store.outbox.approve(second.id, second.content_hash, "ann@x.gov.uk", NOW, allowed_from=("awaiting_approval",))
    store.outbox.edit_item(
        second.id, NOW, {"body": "changed"}, by="alex@x.gov.uk", status="awaiting_approval", allowed_from=()
    )
    store.outbox.approve(first.id, first.content_hash, "bob@x.gov.uk", NOW, allowed_from=("awaiting_approval",))
    found = store.outbox.current_approvals([first.id, second.id, none.id])
    assert {k: [a.by for a in v] for k, v in found.items()} == {first.id: ["ann@x.gov.uk", "bob@x.gov.uk"]}
    assert store.outbox.current_approvals([]) == {}


def test_audience_counts_match_recipients(store: Repositories) -> None:
    lists = [("headteachers",), ("governors", "headteachers"), ("residents",), ("head_teachers",), ("parents", "x")]
    store.subscribers.upsert(
        [
            Subscriber(f"p{i}@example.org", f"P {i}", "", lists[i % len(lists)], "test", date(2025, 9, 1))
            for i in range(23)
        ]
    )
    store.subscribers.set_status("p1@example.org", "unsubscribed", NOW)
    for scope in ({"headteachers", "governors"}, {"parents", "residents"}, {"head_teachers"}, {"nobody"}, set()):
        expected = Counter(audience for _email, audience, _sub in store.subscribers.recipients(scope))
        assert store.subscribers.audience_counts(scope) == dict(expected), scope


def test_audience_counts_are_kept_until_the_list_changes(store: Repositories) -> None:
    heads = [Subscriber(f"h{i}@example.org", "", "", ("headteachers",), "test", date(2025, 9, 1)) for i in range(3)]
    store.subscribers.upsert(heads)
    assert store.subscribers.audience_counts({"headteachers"}) == {"headteachers": 3}
    other = type(store.subscribers)(store.engine)  # another process's view of the same database
    assert other.audience_counts({"headteachers"}) == {"headteachers": 3}
    store.subscribers.set_status("h0@example.org", "bounced", NOW)
    assert other.audience_counts({"headteachers"}) == {"headteachers": 2}, "a change elsewhere is seen"
    store.subscribers.upsert([Subscriber("h9@example.org", "", "", ("headteachers",), "test", date(2025, 9, 1))])
    assert other.audience_counts({"headteachers"}) == {"headteachers": 3}
    store.subscribers.erase("h9@example.org", "e" * 64, NOW)
    assert other.audience_counts({"headteachers"}) == {"headteachers": 2}
