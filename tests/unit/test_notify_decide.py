"""Staff notifications decided without a database: who is told what at `now` (`notify.decide`), and
when the clock counts as silent (`notify.clock_silent`), across the quiet hour and the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.clock.triggers import quiet_hours
from pipeline.jobs import notify
from pipeline.jobs.notify import Facts, clock_silent, decide
from pipeline.jobs.staff_mail import Topic
from pipeline.records import JobRun, OutboxItem, User

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 7, 8, 8, 0, tzinfo=UTC)
ADMIN, APPROVER = "adam.admin@council.example.gov.uk", "amy.approver@council.example.gov.uk"


def test_the_quiet_hours_are_the_hours_the_wake_trigger_skips() -> None:
    assert quiet_hours() == frozenset({1})


@pytest.mark.parametrize(
    ("last", "quiet_until", "alarm_at"),
    [
        # an ordinary night: last wake 00:55, next 02:00; 5 + 25 waking minutes make 30 at 02:25
        (datetime(2026, 7, 7, 0, 55, tzinfo=LONDON), datetime(2026, 7, 7, 2, 24, tzinfo=LONDON), 2 * 60 + 25),
        # the clocks go forward (29 March 2026): 01:00 GMT becomes 02:00 BST at once
        (datetime(2026, 3, 29, 0, 55, tzinfo=LONDON), datetime(2026, 3, 29, 2, 24, tzinfo=LONDON), 2 * 60 + 25),
        # the clocks go back (25 October 2026): 01:00-02:00 twice over, two quiet hours
        (datetime(2026, 10, 25, 0, 55, tzinfo=LONDON), datetime(2026, 10, 25, 2, 24, tzinfo=LONDON), 2 * 60 + 25),
    ],
    ids=["night", "spring-forward", "fall-back"],
)
def test_no_clock_alarm_across_the_quiet_hour(last: datetime, quiet_until: datetime, alarm_at: int) -> None:
    quiet = quiet_hours()
    assert not clock_silent(last, datetime(last.year, last.month, last.day, 2, 5, tzinfo=LONDON), LONDON, quiet)
    assert not clock_silent(last, quiet_until, LONDON, quiet)
    alarm = datetime(last.year, last.month, last.day, alarm_at // 60, alarm_at % 60, tzinfo=LONDON)
    assert clock_silent(last, alarm, LONDON, quiet)


def _user(email: str, role: str) -> User:
    return User(1, email, "", role, True, True, "local", NOW)


def _item(due: datetime = DUE, created_by: str | None = None) -> OutboxItem:
    return OutboxItem(
        id=7,
        occurrence_key="k",
        entry_id="e",
        channel="x",
        kind="post",
        title="T",
        subject="",
        body="b",
        html="",
        link=None,
        audiences=(),
        objectives=(),
        due_at=due,
        missed_after_hours=24,
        status="awaiting_approval",
        approval="required",
        approved_by=None,
        approved_at=None,
        created_by=created_by,
        content_hash="abcdef0123456789",
    )


def test_decide_is_pure_and_keys_each_version_per_person() -> None:
    item = _item(created_by=APPROVER.upper())
    facts = Facts(awaiting=(item,), approvers=(_user(APPROVER, "approver"), _user(ADMIN, "admin")))
    notices = decide(facts, NOW)
    assert [(n.topic, n.to, n.key) for n in notices] == [
        (Topic.AWAITING, ADMIN, f"notify:awaiting:7:abcdef012345:{ADMIN}")
    ], "the creator, whatever the case of the name, is not asked"
    assert decide(facts, NOW) == notices
    assert [n.topic for n in decide(facts, DUE - timedelta(hours=1))] == [Topic.AWAITING, Topic.LAPSE]
    assert decide(facts, DUE + timedelta(hours=25)) == [], "a lapsed item is nobody's to approve"
    assert timedelta(hours=2) == notify.LAPSE_WARNING and timedelta(minutes=30) == notify.CLOCK_SILENCE


def test_the_clock_alert_is_keyed_by_the_silence_and_goes_to_admins_only() -> None:
    woke = datetime(2026, 7, 6, 14, 0, tzinfo=UTC)
    facts = Facts(
        approvers=(_user(APPROVER, "approver"), _user(ADMIN, "admin")),
        admins=(_user(ADMIN, "admin"),),
        last_wake=JobRun("wake", woke, None, "", ""),
        tz=LONDON,
        quiet=quiet_hours(),
    )
    assert decide(facts, woke + timedelta(minutes=29)) == []
    (alert,) = decide(facts, woke + timedelta(minutes=45))
    assert (alert.topic, alert.to, alert.silent_minutes) == (Topic.CLOCK, ADMIN, 45)
    assert alert.key == f"notify:clock:2026-07-06T14:00:00+00:00:{ADMIN}"
    assert decide(facts, woke + timedelta(days=3))[0].key == alert.key, "the same silence, the same key"


def test_an_item_that_lapsed_unapproved_is_a_failure_for_a_week() -> None:
    item = _item(due=NOW - timedelta(hours=30), created_by="clock")
    facts = Facts(awaiting=(item,), approvers=(_user(ADMIN, "admin"),), admins=(_user(ADMIN, "admin"),))
    assert [(n.topic, n.key) for n in decide(facts, NOW)] == [(Topic.FAILED, f"notify:failed:7:{ADMIN}")]
    assert decide(facts, NOW + timedelta(days=8)) == [], "older than ALERT_LOOKBACK: not news"
