"""`comms feeds pause NAME` and `comms feeds resume NAME`: through the same use case as the web's /feeds
(`FeedService.pause`), audited with the command line's actor, an unknown or ambiguous name refused as
bad input (exit 2, one line, nothing changed), and `comms feeds list` saying which feeds are paused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.app import Pipeline, make_pipeline
from pipeline.cli import main
from pipeline.settings import load_settings

ACT_EARLY = "https://actearly.uk/feed/"
AUTHOR = "alex.author@thurrock.gov.uk"


@pytest.fixture
def registered(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["feeds", "import"]) == 0
    capsys.readouterr()
    return cli_env


@pytest.fixture
def stored(registered: Path) -> Iterator[Pipeline]:
    """The database the commands write, opened as another process would, to check what they stored."""
    p = make_pipeline(load_settings(env_file=None))
    yield p
    p.close()


def _feed(p: Pipeline, url: str) -> tuple[bool, bool]:
    (feed,) = [f for f in p.repos.feeds.all() if f.spec.url == url]
    return feed.paused, feed.retired


def _listed(out: str, name: str) -> str:
    """The state line `comms feeds list` prints under the feed's name."""
    lines = out.splitlines()
    return lines[lines.index(name) + 2]


def test_pause_and_resume_by_name_or_url_audited_and_listed(
    stored: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "add", AUTHOR, "--role", "author", "--name", "Alex Author"]) == 0
    monkeypatch.setenv("COMMS_USER", AUTHOR)
    capsys.readouterr()
    assert main(["feeds", "pause", "act early"]) == 0, "the name as listed, in any case"
    out = capsys.readouterr().out
    assert out == f"feed paused: ACT Early ({ACT_EARLY}); not polled until `comms feeds resume`\n"
    assert _feed(stored, ACT_EARLY) == (True, False)
    assert stored.repos.feeds.due(datetime(2030, 1, 1, tzinfo=UTC)), "the other feeds are still due"
    assert ACT_EARLY not in [f.spec.url for f in stored.repos.feeds.due(datetime(2030, 1, 1, tzinfo=UTC))]

    assert main(["feeds", "list"]) == 0
    listed = capsys.readouterr().out
    assert _listed(listed, "ACT Early").startswith("  paused (not polled until `comms feeds resume`); ")
    assert _listed(listed, "ACT Early").endswith("next poll -")
    assert _listed(listed, "Educate Against Hate").startswith("  ok; ")

    assert main(["feeds", "pause", "ACT Early"]) == 0
    assert "feed paused (it already was): ACT Early" in capsys.readouterr().out
    assert main(["feeds", "resume", ACT_EARLY]) == 0, "or by its URL"
    assert capsys.readouterr().out.startswith("feed resumed: ACT Early")
    assert _feed(stored, ACT_EARLY) == (False, False)
    assert main(["feeds", "status"]) == 0
    assert _listed(capsys.readouterr().out, "ACT Early").startswith("  ok; ")

    entries, _ = stored.repos.audit.entries(target=f"feed:{ACT_EARLY}", limit=10)
    assert sorted((e.action, e.actor, e.actor_kind) for e in entries) == [
        ("feed.paused", AUTHOR, "cli"),
        ("feed.paused", AUTHOR, "cli"),
        ("feed.resumed", AUTHOR, "cli"),
    ]


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_an_unknown_feed_is_bad_input_and_changes_nothing(
    stored: Pipeline, action: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["feeds", action, "No Such Feed"]) == 2
    err = capsys.readouterr().err
    assert err == ("comms feeds: no feed called 'No Such Feed' (`comms feeds list` shows each feed's name and URL)\n")
    assert not any(f.paused for f in stored.repos.feeds.all())
    entries, _ = stored.repos.audit.entries(action=f"feed.{action}d", limit=10)
    assert entries == []


def test_a_removed_feed_or_a_name_two_feeds_share_is_refused(
    stored: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["feeds", "remove", ACT_EARLY]) == 0
    capsys.readouterr()
    assert main(["feeds", "pause", "ACT Early"]) == 2
    assert "feed 'ACT Early' is no longer polled (removed, or gone for good)" in capsys.readouterr().err
    assert _feed(stored, ACT_EARLY) == (False, True)

    other = "https://www.educateagainsthate.com/other/feed/"
    assert main(["feeds", "add", other, "--name", "Educate Against Hate"]) == 0
    capsys.readouterr()
    assert main(["feeds", "pause", "Educate Against Hate"]) == 2
    err = capsys.readouterr().err
    assert "2 feeds are called 'Educate Against Hate': name one by its URL" in err and other in err
    assert not any(f.paused for f in stored.repos.feeds.all())
    assert main(["feeds", "pause", other]) == 0
    assert _feed(stored, other) == (True, False)


def test_a_viewer_cannot_pause_a_feed(
    stored: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "add", "vic.viewer@thurrock.gov.uk", "--role", "viewer"]) == 0
    monkeypatch.setenv("COMMS_USER", "vic.viewer@thurrock.gov.uk")
    assert main(["feeds", "pause", "ACT Early"]) == 2
    assert "is a viewer and cannot import the plan, manage feeds and add metrics" in capsys.readouterr().err
    assert _feed(stored, ACT_EARLY) == (False, False)
