"""The metrics page: a figure by hand, corrected and removed, and a file imported after a preview, under
the core's rules (codes checked, no silent doubling, a re-import replaces), every change audited."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine
from flask.testing import FlaskClient

from pipeline.app import Pipeline
from pipeline.records import HAND
from pipeline.services.actor import Actor
from pipeline.services.metrics import MetricsService
from tests.conftest import EXAMPLE
from tests.web.items.conftest import csrf_token, field_value
from tests.web.pages.conftest import ROLES, SignIn

BY_HAND = (EXAMPLE / "metrics" / "2026-11-by-hand.csv").read_bytes()


def _figures(team: Pipeline, month: str = "2026-10") -> list[tuple[str, str, float, str]]:
    return [
        (f.objective, f.metric, f.value, f.source) for f in MetricsService.of(team).list(Actor.system(), month=month)
    ]


def _actions(team: Pipeline, prefix: str) -> list[str]:
    entries, _ = team.repos.audit.entries(action=prefix, limit=100)
    return [f"{e.action} by {e.actor}: {e.detail}" for e in entries]


def _add(client: FlaskClient, **values: str) -> str:
    page = client.get("/metrics?month=2026-10").text
    form = {"objective": "6", "metric": "referrals", "month": "2026-10", "value": "3", "channel": "", "audience": ""}
    response = client.post("/metrics/add", data={"csrf_token": csrf_token(page), **form, **values})
    return f"{response.status_code} {response.headers.get('Location', '')} {response.text}"


def test_a_figure_by_hand_is_entered_replaced_not_doubled_and_audited(team: Pipeline, signed_in: SignIn) -> None:
    author = signed_in("author")
    assert _add(author).startswith("302 /metrics?month=2026-10")
    assert _add(author, value="5").startswith("302")
    assert _figures(team) == [("6", "referrals", 5.0, HAND)], "entered again: replaced, never doubled"
    assert _add(author, value="2", add="y").startswith("302")
    assert _figures(team) == [("6", "referrals", 7.0, HAND)], "added to it, when asked"
    page = author.get("/metrics?month=2026-10").text
    assert "referrals" in page and "7" in page and "Figures for 2026-10 (1)" in page
    assert len(_actions(team, "metrics.added")) == 3
    assert all(ROLES["author"] in a for a in _actions(team, "metrics.added"))


def test_a_code_not_in_the_strategy_or_a_bad_value_is_refused_and_nothing_stored(
    team: Pipeline, signed_in: SignIn
) -> None:
    author = signed_in("author")
    unknown = _add(author, objective="99")
    assert unknown.startswith("400") and "Not a valid choice" in unknown
    negative = _add(author, value="-4")
    assert negative.startswith("400") and "a value cannot be negative" in negative.lower()
    month = _add(author, month="2026-13")
    assert month.startswith("400") and "Month must look like 2026-11, not “2026-13”" in month
    assert _figures(team) == []


def test_correct_and_remove_one_figure(team: Pipeline, signed_in: SignIn) -> None:
    author = signed_in("author")
    _add(author, value="3")
    (figure,) = MetricsService.of(team).list(Actor.system(), month="2026-10")
    page = author.get(f"/metrics/{figure.id}").text
    fixed = author.post(f"/metrics/{figure.id}/correct", data={"csrf_token": csrf_token(page), "value": "9"})
    assert fixed.status_code == 302
    assert _figures(team) == [("6", "referrals", 9.0, HAND)]
    assert "3 -> 9" in _actions(team, "metrics.corrected")[0]
    gone = author.post(f"/metrics/{figure.id}/remove", data={"csrf_token": csrf_token(page)})
    assert gone.status_code == 302 and _figures(team) == []
    assert _actions(team, "metrics.removed")
    assert author.get(f"/metrics/{figure.id}").status_code == 404


def test_a_viewer_reads_the_figures_but_changes_none(team: Pipeline, signed_in: SignIn) -> None:
    _add(signed_in("author"))
    (figure,) = MetricsService.of(team).list(Actor.system(), month="2026-10")
    viewer = signed_in("viewer")
    page = viewer.get("/metrics?month=2026-10").text
    assert "referrals" in page and "Save the figure" not in page and "Preview the import" not in page
    token = csrf_token(page)
    for action, data in (
        ("/metrics/add", {"objective": "6", "metric": "referrals", "month": "2026-10", "value": "1"}),
        (f"/metrics/{figure.id}/correct", {"value": "1"}),
        (f"/metrics/{figure.id}/remove", {}),
        ("/metrics/import", {"upload": "0" * 32}),
    ):
        assert viewer.post(action, data={"csrf_token": token, **data}).status_code == 403, action
    assert _figures(team) == [("6", "referrals", 3.0, HAND)]


def _preview(client: FlaskClient, content: bytes, name: str = "2026-11-by-hand.csv") -> tuple[int, str]:
    page = client.get("/metrics").text
    response = client.post(
        "/metrics/import/preview",
        data={
            "import-csrf_token": csrf_token(page),
            "import-format": "generic",
            "import-file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )
    return response.status_code, response.text


def _confirm(client: FlaskClient, preview: str) -> int:
    names = ("csrf_token", "upload", "format", "objective", "channel", "audience", "month")
    data = {name: field_value(preview, name) for name in names}
    return client.post("/metrics/import", data=data).status_code


def test_an_import_is_previewed_without_storing_then_a_reimport_replaces_it(team: Pipeline, signed_in: SignIn) -> None:
    author = signed_in("author")
    status, preview = _preview(author, BY_HAND)
    rows = len(BY_HAND.decode().strip().splitlines()) - 1
    assert status == 200 and f"Import {rows} figures" in preview and "2026-11" in preview
    assert _figures(team, "2026-11") == [], "a preview stores nothing"
    assert _confirm(author, preview) == 302
    stored = _figures(team, "2026-11")
    assert len(stored) == rows
    status, again = _preview(author, BY_HAND)
    assert "It replaces an earlier import" in again and f"Those {rows} figures are removed" in again
    assert _confirm(author, again) == 302
    assert sorted(_figures(team, "2026-11")) == sorted(stored), "imported twice: never doubled"
    assert len(_actions(team, "metrics.imported")) == 2


def test_a_bad_file_is_refused_by_line_and_nothing_is_stored(team: Pipeline, signed_in: SignIn) -> None:
    bad = BY_HAND + b"2026-11-30,,,42,referrals,1\n"
    line = len(bad.decode().strip().splitlines())
    status, page = _preview(signed_in("author"), bad, "wrong.csv")
    assert status == 400
    assert f"wrong.csv:{line}: objective:" in page
    assert "comms-uploads" not in page, "never the folder on the server"
    assert _figures(team, "2026-11") == []


def test_a_month_of_many_figures_lists_the_first_few_hundred(team: Pipeline, signed_in: SignIn) -> None:
    from datetime import date

    from pipeline.records import MetricPoint

    points = [
        MetricPoint(date(2026, 10, 1 + i % 28), "impressions", i, "import:big.csv", objective="1", import_key=f"b{i}")
        for i in range(520)
    ]
    team.repos.metrics.add(points)
    page = signed_in("viewer").get("/metrics?month=2026-10").text
    assert "Figures for 2026-10 (more than 500)" in page and "The first 500 are listed" in page
    assert page.count("data-figure=") == 500


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("2026-13", "Month must look like 2026-11, not “2026-13”"),
        ("abc", "Month must look like 2026-11, not “abc”"),
        ("2026-1", "Month must look like 2026-11, not “2026-1”"),
    ],
)
def test_a_bad_month_in_the_address_lists_this_month_with_the_reason(
    team: Pipeline, signed_in: SignIn, asked: str, message: str
) -> None:
    MetricsService.of(team).add(
        Actor.system(), objective="6", metric="referrals", value=4, month="2026-11", now=datetime.now(UTC)
    )
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        shown = signed_in("viewer").get(f"/metrics?month={asked}")
        absent = signed_in("viewer").get("/metrics")
    page = shown.text
    assert shown.status_code == 400 and "<title>Error: Metrics" in page
    assert f'<li><a href="#filter-month">{message}</a></li>' in page, "in the error summary, linked to its field"
    assert 'id="filter-month-error"' in page and 'name="month" value="2026-11"' in page
    assert "Figures for 2026-11 (1)" in page, "this month's figures, as with no month at all"
    assert absent.status_code == 200 and "Figures for 2026-11 (1)" in absent.text
    assert 'class="error-summary"' not in absent.text
