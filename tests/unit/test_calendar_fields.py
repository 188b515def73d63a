"""The calendar fields of issue 15: `pin`, `window_days` and `on_collision`, read from CSV and YAML and
checked like the others, each problem as FILE:LINE: field: message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from content_calendar.calendar import check_calendar
from content_calendar.errors import CalendarError
from content_calendar.models import Strategy
from pipeline.services.plan import check_plan, read_plan
from pipeline.workspace import Workspace
from tests.conftest import EXAMPLE

HEADER = "id,title,channel,audiences,objectives,start_date,time,repeat,pin,window_days,on_collision\n"


def test_csv_fields_are_read(tmp_path: Path, strategy: Strategy) -> None:
    path = tmp_path / "cal.csv"
    path.write_text(
        HEADER + "n,News,resident-newsletter,residents,1,2026-11-03,10:00,monthly on the first Tuesday,"
        "2026-11-03-walk-online-roadshow; https://www.gov.uk/x,45,merge\n"
        "p,Post,facebook,residents,1,2026-11-03,12:00,,,,keep\n",
        encoding="utf-8",
    )
    entries, problems = check_calendar([path], strategy)
    assert problems == []
    news, post = entries
    assert news.pin == ("2026-11-03-walk-online-roadshow", "https://www.gov.uk/x")
    assert (news.window_days, news.on_collision) == (45, "merge")
    assert (post.pin, post.window_days, post.on_collision) == ((), None, "keep")


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        ("resident-newsletter,10:00,,stories/x.md,,", "pin", "neither a story's file name"),
        ("resident-newsletter,10:00,,ftp://x.org/a,,", "pin", "neither a story's file name"),
        ("facebook,12:00,,2026-11-03-walk-online-roadshow,,", "pin", "facebook is a facebook channel"),
        ("resident-newsletter,10:00,,,0,", "window_days", "from 1 to 366, not '0'"),
        ("resident-newsletter,10:00,,,a month,", "window_days", "from 1 to 366, not 'a month'"),
        ("facebook,12:00,,,,fold", "on_collision", "must be one of merge, keep, not 'fold'"),
    ],
)
def test_bad_values_are_problems_by_file_line_and_field(
    tmp_path: Path, strategy: Strategy, cells: str, field: str, message: str
) -> None:
    channel, at, *rest = cells.split(",")
    path = tmp_path / "cal.csv"
    path.write_text(
        HEADER
        + "ok,Fine,facebook,residents,1,2026-11-03,09:00,,,,\n"
        + f"x,X,{channel},residents,1,2026-11-03,{at},{','.join(rest)}\n"
    )
    entries, problems = check_calendar([path], strategy)
    assert [e.id for e in entries] == ["ok"]
    assert [str(p) for p in problems if message in p.message] == [next(str(p) for p in problems if p.field == field)]
    assert str(problems[0]).startswith(f"{path}:3: {field}: ")


def test_yaml_fields_take_lists_and_numbers(tmp_path: Path, strategy: Strategy) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(
        "entries:\n"
        "  - id: n\n    title: News\n    channel: resident-newsletter\n    objectives: [1]\n"
        "    start_date: 2026-11-03\n    time: '10:00'\n"
        "    pin: [2026-11-03-walk-online-roadshow]\n    window_days: 40\n    on_collision: merge\n"
        "  - id: bad\n    title: Bad\n    channel: resident-newsletter\n    objectives: [1]\n"
        "    start_date: 2026-11-03\n    time: '10:00'\n    pin: {a: 1}\n",
        encoding="utf-8",
    )
    entries, problems = check_calendar([path], strategy)
    assert [(e.pin, e.window_days, e.on_collision) for e in entries] == [
        (("2026-11-03-walk-online-roadshow",), 40, "merge")
    ]
    assert [str(p) for p in problems] == [f"{path}:11: pin: must be text or a list of text, not a mapping"]


def test_a_pinned_story_must_be_in_the_stories_folder(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLE, root)
    path = root / "calendar" / "2026-27.csv"
    path.write_text(
        HEADER + "n,News,resident-newsletter,residents,1,2026-11-03,10:00,,"
        "2026-11-03-walk-online-roadshow;2026-11-03-walk-onlne-roadshow;https://www.gov.uk/x,,\n",
        encoding="utf-8",
    )
    result = check_plan(Workspace.open(root))
    assert [str(p) for p in result.problems] == [
        f"{path}:2: pin: no story '2026-11-03-walk-onlne-roadshow' in {root / 'stories'} (its file name, without .md)"
    ]
    with pytest.raises(CalendarError) as refused:
        read_plan(Workspace.open(root))
    assert "walk-onlne" in str(refused.value)
