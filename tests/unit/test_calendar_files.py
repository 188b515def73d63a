"""Calendar files: every problem named as FILE:LINE: field: message; spreadsheet quirks read right."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from content_calendar.calendar import check_calendar, load_calendar
from content_calendar.errors import CalendarError
from content_calendar.strategy import load_strategy

HEADER = "id,title,channel,audiences,objectives,start_date,time,repeat,approval\n"


def write(tmp_path: Path, text: str, name: str = "cal.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_the_example_calendar_is_clean(strategy) -> None:  # type: ignore[no-untyped-def]
    root = Path(__file__).resolve().parents[2] / "examples" / "thurrock"
    entries = load_calendar(sorted((root / "calendar").glob("*")), strategy)
    assert len(entries) >= 12
    assert {e.channel for e in entries} >= {"resident-newsletter", "headteacher-bulletin", "member-briefing"}


def test_every_problem_is_reported_with_file_line_and_field(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path,
        HEADER + "a,Fine,facebook,residents,1,2026-11-03,09:00,,\n"
        "b,Bad objective,facebook,residents,9,2026-11-03,09:00,,\n"
        "c,Bad channel,telegraph,residents,1,2026-11-03,09:00,,\n"
        "d,Bad date,facebook,residents,1,31/02/2026,09:00,,\n"
        "e,Bad repeat,facebook,residents,1,2026-11-03,09:00,every blue moon,\n"
        "f,Clock change hour,facebook,residents,1,2026-11-03,01:30,,\n"
        "a,Duplicate,facebook,residents,1,2026-11-03,09:00,,\n"
        "g,Bad approval,facebook,residents,1,2026-11-03,09:00,,sometimes\n",
    )
    entries, problems = check_calendar([path], strategy)
    assert [e.id for e in entries] == ["a"]
    text = [str(p) for p in problems]
    f = str(path)
    assert any(t.startswith(f"{f}:3: objectives: unknown objective '9'") for t in text)
    assert any(t.startswith(f"{f}:4: channel: unknown channel 'telegraph'") for t in text)
    assert any(t.startswith(f"{f}:5: start_date:") for t in text)
    assert any(t.startswith(f"{f}:6: repeat: not a repeat we understand") for t in text)
    assert any(t.startswith(f"{f}:7: time: 01:30 is in 01:00-02:00") for t in text)
    assert any(t.startswith(f"{f}:8: id: duplicate id 'a'") for t in text)
    assert any(t.startswith(f"{f}:9: approval:") for t in text)


def test_load_is_all_or_nothing(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    good = write(tmp_path, HEADER + "a,Fine,facebook,residents,1,2026-11-03,09:00,,\n", "good.csv")
    bad = write(tmp_path, HEADER + "b,Bad,facebook,residents,42,2026-11-03,09:00,,\n", "bad.csv")
    with pytest.raises(CalendarError) as caught:
        load_calendar([good, bad], strategy)
    assert len(caught.value.problems) == 1 and "bad.csv:2" in str(caught.value)


def test_bom_semicolons_uk_dates_excel_serials_and_windows_1252(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    text = (
        "\ufeffid;title;channel;audiences;objectives;start_date;time\n"
        "a;Café evening – faith forum;facebook;residents,parents;1|3;03/11/2026;9:30\n"
        "b;Excel date;facebook;residents;1;46329;0.375\n"
    )
    entries = load_calendar([write(tmp_path, text)], strategy)
    assert entries[0].title == "Café evening – faith forum" and entries[0].start == date(2026, 11, 3)
    assert entries[0].audiences == ("residents", "parents") and entries[0].objectives == ("1", "3")
    assert entries[1].start == date(2026, 11, 3) and entries[1].at == time(9, 0)
    cp1252 = write(tmp_path, text.lstrip("\ufeff"), "win.csv", encoding="cp1252")
    assert load_calendar([cp1252], strategy)[0].title == "Café evening – faith forum"


def test_missing_columns_named_on_the_header_line(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    _entries, problems = check_calendar([write(tmp_path, "id,title\na,b\n")], strategy)
    assert str(problems[0]).endswith("1: header: missing column(s): channel, objectives, start_date, time")


def test_yaml_calendar_with_line_numbers(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path,
        "entries:\n"
        "  - {id: a, title: A, channel: facebook, audiences: [residents], objectives: ['1'],"
        " start_date: 2026-11-03, time: '09:00', repeat: monthly on the first Tuesday}\n"
        "  - id: b\n    title: B\n    channel: facebook\n    objectives: ['7']\n"
        "    start_date: 2026-11-03\n    time: '10:00'\n",
        "cal.yaml",
    )
    entries, problems = check_calendar([path], strategy)
    assert [e.id for e in entries] == ["a"]
    assert str(problems[0]).startswith(f"{path}:3: objectives: unknown objective '7'")


def test_strategy_problems_are_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "objectives:\n  - {code: '1'}\nchannels:\n  - {code: x, kind: x, facing: aliens}\n"
        "terms:\n  - {start: 2026-09-03, end: 2026-07-01}\n",
        "strategy.yaml",
    )
    with pytest.raises(CalendarError) as caught:
        load_strategy(path)
    fields = {p.field for p in caught.value.problems}
    assert {"objectives", "channels.x.facing", "terms"} <= fields
