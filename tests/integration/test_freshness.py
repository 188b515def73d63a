"""Freshness (issue 15): an edition carries what is new to its list, and says so when nothing is.

Run on the Thurrock example with real SQLite, the real composer (MJML) and, for the first test, the whole
demo for November then December 2026 on one database.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.app import Pipeline, make_pipeline
from pipeline.cli import main
from pipeline.demo import run_demo
from pipeline.records import FeedSpec, NationalMessage
from pipeline.settings import Settings
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE
from tests.web.people import add_user, client_as, close, make_app, text, web_settings

GOVUK = "https://www.gov.uk/government/news/"


def _links(inputs: dict[str, Any]) -> set[str]:
    return {m["link"] for m in inputs["national"]} | {s["title"] for s in inputs["stories"]}


def test_december_newsletter_reuses_none_of_novembers_links(tmp_path: Path) -> None:
    """The issue's finding: the demo run through November and December 2026 on one database."""
    for month in ("2026-11", "2026-12"):
        run_demo(month, tmp_path / "demo", workspace=EXAMPLE, echo=lambda _line: None)
    db = sqlite3.connect(tmp_path / "demo" / "comms.db")
    rows = db.execute(
        "SELECT occurrence_key, inputs FROM editions WHERE entry_id = 'resident-newsletter' ORDER BY composed_at"
    ).fetchall()
    db.close()
    editions = {key: json.loads(inputs) for key, inputs in rows}
    november, december = editions["resident-newsletter@2026-11-03"], editions["resident-newsletter@2026-12-01"]
    assert len(_links(november)) == 7
    assert _links(november) & _links(december) == set(), "December repeats what November sent"
    assert december["freshness"]["repeats_left_out"] >= 1  # the Walk Online story, sent in November


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the example that a test may change."""
    root = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, root)
    return root


def _set_fields(workspace: Path, entry: str, **fields: str) -> None:
    """Set calendar fields of one entry in the copied example's CSV (new columns are added)."""
    path = workspace / "calendar" / "2026-27.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    for name in fields:
        if name not in header:
            header.append(name)
    out = [",".join(header)]
    for line in lines[1:]:
        cells = _cells(line)
        cells += [""] * (len(header) - len(cells))
        if cells[0] == entry:
            for name, value in fields.items():
                cells[header.index(name)] = value
        out.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _cells(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


@pytest.fixture
def fresh(settings: Settings, workspace: Path) -> Iterator[Pipeline]:
    p = make_pipeline(settings.model_copy(update={"workspace": workspace}))
    yield p
    p.repos.engine.dispose()


def _start(p: Pipeline, now: datetime) -> int:
    p.import_plan(now=now)
    p.import_subscribers()
    p.repos.feeds.upsert([FeedSpec(f"{GOVUK}feed.atom", "GOV.UK", audiences=("residents", "educators"))])
    return p.repos.feeds.all()[0].id


def _message(p: Pipeline, feed: int, slug: str, published: date, seen: datetime, audience: str) -> None:
    msg = NationalMessage(
        slug,
        f"{GOVUK}{slug}",
        slug.replace("-", " ").capitalize(),
        f"<p>About {slug}.</p>",
        datetime.combine(published, time(9), tzinfo=UTC),
        slug,
        ("3", "6"),
        (audience,),
    )
    p.repos.feeds.save_messages(feed, [(slug, msg)], seen)


def _compose(p: Pipeline, entry: str, issue: str, on: str) -> dict[str, Any]:
    """The entry's edition for `issue`, composed late on the day `on`."""
    at = datetime.combine(date.fromisoformat(on), time(23, 0), tzinfo=p.settings.tz)
    p.compose(at, entry=entry)
    edition = next(e for e in p.repos.outbox.editions() if e.occurrence_key == f"{entry}@{issue}")
    assert edition.status == "composed", edition.problems
    return p.repos.outbox.edition_inputs(edition.id)


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(6), tzinfo=UTC)


def test_national_messages_older_than_the_window_are_left_out(fresh: Pipeline) -> None:
    """A feed added in mid-November brings items published in October: December leaves them out."""
    feed = _start(fresh, _at("2026-10-20"))
    _message(fresh, feed, "october-news", date(2026, 10, 25), _at("2026-10-29"), "residents")
    november = _compose(fresh, "resident-newsletter", "2026-11-03", on="2026-10-31")
    assert {m["link"] for m in november["national"]} == {f"{GOVUK}october-news"}
    _message(fresh, feed, "late-october-item", date(2026, 10, 20), _at("2026-11-20"), "residents")
    _message(fresh, feed, "november-news", date(2026, 11, 24), _at("2026-11-25"), "residents")
    december = _compose(fresh, "resident-newsletter", "2026-12-01", on="2026-11-28")
    assert [m["link"] for m in december["national"]] == [f"{GOVUK}november-news"]
    assert december["freshness"]["old_left_out"] == 1
    assert december["freshness"]["window_start"] == "2026-10-31"  # since the last edition


def test_what_the_list_had_is_not_repeated_unless_pinned(fresh: Pipeline, workspace: Path) -> None:
    """The termly risk briefing (5 January 2027) and the headteacher bulletin (7 January) share one
    list: the bulletin does not repeat the briefing's message, until the calendar pins it."""
    feed = _start(fresh, _at("2026-12-20"))
    _message(fresh, feed, "new-year-guidance", date(2027, 1, 2), _at("2027-01-02"), "educators")
    briefing = _compose(fresh, "termly-risk-briefing", "2027-01-05", on="2027-01-03")
    assert {m["link"] for m in briefing["national"]} == {f"{GOVUK}new-year-guidance"}
    bulletin = _compose(fresh, "headteacher-bulletin", "2027-01-07", on="2027-01-05")
    assert bulletin["national"] == []
    assert bulletin["freshness"]["repeats_left_out"] == 1
    _set_fields(workspace, "headteacher-bulletin", pin=f"{GOVUK}new-year-guidance")
    fresh.import_plan(now=_at("2027-01-06"))
    pinned = _compose(fresh, "headteacher-bulletin", "2027-02-04", on="2027-02-02")
    assert [m["link"] for m in pinned["national"]] == [f"{GOVUK}new-year-guidance"]
    assert pinned["freshness"]["pinned"] == 1 and pinned["freshness"]["new"] == 0


def test_an_edition_with_nothing_new_says_so_and_waits_for_a_person(
    fresh: Pipeline,
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.rmtree(workspace / "stories")
    _set_fields(workspace, "resident-newsletter", approval="auto")
    feed = _start(fresh, _at("2026-10-20"))
    _message(fresh, feed, "october-news", date(2026, 10, 25), _at("2026-10-29"), "residents")
    november = _compose(fresh, "resident-newsletter", "2026-11-03", on="2026-10-31")
    assert november["freshness"]["new"] == 1
    december = _compose(fresh, "resident-newsletter", "2026-12-01", on="2026-11-28")
    assert december["national"] == [] and december["stories"] == []
    items = {i.occurrence_key: i for i in fresh.repos.outbox.items()}
    assert items["resident-newsletter@2026-11-03"].status == "approved"  # auto, and new
    held = items["resident-newsletter@2026-12-01"]
    assert held.status == "awaiting_approval", "nothing new: a person decides, auto or not"
    notice = "Nothing new since the last edition (31 October 2026)"

    monkeypatch.setenv("COMMS_DATABASE_URL", fresh.settings.database_url)
    monkeypatch.setenv("COMMS_WORKSPACE", str(workspace))
    monkeypatch.setenv("COMMS_SECRET_KEY", "test-secret")
    assert main(["queue", "show", str(held.id)]) == 0
    shown = capsys.readouterr().out
    assert f"notice: {notice}" in shown
    assert main(["queue", "show", str(items["resident-newsletter@2026-11-03"].id)]) == 0
    assert "notice:" not in capsys.readouterr().out
    assert main(["preview", "resident-newsletter", "--for", "2026-12-01", "--out", str(tmp_path / "p")]) == 0
    assert f"notice: {notice}" in capsys.readouterr().out

    app = make_app(web_settings(tmp_path, workspace=workspace))
    try:
        add_user(app, "viewer@council.example.gov.uk", "viewer")
        page = text(client_as(app, "viewer").get(f"/items/{held.id}"))
        assert notice in page and 'id="stale-title"' in page
    finally:
        close(app)


def test_a_lists_history_on_sqlite_and_postgresql(store: Repositories) -> None:
    """What a list had: its editions since a moment, other than this occurrence, not cancelled or missed."""
    at = datetime(2026, 11, 1, 9, tzinfo=UTC)
    for n, (channel, status) in enumerate(
        [("resident-newsletter", "sent"), ("resident-newsletter", "cancelled"), ("headteacher-bulletin", "sent")]
    ):
        key = f"e{n}@2026-11-0{n + 1}"
        edition = store.outbox.save_edition(
            occurrence_key=key,
            entry_id=f"e{n}",
            channel=channel,
            template="resident_newsletter",
            status="composed",
            subject="S",
            preheader="P",
            html="<p>H</p>",
            text="T",
            inputs={"national": [{"id": n, "link": f"{GOVUK}{n}"}], "stories": []},
            problems=[],
            composed_at=at + timedelta(days=n),
        )
        store.outbox.add_item(
            at,
            occurrence_key=key,
            entry_id=f"e{n}",
            channel=channel,
            kind="email",
            title="T",
            body="T",
            edition_id=edition.id,
            audiences=["residents"],
            objectives=["1"],
            due_at=at,
            approval="required",
            status=status,
        )
    history = store.outbox.list_history("resident-newsletter", "this@2026-12-01", at)
    assert [h["national"][0]["id"] for h in history] == [0]  # e1 was cancelled; e2 is another list
    assert store.outbox.list_history("resident-newsletter", "e0@2026-11-01", at) == []
    assert store.outbox.list_history("resident-newsletter", "this@2026-12-01", at + timedelta(hours=1)) == []
