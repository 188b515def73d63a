"""A calendar uploaded from the workspace: problems by line, or a difference against the stored plan;
applied all or nothing, bound to the plan it was compared with; downloaded as CSV for Excel."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from content_calendar.export import to_csv
from pipeline.app import Pipeline, make_pipeline
from pipeline.errors import Invalid, NotAllowed, NotFound, PlanChanged
from pipeline.services.actor import Actor, ActorKind, Role
from pipeline.services.plan_upload import PlanUpload
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AUTHOR = Actor("ola@thurrock.gov.uk", ActorKind.PERSON, Role.AUTHOR)


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline on a copy of the example workspace, whose calendar files an upload replaces."""
    shutil.copytree(EXAMPLE, tmp_path / "ws")
    settings = load_settings(
        environ={},
        env_file=None,
        database_url=f"sqlite:///{tmp_path / 'comms.db'}",
        workspace=tmp_path / "ws",
        secret_key="t",
    )
    p = make_pipeline(settings)
    p.import_plan(now=NOW)
    yield p
    p.repos.engine.dispose()


def _files(ws: Path) -> list[Path]:
    return sorted(p for p in (ws / "calendar").iterdir() if p.suffix in (".csv", ".yaml"))


def _current_csv(p: Pipeline) -> str:
    return to_csv(p.repos.calendar.entries()).decode("utf-8-sig")


def _edited(text: str) -> bytes:
    """Remove one entry, add one, change the time of another."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], [r for r in rows[1:] if r[0] != "website-review"]
    at = header.index("time")
    for r in body:
        if r[0] == "x-fortnightly":
            r[at] = "14:30"
    new = dict.fromkeys(header, "")
    new |= {"id": "carers-week", "title": "Carers Week", "channel": "facebook", "audiences": "residents"}
    new |= {"objectives": "1", "start_date": "2027-01-12", "time": "11:00"}
    out = io.StringIO()
    csv.writer(out).writerows([header, *body, [new[h] for h in header]])
    return out.getvalue().encode()


def test_problems_are_shown_by_file_line_and_field(own: Pipeline) -> None:
    bad = b"id,title,channel,objectives,start_date,time\nx,T,facebook,9,2026-11-03,09:00\ny,U,nope,1,2026-11-03,01:30\n"
    upload = PlanUpload.of(own).check(AUTHOR, "../../My calendar.csv", bad, NOW)
    shown = [str(p) for p in upload.problems]
    assert "My calendar.csv:2: objectives: unknown objective '9' (the strategy has: 1, 2, 3, 4, 5, 6)" in shown
    assert any(s.startswith("My calendar.csv:3: channel: unknown channel 'nope'") for s in shown)
    assert any(s.startswith("My calendar.csv:3: time:") for s in shown)
    assert upload.difference is None
    with pytest.raises(Invalid, match="CSV or YAML"):
        PlanUpload.of(own).check(AUTHOR, "calendar.xlsx", b"PK", NOW)


def test_the_difference_and_its_application(own: Pipeline) -> None:
    ws = own.workspace.root
    before = sorted(p.name for p in _files(ws))
    upload = PlanUpload.of(own).check(AUTHOR, "2026-27.csv", _edited(_current_csv(own)), NOW)
    assert upload.ok, upload.problems
    diff = upload.difference
    assert diff is not None
    assert [e.id for e in diff.added] == ["carers-week"] and [e.id for e in diff.removed] == ["website-review"]
    assert [(c.id, c.fields) for c in diff.changed] == [("x-fortnightly", ("at",))]
    moves = {m.key: (m.before, m.after) for m in diff.moves}
    assert moves["x-fortnightly@2026-12-08"] == (
        datetime(2026, 12, 8, 12, 30, tzinfo=UTC),
        datetime(2026, 12, 8, 14, 30, tzinfo=UTC),
    )
    assert moves["carers-week@2027-01-12"][0] is None and moves["website-review@2026-12-21"][1] is None
    applied = PlanUpload.of(own).apply(AUTHOR, upload.token, upload.base, NOW)
    assert {e.id for e in own.repos.calendar.entries()} >= {"carers-week"}
    assert "website-review" not in {e.id for e in own.repos.calendar.entries()}
    assert sorted(p.name for p in _files(ws)) == ["2026-27.csv"]
    (archive,) = (ws / "calendar" / "replaced").iterdir()
    assert sorted(p.name for p in archive.iterdir()) == before == sorted(applied.replaced)
    entries, _ = own.repos.audit.entries(action="plan.imported", limit=1)
    assert entries[0].detail == "uploaded 2026-27.csv: 13 entries (1 added, 1 removed, 1 changed)"
    with pytest.raises(NotFound, match="upload the file again"):
        PlanUpload.of(own).apply(AUTHOR, upload.token, upload.base, NOW)


def test_apply_refuses_when_the_stored_plan_changed_and_changes_nothing(own: Pipeline) -> None:
    ws = own.workspace.root
    files = {p.name: p.read_bytes() for p in _files(ws)}
    upload = PlanUpload.of(own).check(AUTHOR, "next.csv", _edited(_current_csv(own)), NOW)
    # meanwhile someone imports a different plan
    other = ws / "other.csv"
    other.write_text("\n".join(_current_csv(own).splitlines()[:4]), encoding="utf-8")
    own.import_plan([other], now=NOW)
    other.unlink()
    stored = [e.id for e in own.repos.calendar.entries()]
    with pytest.raises(PlanChanged, match="upload the file again"):
        PlanUpload.of(own).apply(AUTHOR, upload.token, upload.base, NOW)
    assert [e.id for e in own.repos.calendar.entries()] == stored
    assert {p.name: p.read_bytes() for p in _files(ws)} == files
    assert not (ws / "calendar" / "replaced").exists()
    with pytest.raises(NotAllowed):
        PlanUpload.of(own).apply(Actor("v", ActorKind.PERSON, Role.VIEWER), upload.token, upload.base, NOW)


def test_the_csv_download_opens_in_excel_and_uploads_unchanged(own: Pipeline) -> None:
    entries = own.repos.calendar.entries()
    body = to_csv(entries)
    assert body.startswith(b"\xef\xbb\xbf") and b"\r\n" in body
    text = body.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(entries)
    # downloaded and uploaded again, nothing changes
    upload = PlanUpload.of(own).check(AUTHOR, "same.csv", body, NOW)
    assert upload.ok and upload.difference is not None and upload.difference.empty
    # a title a spreadsheet would run as a formula is written as text, and reads back as it was typed
    risky = [replace(e, title="=HYPERLINK(1)") if e.id == "resident-newsletter" else e for e in entries]
    guarded = to_csv(risky)
    assert b",'=HYPERLINK(1)," in guarded and b",=HYPERLINK" not in guarded
    upload = PlanUpload.of(own).check(AUTHOR, "risky.csv", guarded, NOW)
    assert upload.ok and upload.difference is not None
    assert [(c.id, c.fields) for c in upload.difference.changed] == [("resident-newsletter", ("title",))]
    assert upload.difference.changed[0].title == "=HYPERLINK(1)"
    # every field goes round: pins, the edition's window, the collision choice
    fuller = [
        replace(e, pin=("https://www.gov.uk/prevent",), window_days=14, on_collision="merge")
        if e.id == "resident-newsletter"
        else e
        for e in entries
    ]
    upload = PlanUpload.of(own).check(AUTHOR, "fuller.csv", to_csv(fuller), NOW)
    assert upload.ok, upload.problems
    assert upload.difference is not None
    assert [(c.id, c.fields) for c in upload.difference.changed] == [
        ("resident-newsletter", ("pin", "window_days", "on_collision"))
    ]
