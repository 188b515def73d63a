"""The freshness rules, pure: the window, what a list had, pins, and the approver's notice."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline.jobs.freshness import Sent, choose, edition_window, notice, sent_before
from pipeline.records import NationalMessage
from pipeline.workspace import Story

ISSUE = date(2026, 12, 1)


def _msg(n: int, published: date | None) -> NationalMessage:
    when = datetime(published.year, published.month, published.day, 9, tzinfo=UTC) if published else None
    return NationalMessage(f"g{n}", f"https://www.gov.uk/n{n}", f"News {n}", "", when, f"h{n}", id=n)


def _story(slug: str, day: date) -> Story:
    return Story(slug, slug.title(), day, "Body")


def test_the_window_follows_the_cadence_unless_the_entry_sets_one() -> None:
    assert edition_window(ISSUE, date(2026, 11, 1), None).start == date(2026, 11, 1)
    assert edition_window(ISSUE, None, None).start == date(2026, 10, 31)  # a first edition: 31 days
    set_days = edition_window(ISSUE, date(2026, 11, 1), 10)
    assert set_days.start == date(2026, 11, 21) and "10 days set for this entry" in set_days.why


def test_old_and_already_sent_are_left_out_and_pins_come_first() -> None:
    window = edition_window(ISSUE, date(2026, 11, 1), None)
    sent = sent_before([{"national": [{"id": 2, "link": "https://www.gov.uk/n2"}], "stories": [{"slug": "old"}]}])
    assert sent == Sent(frozenset({2}), frozenset({"https://www.gov.uk/n2"}), frozenset({"old"}))
    messages = [_msg(1, date(2026, 11, 20)), _msg(2, date(2026, 11, 10)), _msg(3, date(2026, 10, 20)), _msg(4, None)]
    stories = [_story("old", date(2026, 11, 3)), _story("new", date(2026, 11, 12)), _story("later", date(2026, 12, 2))]
    fresh = choose(messages, stories, sent, window, (), ISSUE)
    assert [m.id for m in fresh.messages] == [1, 4] and [s.slug for s in fresh.stories] == ["new"]
    assert (fresh.repeats_left_out, fresh.old_left_out, fresh.pinned, fresh.new) == (2, 1, 0, 3)
    pinned = choose(messages, stories, sent, window, ("https://www.gov.uk/n3", "old"), ISSUE)
    assert [m.id for m in pinned.messages] == [3, 1, 4] and [s.slug for s in pinned.stories] == ["old", "new"]
    assert (pinned.pinned, pinned.new) == (2, 3)


def test_the_notice_says_what_was_left_out() -> None:
    window = edition_window(ISSUE, date(2026, 11, 1), None)
    sent = sent_before([{"national": [{"id": 2, "link": "https://www.gov.uk/n2"}], "stories": []}])
    stale = choose([_msg(2, date(2026, 11, 10)), _msg(3, date(2026, 10, 1))], [], sent, window, (), ISSUE)
    assert notice(stale.summary()) == (
        "Nothing new since the last edition (1 November 2026): no national message or local story that this "
        "list has not had already (left out: 1 already sent to this list, 1 published before the window). "
        "It carries its key messages only: approve it if that is worth sending, or cancel it."
    )
    assert notice(choose([_msg(5, date(2026, 11, 30))], [], sent, window, (), ISSUE).summary()) is None
    assert notice(None) is None  # an edition composed before freshness was recorded
