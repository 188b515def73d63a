"""Collisions (issue 15): `comms calendar check` warns, by entry and day, when the day rules stack an
entry's occurrences on one day and when two posts to one destination would carry the same text; the
team merges or keeps them per entry (`on_collision`)."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

from content_calendar.calendar import load_calendar
from content_calendar.models import Strategy
from content_calendar.plan import plan, plan_month
from pipeline.cli import main
from pipeline.services.plan import check_plan
from pipeline.workspace import Workspace
from tests.conftest import EXAMPLE

ELECTION_FRIDAY = date(2027, 5, 7)  # the first clear day after the 6 May 2027 local elections
HEADER = "id,title,channel,audiences,objectives,key_messages,start_date,time,repeat,until,on_bank_holiday,"
HEADER += "on_school_holiday,on_collision\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, root)
    return root


def _set_collision(workspace: Path, policy: str, entries: set[str]) -> None:
    path = workspace / "calendar" / "2026-27.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[0].append("on_collision")
    for row in rows[1:]:
        row.append(policy if row[0] in entries else "")
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


STACKED = {"resident-newsletter": 2, "facebook-fortnightly": 3, "x-fortnightly": 3}


def test_the_pre_election_period_stacks_the_example_on_friday_7_may_2027(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: moving resident-facing entries out of the pre-election period stacks two
    newsletters, three Facebook posts and three identical X posts on Friday 7 May 2027."""
    found = check_plan(Workspace.open(EXAMPLE)).warnings
    assert {(w.entry, w.day) for w in found} == {(e, ELECTION_FRIDAY) for e in STACKED}
    for warning in found:
        assert warning.message.startswith(f"{STACKED[warning.entry]} ")
        assert "pre-election period (Local elections 6 May 2027)" in warning.message
    x = next(w for w in found if w.entry == "x-fortnightly")
    assert str(x).startswith(
        f"{EXAMPLE / 'calendar' / '2026-27.csv'}:8: x-fortnightly: 2027-05-07: 3 posts with the same"
    )
    assert "moved here from 2027-03-30, 2027-04-13 and 2027-04-27" in x.message

    assert main(["calendar", "check"]) == 0, "warnings never fail the check"
    out, err = capsys.readouterr()
    assert out.startswith("ok: 13 entries") and "3 warning(s)" in out
    assert err.splitlines() == [str(w) for w in found]


def test_merge_folds_the_stacked_occurrences_into_one(workspace: Path, strategy: Strategy) -> None:
    _set_collision(workspace, "merge", set(STACKED))
    assert check_plan(Workspace.open(workspace)).warnings == ()
    entries = load_calendar([workspace / "calendar" / "2026-27.csv"], strategy)
    friday = [o for o in plan(strategy, entries, ELECTION_FRIDAY, ELECTION_FRIDAY) if o.entry_id in STACKED]
    going = [o for o in friday if o.status != "skipped"]
    assert sorted(o.entry_id for o in going) == sorted(STACKED)
    x = next(o for o in going if o.entry_id == "x-fortnightly")
    assert x.key == "x-fortnightly@2027-03-30" and x.reason.endswith("merged with 2027-04-13 and 2027-04-27")
    merged = [o for o in friday if o.status == "skipped"]
    assert len(merged) == sum(STACKED.values()) - len(STACKED)
    assert all(o.reason == "merged into the occurrence on 2027-05-07" for o in merged)
    # a plan of May alone folds them the same way (the compose job plans a short window)
    may = [o for o in plan_month(strategy, entries, "2027-05") if o.entry_id == "x-fortnightly"]
    assert [(o.start.date(), o.status) for o in may if o.start.date() == ELECTION_FRIDAY].count(
        (ELECTION_FRIDAY, "moved")
    ) == 1


def test_keep_keeps_them_and_silences_the_warning(workspace: Path, strategy: Strategy) -> None:
    _set_collision(workspace, "keep", set(STACKED))
    assert check_plan(Workspace.open(workspace)).warnings == ()
    entries = load_calendar([workspace / "calendar" / "2026-27.csv"], strategy)
    friday = plan(strategy, entries, ELECTION_FRIDAY, ELECTION_FRIDAY)
    assert sum(o.entry_id == "x-fortnightly" and o.status == "moved" for o in friday) == 3


def _check(tmp_path: Path, rows: str) -> list[str]:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(EXAMPLE / "strategy.yaml", root / "strategy.yaml")
    (root / "calendar").mkdir()
    (root / "calendar" / "cal.csv").write_text(HEADER + rows, encoding="utf-8")
    result = check_plan(Workspace.open(root))
    assert result.ok, result.problems
    return [str(w).split(": ", 1)[1] for w in result.warnings]


def test_bank_and_school_holiday_moves_stack_too(tmp_path: Path) -> None:
    found = _check(
        tmp_path,
        "daily,Daily,facebook,residents,1,Stay safe,2026-12-21,09:00,every weekday,2026-12-31,move,keep,\n"
        "term,Term,intranet,team-thurrock,2,Hello,2027-02-15,09:00,every weekday,2027-02-26,keep,move,\n",
    )
    assert found == [
        "daily: 2026-12-29: 3 posts with the same text on one day at 09:00: moved here from 2026-12-25 and "
        "2026-12-28 (bank holiday (Christmas Day); bank holiday (Boxing Day (observed))); set on_collision to "
        "merge (one goes out) or keep (all go out)",
        "term: 2027-02-22: 6 posts with the same text on one day at 09:00: moved here from 2027-02-15, 2027-02-16, "
        "2027-02-17, 2027-02-18 and 2027-02-19 (school holiday); set on_collision to merge (one goes out) or keep "
        "(all go out)",
    ]


def test_the_same_text_to_one_destination_within_three_days(tmp_path: Path) -> None:
    found = _check(
        tmp_path,
        "a,Be safe,facebook,residents,1,Report it,2026-11-03,12:00,,,move,keep,\n"
        "b,Be safe,facebook,residents,1,Report it,2026-11-05,18:00,,,move,keep,\n"
        "c,Be safe,facebook,residents,1,Report it,2026-11-09,12:00,,,move,keep,\n"  # 4 days after b
        "d,Be safe,x,residents,1,Report it,2026-11-05,12:00,,,move,keep,\n"  # another destination
        "e,Be safe,facebook,residents,1,Report it,2026-11-10,12:00,,,move,keep,keep\n"  # the team keeps it
        "daily,Tip,facebook,residents,1,Daily tip,2026-11-02,08:00,every weekday,2026-11-13,keep,keep,\n"
        "news,Be safe,resident-newsletter,residents,1,Report it,2026-11-04,10:00,,,move,keep,\n",
    )
    assert found == [
        "b: 2026-11-05: the same text goes to facebook at 18:00 as a's post 2 days before (2026-11-03 12:00); "
        "vary the text, or set on_collision to keep"
    ]


def test_a_post_moved_within_three_days_of_its_next_one(tmp_path: Path) -> None:
    """Half term moves Wednesday 17 February 2027 to Monday 22nd, two days before Wednesday 24th."""
    found = _check(
        tmp_path,
        "weekly,Tip,facebook,parents,3,Talk to your child,2027-02-10,16:00,weekly,2027-03-03,move,move,\n",
    )
    assert found == [
        "weekly: 2027-02-22: the same text goes to facebook at 16:00 2 days before its post on 2027-02-24, moved "
        "here from 2027-02-17; vary the text, or set on_collision to keep"
    ]
