"""A queue job in plain words: each task of ours described, and its arguments held to ids and codes, so no
address or secret a job might hold reaches `comms jobs` or the jobs page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.queue.job_words import WITHHELD, describe, duration_words, shown_args
from pipeline.queue.tasks import TASKS


@pytest.mark.parametrize(
    ("task", "args", "said"),
    [
        ("collect_feed", {"feed_id": 3}, "Collect national messages from the feed “GOV.UK news”"),
        ("collect_feed", {"feed_id": 4}, "Collect the feed #4"),
        (
            "compose_occurrence",
            {"entry": "resident-newsletter", "day": "2026-11-05"},
            "Compose resident-newsletter for 5 November 2026",
        ),
        ("dispatch_item", {"item_id": 12}, "Start sending item #12: split its recipients into batches"),
        (
            "dispatch_batch",
            {"item_id": 12, "batch": 0, "first_id": 1, "last_id": 500},
            "Send item #12 to its recipients, batch 1",
        ),
        ("notify_staff", {}, "Email the staff: the approvers' digest, reminders and alerts"),
        ("report_month", {"month": "2026-11"}, "Write the monthly report for November 2026"),
        ("measure", {"day": "2026-11-20"}, "Pull each channel's own figures (20 November 2026)"),
        (
            "measure_channel",
            {"day": "2026-11-20", "channel": "facebook"},
            "Pull the figures of the channel facebook (20 November 2026)",
        ),
        ("remove_old_jobs", {"max_hours": 24}, "remove_old_jobs (a task this version of comms does not know)"),
    ],
)
def test_each_task_in_plain_words(task: str, args: dict[str, object], said: str) -> None:
    assert describe(task, args, {3: "GOV.UK news"}) == said


def test_every_task_of_ours_is_described() -> None:
    for task in TASKS:
        assert "does not know" not in describe(task, {}), task


def test_only_ids_and_codes_are_shown() -> None:
    shown = dict(
        shown_args(
            {
                "item_id": 12,
                "entry": "head@school.example.org",  # an address where a code should be
                "month": "2026-11",
                "day": "2026-11-05\nanything",
                "token": "abc",  # no argument of ours
                "batch": True,
                "first_id": [1, 2],
            }
        )
    )
    assert shown == {
        "item_id": "12",
        "entry": WITHHELD,
        "month": "2026-11",
        "day": WITHHELD,
        "token": WITHHELD,
        "batch": WITHHELD,
        "first_id": WITHHELD,
    }
    assert describe("compose_occurrence", {"entry": "head@school.example.org", "day": "x"}) == (
        f"Compose {WITHHELD} for x"
    )


def test_how_long_a_worker_was_silent() -> None:
    assert [duration_words(timedelta(seconds=s)) for s in (1, 45, 60, 3599, 7200, 86400 * 3)] == [
        "1 second",
        "45 seconds",
        "1 minute",
        "59 minutes",
        "2 hours",
        "3 days",
    ]


def test_an_attempts_detail_is_cut_short_redacted_and_without_addresses() -> None:
    from pipeline.queue.job_words import ADDRESS_WITHHELD, DETAIL_WIDTH, shown_detail

    detail = "failures=2\n\nitem 1: Head.Teacher+news@school.example.org: 452\n" + "x" * 900 + "\nmore\nand more"
    shown = shown_detail(detail, lambda line: line.replace("452", "***"))
    assert shown == ("failures=2", f"item 1: {ADDRESS_WITHHELD}: ***", "x" * DETAIL_WIDTH, "more")
    assert shown_detail("", str) == ()
