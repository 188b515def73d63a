"""Structured logs: an event and its fields, one readable line by default, one JSON object a line with
COMMS_LOG_FORMAT=json; secrets hidden in the message, the fields (inside lists too) and the traceback."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.redact import HIDDEN
from pipeline import logs
from pipeline.errors import SettingsError
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE

SECRET = "smtp-password-0005"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, collect = logging.getLogger(), logging.getLogger("pipeline.jobs.collect")
    handlers, level, collect_level = root.handlers[:], root.level, collect.level
    collect.setLevel(logging.NOTSET)  # `comms collect`, run in-process by an earlier test, quietens it
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:], root.level = handlers, level
    collect.setLevel(collect_level)


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("{")]


def test_json_lines_parse_and_carry_the_fields(tmp_path: Path, restore_logging: None) -> None:
    path = tmp_path / "comms.log"
    logs.configure("INFO", file=path, secrets=[SECRET], fmt="json")
    log = logging.getLogger("pipeline.jobs.collect")
    url = "https://www.gov.uk/search/news-and-communications.atom"
    log.info("feed collected", extra={"url": url, "status": 200, "new": 3, "changed": 0, "seconds": 0.412})
    log.warning("send deferred", extra={"item": 12, "error": f"relay said AUTH {SECRET} refused", "why": [SECRET]})
    try:
        raise RuntimeError(f"login with {SECRET} failed")
    except RuntimeError:
        log.exception("job crashed", extra={"job": "dispatch"})
    collected, deferred, crashed = _events(path)
    assert collected["event"] == "feed collected" and collected["level"] == "INFO"
    assert collected["logger"] == "pipeline.jobs.collect" and str(collected["at"]).endswith("Z")
    assert {k: collected[k] for k in ("url", "status", "new", "changed", "seconds")} == {
        "url": url,
        "status": 200,
        "new": 3,
        "changed": 0,
        "seconds": 0.412,
    }, "numbers stay numbers"
    assert deferred["item"] == 12 and "AUTH" in str(deferred["error"]) and deferred["why"] == [HIDDEN]
    assert crashed["job"] == "dispatch" and "RuntimeError" in str(crashed["traceback"])
    assert SECRET not in path.read_text(encoding="utf-8")


def test_the_default_stays_readable(tmp_path: Path, restore_logging: None) -> None:
    path = tmp_path / "comms.log"
    logs.configure("INFO", file=path, secrets=[SECRET])
    logging.getLogger("pipeline.jobs.collect").info(
        "feed collected", extra={"url": "https://example.org/feed", "status": 304, "new": 0, "seconds": 0.05}
    )
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert line.endswith(
        "INFO pipeline.jobs.collect feed collected url=https://example.org/feed status=304 new=0 seconds=0.05"
    )


def test_a_command_logs_json_lines_to_standard_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SECRET_KEY": "log-test",
        "COMMS_LOG_FORMAT": "json",
        "COMMS_LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "calendar", "import"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert events and {"at", "level", "logger", "event"} <= set(events[0])
    upgraded = next(e for e in events if e["event"] == "database upgraded")
    assert upgraded["logger"] == "pipeline.storage.db" and upgraded["revision"]
    assert done.stdout.startswith("imported "), "what the command prints is not a log line"


def test_an_unknown_log_format_is_refused_at_start_up() -> None:
    with pytest.raises(SettingsError, match=r"COMMS_LOG_FORMAT='xml' is not a log format"):
        load_settings(environ={"COMMS_LOG_FORMAT": "xml"}, env_file=None)
