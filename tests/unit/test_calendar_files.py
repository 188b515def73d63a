"""Calendar files: every problem named as FILE:LINE: field: message; spreadsheet quirks read right."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content_calendar.calendar import check_calendar, load_calendar
from content_calendar.errors import CalendarError
from content_calendar.plan import plan_month
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


# Hostile input (issue 14): every mistake is FILE:LINE: field: message, never a traceback or a hang.

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "thurrock"
ROW = "a,Fine,facebook,residents,1,2026-11-03,09:00,,\n"
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)


def problems_of(tmp_path: Path, strategy, text: str, name: str = "cal.csv") -> list[str]:  # type: ignore[no-untyped-def]
    _entries, problems = check_calendar([write(tmp_path, text, name)], strategy)
    return [str(p) for p in problems]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (BOMB, 7, "aliases expand to more than"),
        ("entries:\n  - " + "[" * 5000 + "]" * 5000 + "\n", 2, "nested more than 40 levels deep"),
        ("entries: &x [*x]\n", 1, "refers to a value that contains it"),
        ("entries:\n  - {id: a, start_date: 2026-02-30}\n", 2, "day is out of range for month"),
    ],
)
def test_hostile_yaml_is_refused_with_its_line(tmp_path: Path, strategy, text: str, line: int, message: str) -> None:  # type: ignore[no-untyped-def]
    text_problems = problems_of(tmp_path, strategy, text, "cal.yaml")
    assert len(text_problems) == 1 and f"cal.yaml:{line}: yaml: " in text_problems[0]
    assert message in text_problems[0]
    with pytest.raises(CalendarError):
        load_strategy(write(tmp_path, text, "strategy.yaml"))


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ("title: [a, b]", "title", "must be text, not a list"),
        ("title: {a: 1}", "title", "must be text, not a mapping"),
        ("channel: yes", "channel", "must be text, not true"),
        ("audiences: [[residents]]", "audiences", "must be text or a list of text, not a list"),
        ("objectives: {'1': x}", "objectives", "must be text or a list of text, not a mapping"),
        ("start_date: [2026-11-03]", "start_date", "must be a date, not a list"),
        ("missed_after_hours: -5", "missed_after_hours", "from 1 to 744"),
        ("missed_after_hours: 100000000", "missed_after_hours", "from 1 to 744"),
        ("start_date: 9999-12-31", "start_date", "is not between 2000 and 2099"),
        ("until: 1900-01-01", "until", "is not between 2000 and 2099"),
        ("time: 0.99999", "time", "is not a time"),
        ("time: '01:15'", "time", "01:15 is in 01:00-02:00"),
        ("repeat: FREQ=SECONDLY", "repeat", "FREQ must be one of DAILY"),
        ("repeat: FREQ=DAILY;BYHOUR=9", "repeat", "BYHOUR repeats within a day"),
        ("repeat: FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31", "repeat", "never happens"),
        ("{repeat: FREQ=MONTHLY;BYMONTHDAY=20, until: 2026-11-19}", "repeat", "never happens between 2026-11-03"),
    ],
)
def test_yaml_entry_types_and_bounds(tmp_path: Path, strategy, entry: str, field: str, message: str) -> None:  # type: ignore[no-untyped-def]
    base = {"id": "a", "title": "A", "channel": "facebook", "objectives": "'1'", "start_date": "2026-11-03"}
    base |= {"time": "'09:00'", "repeat": "monthly"}
    if entry.startswith("{"):
        base |= dict(part.split(": ") for part in entry.strip("{}").split(", "))
    else:
        key, value = entry.split(": ", 1)
        base[key] = value
    text = "entries:\n  - x: 1\n" + "".join(f"    {k}: {v}\n" for k, v in base.items())
    found = problems_of(tmp_path, strategy, text, "cal.yaml")
    assert any(p.startswith(f"{tmp_path / 'cal.yaml'}:2: {field}: ") and message in p for p in found), found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- 1\n- 2\n", "entries: each entry must be a mapping, not the number 1"),
        ("entries: 42\n", "entries: must be a list of entries, not the number 42"),
        ("entries: []\n", "entries: no entries in the calendar files"),
    ],
)
def test_yaml_calendar_shape(tmp_path: Path, strategy, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert any(message in p for p in problems_of(tmp_path, strategy, text, "cal.yaml"))


def test_a_csv_of_comments_only_is_refused_not_an_empty_plan(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    found = problems_of(tmp_path, strategy, HEADER + "# nothing yet\n")
    assert found == [f"{tmp_path / 'cal.csv'}:1: entries: no entries in the calendar files: nothing would be planned"]


def test_csv_with_cr_only_line_endings(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    text = (HEADER + ROW + "b,B,facebook,residents,42,2026-11-03,09:00,,\n").replace("\n", "\r")
    _entries, problems = check_calendar([write(tmp_path, text)], strategy)
    assert [str(p).split(": ", 1)[0] for p in problems] == [f"{tmp_path / 'cal.csv'}:3"]


def test_a_csv_cell_over_the_field_limit(tmp_path: Path, strategy) -> None:  # type: ignore[no-untyped-def]
    text = HEADER + ROW + "b," + "x" * 200_000 + ",facebook,residents,1,2026-11-03,09:00,,\n"
    found = problems_of(tmp_path, strategy, text)
    assert found == [f"{tmp_path / 'cal.csv'}:3: file: cannot read the CSV: a cell is longer than 131,072 characters"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("objectives:\n", "objectives: {a: 1}\nx:\n"), "objectives", "must be a list, not a mapping"),
        (("audiences:\n", "audiences: 7\nx:\n"), "audiences", "must be a list, not the number 7"),
        (("  - code: residents\n", "  - [residents]\n  - code: r2\n"), "audiences", "each item must be a mapping"),
        (("targets: {community_tension_returns: 4}", "targets: [4]"), "objectives.2.targets", "must be a mapping"),
        (("targets: {sent: 60, engagements: 250}", "targets: {sent: .inf}"), "objectives.3.targets.sent", "number"),
        (("lead_days: 3}", "lead_days: -1}"), "channels.resident-newsletter.lead_days", "from 0 to 60"),
        (("lead_days: 5}", "lead_days: 100000000000}"), "channels.member-briefing.lead_days", "from 0 to 60"),
        (("lead_days: 2}", "lead_days: two}"), "channels.headteacher-bulletin.lead_days", "whole number"),
        (("name: Thurrock Prevent communications", "name: {a: 1}"), "name", "must be text, not a mapping"),
        (("timezone: Europe/London", "timezone: ''"), "timezone", "unknown time zone ''"),
        (("timezone: Europe/London", "timezone: Mars/Olympus"), "timezone", "unknown time zone 'Mars/Olympus'"),
        (("timezone: Europe/London", "timezone: ../../etc/passwd"), "timezone", "unknown time zone"),
        (("end: 2026-02-13}", "end: 9999-12-31}"), "terms", "not between 2000 and 2099"),
    ],
)
def test_strategy_types_and_bounds(tmp_path: Path, change: tuple[str, str], field: str, message: str) -> None:
    text = (EXAMPLE / "strategy.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(CalendarError) as caught:
        load_strategy(write(tmp_path, text.replace(change[0], change[1], 1), "strategy.yaml"))
    assert any(p.field == field and message in p.message for p in caught.value.problems), caught.value


@pytest.mark.parametrize("text", ["- a\n- b\n", "42\n", "'text'\n"])
def test_a_strategy_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(CalendarError, match=r"strategy.yaml:1: strategy: must be a mapping"):
        load_strategy(write(tmp_path, text, "strategy.yaml"))


# Property: whatever is done to the example files, loading ends in entries or a CalendarError, in time.

THURROCK = load_strategy(EXAMPLE / "strategy.yaml")
STRATEGY_TEXT = (EXAMPLE / "strategy.yaml").read_bytes()
CALENDAR_TEXT = next((EXAMPLE / "calendar").glob("*.csv")).read_bytes()
YAML_CALENDAR = (
    b"entries:\n"
    b"  - id: a\n    title: Monthly update\n    channel: facebook\n    audiences: [residents, parents]\n"
    b"    objectives: ['1', '3']\n    start_date: 2026-09-01\n    time: '10:00'\n"
    b"    repeat: monthly on the first Tuesday\n"
    b"    until: 2027-08-31\n    missed_after_hours: 24\n    key_messages: [one, two]\n"
    b"  - {id: b, title: Once, channel: x, objectives: '3', start_date: 2026-11-17, time: '19:00', approval: auto}\n"
)
SWAPS = [
    b"[1, 2]",
    b"{a: 1}",
    b"42",
    b"-1",
    b"1e400",
    b"yes",
    b"~",
    b"''",
    b"2026-02-30",
    b"FREQ=SECONDLY",
    b"[[[[[]]]]]",
]


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """The original file with a few byte flips, a truncation, a value swapped for another type, or an alias bomb."""
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "swap", "bomb", "insert"]))
        if kind == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.sampled_from([b"\r", b"\x00", b"&a ", b"*a", b": ", b"- ", b'"', b"\t", b",,,,"]))
        elif kind == "swap":
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            key = lines[i].split(b":", 1)[0] if b":" in lines[i] else lines[i]
            lines[i] = key + b": " + draw(st.sampled_from(SWAPS))
            data = bytearray(b"\n".join(lines))
        elif kind == "bomb":
            data = bytearray(BOMB.encode() + b"x: *j\n" + bytes(data))
    return bytes(data)


FUZZ = settings(max_examples=150, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])


def loads_or_refuses(load: Callable[[], object]) -> None:
    try:
        load()
    except CalendarError as exc:
        assert exc.problems and all(":" in str(p) for p in exc.problems)


@FUZZ
@given(mutated(STRATEGY_TEXT))
def test_a_mutated_strategy_loads_or_is_refused(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "strategy.yaml"
        path.write_bytes(text)
        loads_or_refuses(lambda: load_strategy(path))


@FUZZ
@given(
    st.sampled_from([("cal.csv", CALENDAR_TEXT), ("cal.yaml", YAML_CALENDAR)]).flatmap(
        lambda named: st.tuples(st.just(named[0]), mutated(named[1]))
    )
)
def test_a_mutated_calendar_loads_or_is_refused(file: tuple[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file[0]
        path.write_bytes(file[1])
        loads_or_refuses(lambda: plan_month(THURROCK, load_calendar([path], THURROCK), "2026-11"))


def test_a_subscriber_address_longer_than_254_characters_is_refused(tmp_path: Path) -> None:
    from pipeline.workspace import read_subscribers

    long = "a" * 250 + "@example.org"
    path = tmp_path / "subscribers.csv"
    path.write_text(f"email,audiences,consent_source,consent_date\n{long},headteachers,form,2025-09-01\n")
    with pytest.raises(CalendarError) as caught:
        read_subscribers(path)
    assert str(caught.value.problems[0]).startswith(f"{path}:2: email: 262 characters: an address has at most 254")


def test_a_subscriber_address_is_checked_by_the_rule_the_email_channel_sends_by(tmp_path: Path) -> None:
    from channels.email_smtp import valid_address
    from pipeline.workspace import read_subscribers

    rows = ["resident.six@example", "two@@example.org", "spaces in@example.org", "fine.name+tag@example.org"]
    path = tmp_path / "subscribers.csv"
    body = "".join(f"{email},residents,paper form,2025-09-01\n" for email in rows)
    path.write_text("email,audiences,consent_source,consent_date\n" + body)
    with pytest.raises(CalendarError) as caught:
        read_subscribers(path)
    lines = {p.line for p in caught.value.problems}
    assert lines == {2, 3, 4}, "each bad address by its line; the good one passes"
    assert "'resident.six@example' is not an email address (local@domain.tld)" in str(caught.value)
    assert [valid_address(e) for e in rows] == [False, False, False, True], "the same verdict the send gives"


def test_an_unknown_audience_is_refused_at_import_with_a_suggestion(tmp_path: Path) -> None:
    from pipeline.workspace import read_subscribers

    path = tmp_path / "subscribers.csv"
    path.write_text(
        "email,audiences,consent_source,consent_date\n"
        "head@school.example.org,headteacher,form,2025-09-01\n"
        "gov@school.example.org,governors;headteachers,form,2025-09-01\n"
    )
    known = {"headteachers", "governors", "residents"}
    with pytest.raises(CalendarError) as caught:
        read_subscribers(path, known)
    (problem,) = caught.value.problems
    assert (
        str(problem)
        == f"{path}:2: audiences: 'headteacher' is not an audience in strategy.yaml: did you mean 'headteachers'?"
    )
    assert len(read_subscribers(path)) == 2, "without a strategy to check against, only the form is checked"
