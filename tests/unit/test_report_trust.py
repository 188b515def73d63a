"""The report says only what its data says: the headline agrees with its tables, no data is not red, a
month not ended is reported to date, the quarterly summary counts no month that has not started, every
sentence is computed, and the chart shows delivery with full labels, a key and its figures as text."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime

import html5lib
import pytest

from content_calendar.calendar import load_calendar
from content_calendar.plan import plan
from pipeline.errors import Invalid
from pipeline.records import OutboxItem
from pipeline.rendering.render import Renderer
from pipeline.reporting.files import render_quarterly_html, render_report_html
from pipeline.reporting.quarterly import QuarterMonth, build_quarterly
from pipeline.reporting.report import MonthData, build_report, rag, report_csv
from pipeline.services.reports import report_text
from tests.conftest import EXAMPLE
from tests.reportdata import AFTER, DURING, LONDON, november


def _doc(html: str):  # type: ignore[no-untyped-def]
    return html5lib.parse(html, namespaceHTMLElements=False)


def _text(node) -> str:  # type: ignore[no-untyped-def]
    return " ".join("".join(node.itertext()).split())


def _by_class(doc, cls: str) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [e for e in doc.iter() if cls in (e.get("class") or "").split()]


def _failures_rows(doc) -> list[list[str]]:  # type: ignore[no-untyped-def]
    region = next(d for d in doc.iter("div") if d.get("aria-labelledby") == "failures-caption")
    return [[_text(td) for td in tr] for tr in region.find("table").find("tbody")]


@pytest.fixture(scope="module")
def after() -> dict:  # type: ignore[type-arg]
    return build_report(november(), AFTER)


@pytest.fixture(scope="module")
def during() -> dict:  # type: ignore[type-arg]
    return build_report(november(), DURING)


# the headline and the tables ---------------------------------------------------------------------
def test_the_headline_counts_what_the_failures_table_lists(after: dict) -> None:  # type: ignore[type-arg]
    s = after["summary"]
    assert (s["due"], s["sent"], s["delivered"], s["partly delivered"]) == (12, 8, 7, 1)
    assert (s["failed"], s["missed"], s["cancelled"], s["not sent"]) == (1, 1, 1, 1)
    assert s["delivered"] + s["partly delivered"] + s["not_delivered"] == s["due"]
    assert s["not_delivered_in_full"] == len(after["failures"]) == 5
    assert [f["status"] for f in after["failures"]] == ["partly delivered", "failed", "missed", "not sent", "cancelled"]
    partly = after["failures"][0]
    assert partly["title"] == "Keeping Thurrock safe" and partly["reason"].startswith("1 of 6 recipients not delivered")
    doc = _doc(render_report_html(Renderer(), after, AFTER))
    kpis = {_text(k.find("b")): _text(k) for k in _by_class(doc, "kpi")}
    assert kpis["5"].startswith("5 sends not delivered in full"), "the headline's number..."
    assert len(_failures_rows(doc)) == 5, "...is the table's rows"
    assert "8 of 12" in kpis and "(1 only partly delivered)" in kpis["8 of 12"]
    assert "0 failed or missed" not in _text(doc)


def test_a_report_with_nothing_wrong_says_so_in_both_places() -> None:
    data = november()
    items = tuple(replace(i, status="sent", reason=None) for i in data.items)
    deliveries = {k: tuple(replace(d, status="sent", last_error=None) for d in v) for k, v in data.deliveries.items()}
    report = build_report(replace(data, items=items, deliveries=deliveries), AFTER)
    assert report["summary"]["not_delivered_in_full"] == len(report["failures"]) == 0
    assert (report["summary"]["sent"], report["summary"]["due"]) == (12, 12)
    doc = _doc(render_report_html(Renderer(), report, AFTER))
    kpis = [_text(k) for k in _by_class(doc, "kpi")]
    assert "0 sends not delivered in full" in kpis[1]
    assert "None: every activity due was delivered to every recipient." in _text(doc)
    partly = {**deliveries, 3: (*deliveries[3][:-1], replace(deliveries[3][-1], status="skipped"))}
    one = build_report(replace(data, items=items, deliveries=partly), AFTER)
    assert [f["status"] for f in one["failures"]] == ["partly delivered"]
    assert one["summary"]["not_delivered_in_full"] == 1 and one["summary"]["sent"] == 12


# no data -----------------------------------------------------------------------------------------
def test_no_data_is_a_state_of_its_own_never_red(after: dict) -> None:  # type: ignore[type-arg]
    assert rag(None, 25) == "nodata" and rag(0, 25) == "red", "a recorded zero is red; no figure is no data"
    six = {o["code"]: o for o in after["objectives"]}["6"]
    opens = next(m for m in six["outcomes"] if m["metric"] == "opens")
    assert opens["actual"] is None and opens["status"] == "nodata"
    five = {o["code"]: o for o in after["objectives"]}["5"]
    assert [m["status"] for m in five["outcomes"]] == ["green", "nodata"] and five["status"] == "green"
    doc = _doc(render_report_html(Renderer(), after, AFTER))
    row = next(tr for tr in doc.iter("tr") if tr.find("th") is not None and _text(tr.find("th")) == "opens")
    assert "No data yet" in _text(row) and _by_class(row, "tag-nodata") and not _by_class(row, "tag-red")
    assert after["summary"]["impressions"] == 9170
    blank = replace(november(), metrics=())
    report = build_report(blank, AFTER)
    assert report["summary"]["impressions"] is None
    assert {o["status"] for o in report["objectives"]} == {"nodata"}, "no figures at all: no objective is red"
    doc = _doc(render_report_html(Renderer(), report, AFTER))
    rated = [t for section in _by_class(doc, "objective") for t in _by_class(section, "tag")]
    assert len(rated) > 6 and not [t for t in rated if "tag-red" in t.get("class")]


# a month not ended -------------------------------------------------------------------------------
def test_a_month_not_ended_is_reported_to_date(during: dict, after: dict) -> None:  # type: ignore[type-arg]
    p = during["period"]
    assert p["to_date"] and p["label"] == "1 to 22 November 2026 (to date)" and (p["elapsed"], p["days"]) == (22, 30)
    assert after["period"]["label"] == "1 to 30 November 2026" and not after["period"]["to_date"]
    assert during["summary"]["due"] == 11 and during["summary"]["to_come"] == 1, "24 November is not due yet"
    assert "cancelled" not in {f["status"] for f in during["failures"]}, "the 24 November post is still to come"
    one = {o["code"]: o for o in during["objectives"]}["1"]
    impressions = next(m for m in one["outcomes"] if m["metric"] == "impressions")
    assert impressions["target"] == 6000 and impressions["target_to_date"] == 4400.0  # 22 of 30 days
    uplift = next(m for m in one["outcomes"] if m["metric"] == "knowledge_uplift")
    assert uplift["target_to_date"] == 0.6, "a share keeps its target"
    html = render_report_html(Renderer(), during, DURING)
    doc = _doc(html)
    notice = _text(_by_class(doc, "notice")[0])
    assert notice.startswith("November 2026 has not ended: this report covers 1 to 22 November 2026 (to date).")
    assert "1 more is planned by 30 November 2026" in notice and "22 of 30 days" in notice
    assert all("(to date)" in _text(h) for h in doc.iter("h2") if "," in _text(h))


def test_a_month_not_started_has_no_report() -> None:
    with pytest.raises(Invalid, match="December 2026 has not started on 22 November 2026"):
        build_report(replace(november(), month="2026-12"), DURING)


def test_every_section_names_its_period(after: dict) -> None:  # type: ignore[type-arg]
    doc = _doc(render_report_html(Renderer(), after, AFTER))
    sections = [_text(h) for h in doc.iter("h2")]
    for name in ("At a glance", "Objectives", "By channel", "By audience", "Gaps", "Not delivered in full"):
        assert f"{name}, 1 to 30 November 2026" in sections
    assert all(_text(c).endswith("1 to 30 November 2026") for c in doc.iter("caption") if "outcome" in _text(c))
    text = report_text(after, after["month"])
    assert text.splitlines()[0].endswith("reach report for 1 to 30 November 2026")
    assert "8 of the 12 planned activities due were sent; 5 not delivered in full." in text
    assert "Objective 5 (Green)" in text and "Objective 6 (Red)" in text


# the quarter -------------------------------------------------------------------------------------
def _october() -> MonthData:
    """October with every planned activity sent."""
    nov = november()
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), nov.strategy)
    planned = tuple(plan(nov.strategy, entries, date(2026, 10, 1), date(2026, 10, 31)))
    template = nov.items[0]
    items = tuple(
        OutboxItem(**{**template.__dict__, "id": 200 + n, "occurrence_key": o.key, "channel": o.channel,
                      "objectives": o.objectives, "audiences": o.audiences, "due_at": o.start, "status": "sent"})
        for n, o in enumerate(planned)
    )  # fmt: skip
    return replace(nov, month="2026-10", months=("2026-08", "2026-09", "2026-10"), planned=planned, items=items,
                   deliveries={})  # fmt: skip


def _quarter(as_of: datetime, written: bool) -> dict:  # type: ignore[type-arg]
    december = {"planned": 9, "planned_by_objective": {"1": 4, "3": 7, "6": 2}}
    months = [
        QuarterMonth("2026-10", build_report(_october(), as_of), report_written=written,
                     report_sent_to=("elected-members",) if written else ()),
        QuarterMonth("2026-11", build_report(november(), as_of)),
        QuarterMonth("2026-12", None, **december),  # type: ignore[arg-type]
    ]  # fmt: skip
    return build_quarterly("2026Q4", months, {"residents": 3, "parents": 2}, 17, as_of)


def test_the_quarter_counts_no_month_not_started_as_not_delivered() -> None:
    q = _quarter(DURING, written=True)
    s = q["summary"]
    assert (s["due"], s["sent"], s["to_come"]) == (8 + 11, 8 + 8, 1 + 9)
    assert q["period"]["label"] == "1 October to 22 November 2026 (to date)"
    assert [m["state"] for m in q["month_rows"]] == ["ended", "to date", "not started"]
    three = {o["code"]: o for o in q["objectives"]}["3"]
    assert three["by_month"][-1] == "notstarted" and three["to_come"] == 7 + 1
    assert {o["status"] for o in q["objectives"]} != {"red"}, "not every objective red for want of December"
    plan_line = q["evidence"]["10.2"][0]
    assert plan_line == (
        "2026Q4: a formal plan of 29 activities against 6 objectives; 16 of the 19 due by 22 November 2026 were sent "
        "(84%); 10 more are planned by 31 December 2026."
    )


def test_the_monthly_reports_sentence_is_computed() -> None:
    written = _quarter(DURING, written=True)["evidence"]["10.2"][1]
    assert written == (
        "1 October to 22 November 2026 (to date): monthly reports against the objectives written by the pipeline "
        "for 1 of the 1 month ended (October 2026); not yet due for November 2026, December 2026, which have not "
        "ended; emailed to Elected members."
    )
    none = _quarter(DURING, written=False)["evidence"]["10.2"][1]
    assert "for 0 of the 1 month ended (none)" in none and "none emailed" in none
    everything = " ".join(line for lines in _quarter(DURING, True)["evidence"].values() for line in lines)
    assert "3 monthly reports" not in everything and ": ." not in everything
    uplift = _quarter(DURING, True)["evidence"]["10.2"][2]
    assert uplift.endswith("knowledge uplift 0.571 (objective 1).")


def test_the_quarterly_html_shows_months_not_started() -> None:
    q = _quarter(DURING, written=True)
    doc = _doc(render_quarterly_html(Renderer(), q, DURING))
    assert "1 October to 22 November 2026 (to date)" in _text(doc.find(".//header"))
    assert _by_class(doc, "tag-notstarted") and not any("Red" in _text(t) for t in _by_class(doc, "tag-notstarted"))
    assert len(_by_class(doc, "bar-row")) == 6


# the chart ---------------------------------------------------------------------------------------
def test_the_chart_shows_delivery_with_full_labels_a_key_and_its_figures_as_text(after: dict) -> None:  # type: ignore[type-arg]
    doc = _doc(render_report_html(Renderer(), after, AFTER))
    (figure,) = [f for f in doc.iter("figure") if "chart" in (f.get("class") or "")]
    rows = _by_class(figure, "bar-row")
    titles = [f"{o['code']}. {o['title']}" for o in after["objectives"]]
    assert [_text(_by_class(r, "bar-label")[0]) for r in rows] == titles, "full labels, never cut"
    assert "2. Identify reactive opportunities and flag for support" in titles
    six = {o["code"]: o for o in after["objectives"]}["6"]
    assert (six["sent"], six["due"], six["status"]) == (2, 2, "red"), "fully delivered, rated red by its outcomes"
    fill = _by_class(rows[5], "bar-fill")[0]
    assert "band-all" in fill.get("class") and fill.get("style") == "width: 100%", "coloured by delivery"
    assert _text(_by_class(rows[5], "bar-value")[0]) == "2 of 2 due sent (100%): all sent"
    assert _text(_by_class(rows[0], "bar-value")[0]) == "3 of 5 due sent (60%): under three quarters sent"
    assert _text(_by_class(rows[3], "bar-value")[0]) == "nothing due"
    assert [_text(li) for li in _by_class(figure, "legend")[0]] == [
        "All sent: 100%",
        "Most sent: 75% to 99%",
        "Under three quarters sent: under 75%",
        "Nothing due: no bar",
    ]
    assert all(t.get("aria-hidden") == "true" for t in _by_class(figure, "bar-track"))
    assert figure.get("aria-labelledby") == "objectives-chart-caption"
    assert doc.find(".//script") is None and "http" not in "".join(e.get("src", "") for e in doc.iter())


def test_print_styles_number_pages_and_repeat_headers(after: dict) -> None:  # type: ignore[type-arg]
    html = render_report_html(Renderer(), after, AFTER)
    style = html.split("<style>")[1].split("</style>")[0]
    assert "size: A4" in style and 'counter(page) " of " counter(pages)' in style
    assert "thead { display: table-header-group; }" in style and "break-inside: avoid" in style
    doc = _doc(html)
    assert all(t.find("thead") is not None for t in doc.iter("table"))


def test_csv_keeps_no_data_apart_and_names_the_period(during: dict) -> None:  # type: ignore[type-arg]
    rows = list(csv.DictReader(io.StringIO(report_csv(during))))
    opens = next(r for r in rows if r["objective"] == "6" and r["metric"] == "opens")
    assert (opens["actual"], opens["status"], opens["target_to_date"]) == ("", "nodata", "18.3")  # 25 x 22/30
    sent = next(r for r in rows if r["objective"] == "6" and r["metric"] == "sent")
    assert sent["target"] == "40" and sent["target_to_date"] == "29.3"
    assert {(r["period_first"], r["period_through"], r["to_date"]) for r in rows} == {
        ("2026-11-01", "2026-11-22", "yes")
    }


def test_as_of_is_read_in_london_time() -> None:
    from datetime import UTC

    just_before_midnight = datetime(2026, 11, 30, 23, 59, tzinfo=LONDON).astimezone(UTC)
    assert build_report(november(), just_before_midnight)["period"]["to_date"]
    assert not build_report(november(), datetime(2026, 12, 1, 0, 0, tzinfo=LONDON))["period"]["to_date"]


def test_the_failures_table_names_no_recipient() -> None:
    data = november()
    newsletter = tuple(
        replace(d, last_error="550 5.1.1 <r4@example.org>: Recipient address rejected") if d.last_error else d
        for d in data.deliveries[3]
    )
    report = build_report(replace(data, deliveries={**data.deliveries, 3: newsletter}), AFTER)
    reason = report["failures"][0]["reason"]
    assert reason == "1 of 6 recipients not delivered: 550 5.1.1 <[an address]>: Recipient address rejected"
    assert "@" not in render_report_html(Renderer(), report, AFTER).split("</style>")[1]
