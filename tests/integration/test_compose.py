"""Editions: rendered from the templates with MJML, parsed with html5lib, checked for accessibility."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import html5lib
import pytest

from content_calendar.models import Entry
from pipeline.app import Pipeline
from pipeline.errors import TemplateError
from pipeline.records import FeedSpec, NationalMessage, OutboxItem
from pipeline.rendering.accessibility import check_edition
from pipeline.rendering.personalise import Personaliser, recipient_values
from pipeline.rendering.render import Renderer

NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
TEMPLATES = ["resident_newsletter", "headteacher_bulletin", "member_briefing", "partner_newsletter"]
HOSTILE = (
    '<p>Read <a href="/guidance">this</a> &amp; share.</p><script>alert("x")</script>'
    '<img src="x" onerror="alert(1)"> a < b {{ 7*7 }} %%Pdeadbeef_email%%'
)


@pytest.fixture
def composed(pipeline: Pipeline) -> Pipeline:
    pipeline.import_plan(now=NOW)
    pipeline.import_subscribers()
    pipeline.repos.feeds.upsert(
        [FeedSpec("https://www.gov.uk/feed.atom", "GOV.UK", audiences=("educators",), objectives=("6",))]
    )
    (feed,) = pipeline.repos.feeds.all()
    msg = NationalMessage(
        "g",
        "https://www.gov.uk/government/news/a",
        "Title with <b>markup</b> & ampersand",
        HOSTILE,
        datetime(2026, 10, 30, tzinfo=UTC),
        "h",
        ("6",),
        ("educators",),
    )
    pipeline.repos.feeds.save_messages(feed.id, [("g", msg)], datetime(2026, 10, 30, tzinfo=UTC))
    return pipeline


def _edition(p: Pipeline, entry: str, day: str):  # type: ignore[no-untyped-def]
    at = datetime.combine(date.fromisoformat(day), time(23, 0), tzinfo=p.settings.tz)
    p.compose(at, entry=entry)
    return next(e for e in p.repos.outbox.editions() if e.occurrence_key == f"{entry}@{day}")


def test_bulletin_is_valid_html_with_absolute_links_and_no_script(composed: Pipeline) -> None:
    edition = _edition(composed, "headteacher-bulletin", "2026-11-05")
    assert edition.status == "composed", edition.problems
    doc = html5lib.parse(edition.html, namespaceHTMLElements=False)
    assert doc.get("lang") == "en-GB"
    assert doc.find(".//title").text == edition.subject
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert hrefs and all(re.match(r"^(https://|mailto:|%%P[0-9a-f]+_unsubscribe_url%%)", h) for h in hrefs), hrefs
    assert "<script" not in edition.html and "onerror" not in edition.html and "alert(" not in edition.html
    assert "Title with &lt;b&gt;markup&lt;/b&gt; &amp; ampersand" in edition.html
    assert "{{ 7*7 }}" in edition.text and "49" not in edition.text.split("{{ 7*7 }}")[0][-5:]
    inputs = composed.repos.outbox.edition_inputs(edition.id)
    assert composed.composer().rerender(edition.id) == (edition.html, edition.text), "rendered again exactly"
    forged = Personaliser(edition.html, inputs["nonce"]).render({"email": "SECRET"})
    assert "%%Pdeadbeef_email%%" in forged, "feed text cannot forge a personalisation slot"


def test_every_template_renders_with_its_text_part(composed: Pipeline) -> None:
    for entry, day in (
        ("resident-newsletter", "2026-11-03"),
        ("headteacher-bulletin", "2026-11-05"),
        ("member-briefing", "2026-11-10"),
        ("stronger-together", "2026-11-18"),
    ):
        edition = _edition(composed, entry, day)
        assert edition.status == "composed", (entry, edition.problems)
        assert edition.text.startswith("Thurrock Council") and "Unsubscribe:" in edition.text
        assert not re.search(r"</?(p|a|div|table|h\d)\b", edition.text), "the text part is written, not stripped HTML"
        title = next(e.title for e in composed.repos.calendar.entries() if e.id == entry)
        assert edition.subject == f"{title}: November 2026"


def test_personalisation_escapes_and_fills_every_slot(composed: Pipeline) -> None:
    edition = _edition(composed, "headteacher-bulletin", "2026-11-05")
    nonce = composed.repos.outbox.edition_inputs(edition.id)["nonce"]
    values = recipient_values(
        "Mrs <A> Patel", "Gable Hall", "head@gable-hall.example.org", "https://u.example/x?t=1&a=2"
    )
    html = Personaliser(edition.html, nonce).render(values)
    assert "Dear Mrs &lt;A&gt; Patel" in html and "https://u.example/x?t=1&amp;a=2" in html
    assert f"%%P{nonce}" not in html


EDITIONS = [
    ("resident-newsletter", "2026-11-03"),
    ("headteacher-bulletin", "2026-11-05"),
    ("member-briefing", "2026-11-10"),
    ("stronger-together", "2026-11-18"),
]


@pytest.mark.parametrize(("entry", "day"), EDITIONS, ids=[e for e, _ in EDITIONS])
def test_golden_files(composed: Pipeline, entry: str, day: str) -> None:
    """Each template rendered from fixed inputs: the text part whole, the HTML as its visible text."""
    edition = _edition(composed, entry, day)
    nonce = composed.repos.outbox.edition_inputs(edition.id)["nonce"]
    values = recipient_values("Sample Reader", "Sample School", "reader@example.org", "https://example.org/u")
    text = Personaliser(edition.text, nonce, escape=False).render(values)
    html = Personaliser(edition.html, nonce).render(values)
    doc = html5lib.parse(re.sub(r"<!--.*?-->", "", html, flags=re.S), namespaceHTMLElements=False)
    visible = "\n".join(" ".join(t.split()) for t in doc.find("body").itertext() if t.strip())
    golden = Path(__file__).resolve().parent.parent / "golden"
    for suffix, got in (("txt", text), ("html.txt", visible)):
        path = golden / f"{entry}.{suffix}"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            path.write_text(got)
            pytest.fail(f"wrote {path}; review it and commit it")
        assert got == path.read_text(), f"{path} differs: if the change is intended, delete the file and rerun"


def test_a_bad_template_names_the_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "broken.mjml.j2").write_text("<mjml>\n<mj-body>\n{% if %}\n</mj-body></mjml>")
    with pytest.raises(TemplateError) as caught:
        Renderer([tmp_path]).email("broken", {})
    assert "email/broken.mjml.j2:3" in str(caught.value)
    with pytest.raises(TemplateError, match="template not found"):
        Renderer([tmp_path]).email("nowhere", {})


def test_a_team_can_override_a_template(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "default.txt.j2").write_text("OURS: {{ title }}")
    assert Renderer([tmp_path]).text_page("posts/default.txt.j2", {"title": "T"}) == "OURS: T"


GOOD = (
    '<html lang="en-GB"><body><h1>A</h1><h2>B</h2><a href="https://x">Read the guidance</a>'
    '<img src="https://i" alt="Pupils"></body></html>'
)


@pytest.mark.parametrize(
    ("html", "subject", "text", "problem"),
    [
        (GOOD.replace(' alt="Pupils"', ""), "Subject", "t", "no alt text"),
        (GOOD.replace(' lang="en-GB"', ""), "Subject", "t", "no language"),
        (GOOD.replace("<h2>B</h2>", "<h3>B</h3>"), "Subject", "t", "must not skip"),
        (GOOD.replace("Read the guidance", "click here"), "Subject", "t", "does not say where"),
        (GOOD, "S" * 80, "t", "keep it under 80"),
        (GOOD, "Subject", "  ", "no plain-text part"),
    ],
)
def test_each_accessibility_check_fails_a_crafted_edition(html: str, subject: str, text: str, problem: str) -> None:
    assert check_edition("Subject", GOOD, "t") == []
    problems = check_edition(subject, html, text)
    assert any(problem in p for p in problems), problems


def test_decorative_images_may_have_empty_alt() -> None:
    html = GOOD.replace('alt="Pupils"', 'alt="" role="presentation"')
    assert check_edition("Subject", html, "t") == []
    assert check_edition("Subject", GOOD.replace('alt="Pupils"', 'alt=""'), "t")


def _compose_long_x_post(composed: Pipeline, approval: str) -> OutboxItem:
    """An X post 400 characters long, composed on its day."""
    long = Entry(
        f"long-{approval}",
        "A very long post",
        "x",
        ("residents",),
        ("3",),
        "post",
        date(2026, 11, 10),
        time(12),
        key_messages=("word " * 80,),
        approval=approval,  # type: ignore[arg-type]
    )
    composed.repos.calendar.import_plan(composed.repos.calendar.strategy(), [long], NOW)
    composed.compose(datetime(2026, 11, 10, 13, 0, tzinfo=UTC))
    (item,) = composed.repos.outbox.items()
    return item


def test_posts_respect_channel_limits(composed: Pipeline) -> None:
    item = _compose_long_x_post(composed, "required")
    assert item.status == "draft" and "over the 280 that x allows" in (item.reason or "")


def test_an_auto_approved_post_with_problems_stays_a_draft(composed: Pipeline) -> None:
    item = _compose_long_x_post(composed, "auto")
    assert item.status == "draft" and item.approved_by is None
