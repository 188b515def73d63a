"""The measure job against local stand-ins of each API: the posts the pipeline published are measured
through the adapters that published them, a later pull replaces the figures of an earlier one, a
channel's fault is recorded against it while the others are measured, a deleted post keeps its last
figures, GA4 gives the web page's page views and downloads, and `comms metrics pull`, `comms channels
list` and `comms status` say what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from channels.measure import Patience
from pipeline.app import Pipeline, make_pipeline
from pipeline.jobs.measure import measure
from pipeline.records import MEASURED
from pipeline.settings import Settings
from tests.fakes import FakeEntra, FakeVivaEngage, FakeWordPress, ok
from tests.httpserver import http_server
from tests.measure_fakes import HTML, FakeGoogle, MeasuringFacebook, MeasuringX

GMT = UTC
PULL = datetime(2026, 11, 20, 6, 30, tzinfo=GMT)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def service_account(tmp_path: Path) -> tuple[Path, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "ga4-key.json"
    path.write_text(json.dumps({"type": "service_account", "client_email": FakeGoogle.EMAIL, "private_key": pem}))
    return path, key.public_key()


def live_settings(settings: Settings, server_url: str, key_file: Path, entra: FakeEntra) -> dict[str, Any]:
    return {
        **settings.__dict__,
        "file_channels": (),
        "facebook_page_id": MeasuringFacebook.PAGE,
        "facebook_page_token": MeasuringFacebook.TOKEN,
        "facebook_graph_url": server_url + "/v21.0",
        "x_token": MeasuringX.TOKEN,
        "x_api_url": server_url,
        "microsoft_tenant_id": entra.TENANT,
        "microsoft_client_id": entra.CLIENT,
        "microsoft_client_secret": entra.SECRET,
        "microsoft_login_url": server_url,
        "viva_engage_group_id": FakeVivaEngage.GROUP,
        "viva_engage_api_url": server_url,
        "wordpress_url": server_url,
        "wordpress_username": FakeWordPress.USER,
        "wordpress_app_password": FakeWordPress.APP_PASSWORD,
        "ga4_property_id": FakeGoogle.PROPERTY,
        "ga4_page_paths": ("/prevent", "/prevent/leaflet"),
        "ga4_credentials_file": str(key_file),
        "ga4_token_url": server_url + "/token",
        "ga4_api_url": server_url,
        "ga4_objective": "4",
    }


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[tuple[Pipeline, dict[str, Any]]]:
    key_file, public = service_account(tmp_path)
    with http_server() as server:
        entra = FakeEntra(server)
        fakes: dict[str, Any] = {
            "facebook": MeasuringFacebook(server),
            "x": MeasuringX(server),
            "intranet": FakeVivaEngage(server, entra),
            "website": FakeWordPress(server),
            "ga4": FakeGoogle(server, public),
        }
        fakes["ga4"].rows = {
            ("202610", "/prevent", "page_view"): 300,
            ("202611", "/prevent", "page_view"): 120,
            ("202611", "/prevent/leaflet", "page_view"): 30,
            ("202611", "/prevent", "file_download"): 15,
            ("202611", "/elsewhere", "page_view"): 999,  # not a configured page
            ("202610", "/prevent", "file_download"): 20,
        }
        p = make_pipeline(Settings(**live_settings(settings, server.url, key_file, entra)))
        publish_to_the_17th(p)
        yield p, fakes
        p.repos.engine.dispose()


def publish_to_the_17th(p: Pipeline) -> None:
    """Facebook on 5, 9 and 17 November, X on 10 November, the intranet on 2 November."""
    p.import_plan(now=datetime(2026, 10, 30, 9, 0, tzinfo=GMT))
    for day in range(1, 18):
        morning = datetime(2026, 11, day, 9, 0, tzinfo=GMT)
        p.compose(morning)
        for item in p.repos.outbox.items(status="awaiting_approval"):
            p.repos.outbox.transition(item.id, "approved", morning, by="Communications Manager")
        for hour in (9, 11, 12, 13, 19):
            p.dispatch(datetime(2026, 11, day, hour, 35, tzinfo=GMT))


def api_figures(p: Pipeline, channel: str) -> dict[tuple[str, str, str], float]:
    return {
        (f.item_ref, f.objective, f.metric): f.value
        for f in p.repos.metrics.figures(source=MEASURED)
        if f.channel == channel
    }


def test_each_channel_is_measured_and_a_later_pull_replaces_the_figures(live: tuple[Pipeline, Any]) -> None:
    p, fakes = live
    facebook = fakes["facebook"]
    assert len(facebook.posts) == 3 and len(fakes["x"].tweets) == 1
    outcome = measure(p, PULL, since=date(2026, 10, 1))
    assert outcome.failures == ()
    assert outcome.counts["channels"] == 3  # facebook, x and the web page; the intranet is import only
    assert outcome.counts["posts"] == 3 + 1 + 2  # two months of GA4
    first = api_figures(p, "facebook")
    # each post's four figures, once per objective it serves (5th and 9th: 1 and 3; 17th: 3)
    assert len(first) == 4 * (2 + 2 + 1)
    parents = next(x for x in facebook.posts if "Anti-Bullying" in x["message"])["id"]
    facebook.counts[parents] = {"impressions": 5000, "clicks": 80, "likes": 40}
    measure(p, PULL + timedelta(days=1), since=date(2026, 10, 1))
    later = api_figures(p, "facebook")
    assert later[(f"outbox:{_item(p, 'parents-online-safety')} {parents}", "3", "impressions")] == 5000
    assert len(later) == len(first), "replaced, not added"
    totals: dict[tuple[str, str, str], float] = {}
    for t in p.repos.metrics.totals(*NOVEMBER):  # summed over audiences
        totals[(t.channel, t.objective, t.metric)] = totals.get((t.channel, t.objective, t.metric), 0) + t.value
    expected = sum(
        (facebook.counts.get(x["id"]) or {"impressions": 100 + sum(map(ord, x["id"])) % 50})["impressions"]
        for x in facebook.posts
    )
    assert totals[("facebook", "3", "impressions")] == expected
    # the web page: page views and downloads of the configured paths, per month, for objective 4
    assert totals[("website", "4", "page_views")] == 150 and totals[("website", "4", "downloads")] == 15
    assert fakes["ga4"].calls >= 2, "the rows came in pages"


def _item(p: Pipeline, entry: str) -> int:
    return next(i.id for i in p.repos.outbox.items() if i.entry_id == entry)


def test_a_failing_channel_is_recorded_and_the_others_are_measured(live: tuple[Pipeline, Any]) -> None:
    p, fakes = live
    measure(p, PULL)
    fakes["facebook"].TOKEN = "rotated"  # the Page token expired
    fakes["x"].fault_next(ok({"title": "Too Many Requests"}, 429, {"Retry-After": "12"}))
    waited: list[float] = []
    later = PULL + timedelta(days=1)
    outcome = measure(p, later, patience=Patience(sleep=waited.append))
    assert waited == [12.0]
    [failure] = outcome.failures
    assert failure.startswith("facebook: ") and "COMMS_FACEBOOK_PAGE_TOKEN" in failure
    assert "page-token" not in failure
    states = {s.channel: s for s in p.repos.measures.pull_states()}
    assert states["facebook"].last_success_at == PULL and states["facebook"].last_attempt_at == later
    assert states["x"].last_success_at == later and states["x"].last_error == ""
    assert api_figures(p, "facebook"), "the earlier figures are kept"


def test_an_html_answer_and_a_deleted_post_are_said_against_their_channel(live: tuple[Pipeline, Any]) -> None:
    p, fakes = live
    measure(p, PULL)
    for _ in range(4):
        fakes["x"].fault_next(HTML)
    gone = fakes["facebook"].posts[0]["id"]
    fakes["facebook"].deleted.add(gone)
    outcome = measure(p, PULL + timedelta(days=1), patience=Patience(sleep=lambda s: None))
    assert any("x: answered with an HTML page instead of JSON" in f for f in outcome.failures)
    assert outcome.counts["gone"] == 1
    kept = [f for f in p.repos.metrics.figures(source=MEASURED) if f.item_ref.endswith(f" {gone}")]
    assert kept and all(f.gone_at == PULL + timedelta(days=1) and f.value > 0 for f in kept)
    report = p.report("2026-11", datetime(2026, 11, 23, 9, 0, tzinfo=GMT))
    three = next(o for o in report["objectives"] if o["code"] == "3")
    texts = [s["text"] for m in three["outcomes"] for s in m["sources"]]
    assert any("since deleted at the source" in t for t in texts), texts


def test_a_ga4_report_that_ends_early_stores_nothing_of_it(live: tuple[Pipeline, Any]) -> None:
    p, fakes = live
    fakes["ga4"].stop_after = 3
    outcome = measure(p, PULL, since=date(2026, 10, 1), only="website")
    assert any("ended after 3 of its 4 rows" in f for f in outcome.failures)
    assert api_figures(p, "website") == {}
    [state] = [s for s in p.repos.measures.pull_states() if s.channel == "website"]
    assert state.last_success_at is None and "ended after" in state.last_error


def test_the_command_line_pulls_lists_and_shows_the_last_pull(
    live: tuple[Pipeline, Any], cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    p, fakes = live
    for name, value in p.settings.model_dump().items():
        if name.startswith(("facebook_", "x_", "ga4_", "microsoft_", "viva_", "wordpress_")) or name == "file_channels":
            monkeypatch.setenv(f"COMMS_{name.upper()}", ",".join(value) if isinstance(value, tuple) else str(value))
    monkeypatch.setenv("COMMS_DATABASE_URL", p.settings.database_url)
    assert main(["metrics", "pull", "--channel", "facebook", "--at", "2026-11-20T06:30"]) == 0
    assert "measure: channels=1 posts=3 figures=20 gone=0" in capsys.readouterr().out
    assert main(["channels", "list"]) == 0
    listing = capsys.readouterr().out
    assert "intranet (viva-engage)" in listing and "figures by import only" in listing
    assert "measured: impressions, reach, engaged users and clicks" in listing
    assert "page views and downloads of /prevent, /prevent/leaflet per month, for objective 4" in listing
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "Figures pulled from each channel" in status
    assert "facebook               last success Fri 20 Nov 2026 06:30; 3 posts, 20 figures" in status
    fakes["facebook"].deleted.add(fakes["facebook"].posts[0]["id"])
    assert main(["metrics", "pull", "--channel", "facebook", "--at", "2026-11-21T06:30"]) == 0
    assert "gone=1" in capsys.readouterr().out
    assert main(["metrics", "list", "--source", "api"]) == 0
    listed = capsys.readouterr().out.splitlines()
    gone = [line for line in listed if "post deleted at the source, found Sat 21 Nov 2026 06:30" in line]
    assert gone and all("(by measure, Fri 20 Nov 2026 06:30)" in line for line in gone)


def test_the_clock_pulls_once_a_day_whatever_the_triggers(live: tuple[Pipeline, Any]) -> None:
    from pipeline.jobs import tasks

    p, fakes = live
    first = tasks.daily_measure(p, PULL)
    calls = fakes["facebook"].calls
    assert first.counts["channels"] == 3 and calls >= 1
    assert tasks.daily_measure(p, PULL + timedelta(minutes=30)).counts == {}, "a doubled trigger does nothing"
    assert fakes["facebook"].calls == calls
    assert tasks.daily_measure(p, PULL + timedelta(days=1)).counts["channels"] == 3
    assert fakes["facebook"].calls > calls
    assert [r.job for r in p.repos.control.last_runs() if r.job == "measure"] == ["measure"]


def test_a_channel_that_cannot_measure_is_left_alone_even_when_unconfigured(live: tuple[Pipeline, Any]) -> None:
    p, _fakes = live
    unconfigured = make_pipeline(Settings(**{**p.settings.__dict__, "viva_engage_group_id": ""}))
    try:
        outcome = measure(unconfigured, PULL, only="intranet")
        assert outcome.failures == () and outcome.counts["channels"] == 0
        assert "intranet" not in {s.channel for s in unconfigured.repos.measures.pull_states()}
    finally:
        unconfigured.repos.engine.dispose()
