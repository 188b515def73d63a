"""Figures can be corrected: entering one again replaces it, a re-import of a file replaces what it added
(whatever format it was read with), codes are checked against the strategy, each figure can be listed,
corrected and removed by id, and every change is in the audit log with who made it. On SQLite and
PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from content_calendar.calendar import load_calendar
from content_calendar.errors import CalendarError
from pipeline.errors import Invalid, NotAllowed, NotFound
from pipeline.records import MetricPoint
from pipeline.services.actor import Actor, Role
from pipeline.services.metrics import MetricsService
from pipeline.storage.db import alembic_config, current_revision
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AUTHOR = Actor.cli("sam@thurrock.gov.uk", Role.AUTHOR)
VIEWER = Actor.person("val@thurrock.gov.uk", Role.VIEWER)
FACEBOOK = EXAMPLE / "metrics" / "2026-11-facebook-export.csv"
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def metrics(store: Repositories, strategy) -> MetricsService:  # type: ignore[no-untyped-def]
    store.calendar.import_plan(strategy, load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy), NOW)
    return MetricsService(store.metrics, store.calendar)


def total(store: Repositories, metric: str, **where: str) -> float:
    return sum(
        p.value
        for p in store.metrics.between(*NOVEMBER)
        if p.metric == metric and all(getattr(p, k) == v for k, v in where.items())
    )


def audit(store: Repositories, action: str) -> list[tuple[str, str, str]]:
    entries, _ = store.audit.entries(action=action)
    return [(e.actor, e.target, e.detail) for e in reversed(entries)]


def test_a_figure_entered_twice_is_replaced_not_doubled(store: Repositories, metrics: MetricsService) -> None:
    first = metrics.add(AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW)
    again = metrics.add(AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW)
    assert first.previous is None and again.previous == 3 and again.figure.id == first.figure.id
    assert total(store, "referrals", objective="5") == 3
    more = metrics.add(AUTHOR, objective="5", metric="referrals", value=2, month="2026-11", now=NOW, add=True)
    assert (more.previous, more.figure.value) == (3, 5) and total(store, "referrals", objective="5") == 5
    other = metrics.add(
        AUTHOR, objective="5", metric="referrals", value=1, month="2026-11", now=NOW, audience="elected-members"
    )
    assert other.figure.id != first.figure.id, "another audience is another figure"
    assert total(store, "referrals", objective="5") == 6
    october = metrics.add(AUTHOR, objective="5", metric="referrals", value=7, month="2026-10", now=NOW)
    assert october.previous is None and total(store, "referrals", objective="5") == 6
    details = [d for _a, _t, d in audit(store, "metrics.added")]
    assert [a for a, _t, _d in audit(store, "metrics.added")] == [AUTHOR.name] * 5
    assert details[0].endswith("= 3 (new)") and details[1].endswith("= 3 (was 3; replaced)")
    assert details[2].endswith("= 5 (was 3; added to)")


def test_a_share_cannot_be_added_to_and_stays_between_0_and_1(metrics: MetricsService) -> None:
    with pytest.raises(Invalid, match="share"):
        metrics.add(AUTHOR, objective="1", metric="knowledge_uplift", value=0.2, month="2026-11", now=NOW, add=True)
    with pytest.raises(Invalid, match="from 0 to 1"):
        metrics.add(AUTHOR, objective="1", metric="knowledge_uplift", value=60, month="2026-11", now=NOW)
    with pytest.raises(Invalid, match="negative"):
        metrics.add(AUTHOR, objective="1", metric="impressions", value=-1, month="2026-11", now=NOW)


def test_figures_stored_twice_before_keys_are_folded_into_one(store: Repositories, metrics: MetricsService) -> None:
    doubled = MetricPoint(date(2026, 11, 30), "referrals", 3, "by hand", objective="5")
    store.metrics.add([doubled, doubled])  # how `metrics add` run twice stored it before 0007
    assert total(store, "referrals") == 6
    change = metrics.add(AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW)
    assert change.previous == 6 and change.merged == 1 and total(store, "referrals") == 3
    assert len(metrics.list(VIEWER, metric="referrals")) == 1


@pytest.mark.parametrize(
    ("codes", "field"),
    [
        ({"objective": "9"}, "objective: unknown objective '9'"),
        ({"objective": "5", "audience": "everyone"}, "audience: unknown audience 'everyone'"),
        ({"objective": "5", "channel": "tiktok"}, "channel: unknown channel 'tiktok'"),
        ({"objective": ""}, "objective: a figure by hand needs the objective"),
    ],
)
def test_an_unknown_code_is_refused_naming_its_field(
    store: Repositories, metrics: MetricsService, codes: dict[str, str], field: str
) -> None:
    with pytest.raises(Invalid, match=field):
        metrics.add(AUTHOR, metric="referrals", value=3, month="2026-11", now=NOW, **codes)  # type: ignore[arg-type]
    assert store.metrics.between(*NOVEMBER) == []


def test_codes_need_the_strategy(store: Repositories) -> None:
    with pytest.raises(NotFound, match="calendar import"):
        MetricsService(store.metrics, store.calendar).add(
            AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW
        )


def test_an_import_naming_an_unknown_code_is_refused_line_by_line(
    store: Repositories, metrics: MetricsService, tmp_path: Path
) -> None:
    export = tmp_path / "figures.csv"
    export.write_text(
        "date,channel,audience,objective,metric,value\n"
        "2026-11-30,,,2,community_tension_returns,3\n"
        "2026-11-30,,,9,referrals,1\n"
        "2026-11-30,tiktok,residents,4,page_views,212\n"
    )
    with pytest.raises(CalendarError) as caught:
        metrics.import_file(AUTHOR, export, now=NOW)
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "objective"), (4, "channel")]
    assert store.metrics.between(*NOVEMBER) == [], "all or nothing"
    with pytest.raises(Invalid, match="--audience: unknown audience 'everyone'"):
        metrics.import_file(AUTHOR, FACEBOOK, "facebook", objective="1", audience="everyone", now=NOW)


def test_a_file_imported_with_the_wrong_format_is_put_right_by_importing_it_again(
    store: Repositories, metrics: MetricsService
) -> None:
    wrong = metrics.import_file(AUTHOR, FACEBOOK, "x", objective="1", now=NOW)
    assert total(store, "impressions", channel="x") == 9170 and total(store, "clicks") == 0
    right = metrics.import_file(AUTHOR, FACEBOOK, "facebook", objective="1", now=NOW)
    assert [r.id for r in right.replaced.replaced] == [wrong.import_id]
    assert right.replaced.removed == wrong.figures and not right.replaced.same
    assert total(store, "impressions", channel="x") == 0, "nothing is left from the wrong reading"
    assert total(store, "impressions", channel="facebook") == 9170
    assert total(store, "clicks", channel="facebook") == 107 and total(store, "shares") == 70
    again = metrics.import_file(AUTHOR, FACEBOOK, "facebook", objective="1", now=NOW)
    assert again.replaced.same and total(store, "impressions") == 9170, "importing it again doubles nothing"
    assert [i.id for i in store.metrics.imports()] == [again.import_id]
    logged = audit(store, "metrics.imported")
    ids = (wrong.import_id, right.import_id, again.import_id)
    assert [(a, t) for a, t, _d in logged] == [(AUTHOR.name, f"metrics-import:{i}") for i in ids]
    assert "format=x" in logged[0][2] and f"replaced import #{wrong.import_id}" in logged[1][2]
    assert logged[2][2].endswith("the figures are the same as before")


def test_one_file_name_for_each_month_is_a_new_file_each_month(
    store: Repositories, metrics: MetricsService, tmp_path: Path
) -> None:
    folder_a, folder_b = tmp_path / "oct", tmp_path / "nov"
    folder_a.mkdir(), folder_b.mkdir()
    (folder_a / "insights.csv").write_text("Date,Impressions\n2026-10-09,1000\n")
    (folder_b / "insights.csv").write_text("Date,Impressions\n2026-11-09,2000\n")
    metrics.import_file(AUTHOR, folder_a / "insights.csv", "facebook", objective="1", now=NOW)
    november = metrics.import_file(AUTHOR, folder_b / "insights.csv", "facebook", objective="1", now=NOW)
    assert november.replaced.replaced == (), "October's export under the same name is kept"
    assert len(store.metrics.imports()) == 2
    (folder_b / "insights.csv").write_text("Date,Impressions\n2026-11-09,2500\n")  # a corrected export
    corrected = metrics.import_file(AUTHOR, folder_b / "insights.csv", "facebook", objective="1", now=NOW)
    assert [r.id for r in corrected.replaced.replaced] == [november.import_id]
    assert total(store, "impressions") == 2500
    assert sum(f.value for f in metrics.list(VIEWER, month="2026-10")) == 1000


def test_the_same_content_under_another_name_replaces_the_first(
    store: Repositories, metrics: MetricsService, tmp_path: Path
) -> None:
    first = metrics.import_file(AUTHOR, FACEBOOK, "facebook", objective="1", now=NOW)
    copy = tmp_path / "facebook (1).csv"
    shutil.copy(FACEBOOK, copy)
    second = metrics.import_file(AUTHOR, copy, "facebook", objective="1", now=NOW)
    assert [r.id for r in second.replaced.replaced] == [first.import_id]
    assert total(store, "impressions") == 9170


def test_figures_imported_before_imports_were_recorded_are_replaced(
    store: Repositories, metrics: MetricsService
) -> None:
    from pipeline.reporting.imports import BUILT_IN, read_import

    store.metrics.add(read_import(FACEBOOK, BUILT_IN["x"], objective="1"))  # as 0006 (and the demo) stored it
    done = metrics.import_file(AUTHOR, FACEBOOK, "facebook", objective="1", now=NOW)
    assert done.replaced.removed == 8 and done.replaced.replaced == ()
    assert total(store, "impressions") == 9170 and total(store, "impressions", channel="x") == 0


def test_feedback_forms_count_towards_the_objective_with_an_uplift_target(
    store: Repositories, metrics: MetricsService
) -> None:
    forms = EXAMPLE / "metrics" / "2026-11-faith-forum-feedback.csv"
    metrics.import_file(AUTHOR, forms, "feedback", now=NOW)
    assert {f.objective for f in metrics.list(VIEWER, source=forms.name)} == {"1"}
    with pytest.raises(Invalid, match="--objective: unknown objective '12'"):
        metrics.import_file(AUTHOR, forms, "feedback", objective="12", now=NOW)


def test_list_correct_and_remove_by_id(store: Repositories, metrics: MetricsService) -> None:
    metrics.import_file(AUTHOR, FACEBOOK, "facebook", objective="1", now=NOW)
    hand = metrics.add(AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW).figure
    assert len(metrics.list(VIEWER)) == 17
    assert [f.id for f in metrics.list(VIEWER, objective="5")] == [hand.id]
    assert len(metrics.list(VIEWER, metric="impressions")) == 4
    assert len(metrics.list(VIEWER, source=FACEBOOK.name)) == 16
    assert len(metrics.list(VIEWER, source="by hand")) == 1
    assert metrics.list(VIEWER, month="2026-10") == []
    first = metrics.list(VIEWER, metric="impressions")[0]
    corrected = metrics.correct(AUTHOR, first.id, 2500, NOW)
    assert (corrected.previous, corrected.figure.value) == (2410, 2500)
    assert total(store, "impressions") == 9170 + 90
    assert metrics.list(VIEWER, metric="impressions")[0].recorded_by == AUTHOR.name
    metrics.remove(AUTHOR, hand.id, NOW)
    assert metrics.list(VIEWER, objective="5") == []
    with pytest.raises(NotFound, match=f"no figure #{hand.id}"):
        metrics.correct(AUTHOR, hand.id, 1, NOW)
    with pytest.raises(NotFound):
        metrics.remove(AUTHOR, hand.id, NOW)
    assert audit(store, "metrics.corrected") == [
        (AUTHOR.name, f"metric:{first.id}", f"objective 1 impressions [facebook], 2026-11 (import:{FACEBOOK.name}): "
                                            "2410 -> 2500")
    ]  # fmt: skip
    assert audit(store, "metrics.removed") == [
        (AUTHOR.name, f"metric:{hand.id}", "objective 5 referrals, 2026-11 (by hand) = 3")
    ]
    again = metrics.add(AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW).figure
    assert again.id > hand.id, "a removed figure's id is never given to another"


def test_the_pipelines_own_counts_are_not_changed_by_hand(store: Repositories, metrics: MetricsService) -> None:
    store.metrics.add([MetricPoint(date(2026, 11, 5), "sent", 40, "pipeline", objective="6", import_key="p:1")])
    (sent,) = metrics.list(VIEWER, source="pipeline")
    with pytest.raises(Invalid, match="delivery records"):
        metrics.correct(AUTHOR, sent.id, 41, NOW)
    with pytest.raises(Invalid, match="delivery records"):
        metrics.remove(AUTHOR, sent.id, NOW)


def test_changes_need_the_plan_permission_and_listing_needs_view(metrics: MetricsService) -> None:
    with pytest.raises(NotAllowed, match="viewer"):
        metrics.add(VIEWER, objective="5", metric="referrals", value=3, month="2026-11", now=NOW)
    with pytest.raises(NotAllowed):
        metrics.import_file(VIEWER, FACEBOOK, "facebook", objective="1", now=NOW)
    figure = metrics.add(AUTHOR, objective="5", metric="referrals", value=3, month="2026-11", now=NOW).figure
    with pytest.raises(NotAllowed):
        metrics.correct(VIEWER, figure.id, 1, NOW)
    with pytest.raises(NotAllowed):
        metrics.remove(VIEWER, figure.id, NOW)
    assert [f.id for f in metrics.list(VIEWER)] == [figure.id]


def test_the_migration_goes_down_and_up_again(store: Repositories) -> None:
    store.metrics.add([MetricPoint(date(2026, 11, 5), "impressions", 10, "import:x.csv", import_key="k")])
    cfg = alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
        assert current_revision(conn) == "0006"
        command.upgrade(cfg, "0007")
        assert current_revision(conn) == "0007"
        command.upgrade(cfg, "head")
    with store.engine.connect() as conn:
        assert conn.execute(text("select value from metrics")).scalar_one() == 10


def test_the_command_line_says_what_it_replaced_and_lists_corrects_and_removes(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from pipeline.cli import main

    add = ["metrics", "add", "--objective", "6", "--metric", "referrals", "--value", "3", "--month", "2026-11"]
    assert main(["calendar", "import"]) == 0
    assert main(add) == 0 and main(add) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "recorded objective 6 referrals, 2026-11 (by hand) = 3 (figure #1)"
    assert out[-1].startswith("replaced objective 6 referrals, 2026-11 (by hand): 3 -> 3 (figure #1)")
    assert main([*add[:-4], "--value", "2", "--month", "2026-11", "--add"]) == 0
    assert "3 -> 5" in capsys.readouterr().out
    assert main(["report", "--month", "2026-11", "--format", "json", "--at", "2026-12-01T09:00"]) == 0
    report = json.loads(capsys.readouterr().out)
    six = next(o for o in report["objectives"] if o["code"] == "6")
    assert next(m for m in six["outcomes"] if m["metric"] == "referrals")["actual"] == 5
    assert main(["metrics", "list", "--objective", "6", "--month", "2026-11"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:3] == ["ID", "DAY", "OBJ"] and listed[-1] == "1 figure(s)"
    assert listed[1].split()[:5] == ["1", "2026-11-30", "6", "referrals", "5"]
    assert main(["metrics", "correct", "1", "--value", "4"]) == 0
    assert capsys.readouterr().out == "corrected figure #1, objective 6 referrals, 2026-11 (by hand): 5 -> 4\n"
    assert main(["metrics", "remove", "1"]) == 0
    assert main(["metrics", "remove", "1"]) == 2
    assert "no figure #1" in capsys.readouterr().err
    assert main([*add[:2], "--objective", "9", *add[4:]]) == 2
    assert "objective: unknown objective '9'" in capsys.readouterr().err
