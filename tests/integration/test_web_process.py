"""`comms web` as a real process: gunicorn with its workers on a temporary SQLite database, reached over
HTTP by a real session (requests), and stopped with SIGTERM as a deploy stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from pipeline.context import open_context
from pipeline.localservers import free_port
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.settings import load_settings
from pipeline.tokens import sign
from tests.conftest import EXAMPLE, ROOT

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMS_")}
    return env | {
        "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SECRET_KEY": "process-test-secret",
        "COMMS_LOG_LEVEL": "INFO",
        **extra,
    }


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    settings = load_settings(environ=_env(tmp_path), env_file=None)
    ctx = open_context(settings)
    UserService.of(ctx).add(Actor.cli(), "admin@council.example.gov.uk", "admin", datetime.now(UTC), password=PASSWORD)
    ctx.close()
    port = free_port()
    command = [sys.executable, "-m", "pipeline.cli", "web", "--port", str(port), "--workers", "1", "--threads", "2"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"comms web stopped: {process.communicate()}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).text == "ok":
                break
        except requests.RequestException:  # not listening yet, or the worker is still starting
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("comms web did not answer /healthz within 60 s")
    yield process, base
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_comms_web_serves_sign_in_and_stops_cleanly_on_sigterm(web: tuple[subprocess.Popen[str], str]) -> None:
    process, base = web
    browser = requests.Session()
    form = browser.get(f"{base}/signin", timeout=10)
    assert form.status_code == 200 and form.headers["Content-Security-Policy"].startswith("default-src 'none'")
    signed = browser.post(
        f"{base}/signin",
        data={
            "csrf_token": TOKEN.search(form.text).group(1),
            "email": "admin@council.example.gov.uk",
            "password": PASSWORD,
        },  # type: ignore[union-attr]
        timeout=10,
    )
    assert signed.status_code == 200 and signed.url == f"{base}/"  # home: today at a glance
    assert "admin@council.example.gov.uk</a> (admin)" in signed.text
    assert browser.get(f"{base}/users", timeout=10).status_code == 200
    token = sign("someone@example.org", "process-test-secret")
    assert "Unsubscribe" in requests.get(f"{base}/unsubscribe?token={token}", timeout=10).text
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=40)
    assert process.returncode == 0, err
    assert f"the workspace at {base}/" in out
    assert '"POST /signin" 302' in out and token not in out + err, "the access log keeps no query string"
    assert "Traceback" not in err and PASSWORD not in out + err and "process-test-secret" not in out + err
    assert "Handling signal: term" in err and "Shutting down" in err


def test_comms_serve_is_the_old_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "serve", "--port", "1"],
        cwd=tmp_path,
        env=_env(tmp_path, COMMS_SECRET_KEY=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "`comms serve` is now `comms web`: it serves the workspace as well as the unsubscribe links."
    assert lines[1].startswith("settings: COMMS_SECRET_KEY is not set") and len(lines) == 2


def test_the_procfile_web_line_serves_the_workspace(tmp_path: Path) -> None:
    """`gunicorn pipeline.web.wsgi:app`, as the Procfile starts it, with the settings from the environment."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    port = free_port()
    env = _env(tmp_path, PORT=str(port), HOME=str(tmp_path), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    env.pop("XDG_RUNTIME_DIR", None)  # gunicorn's control socket goes under this test's HOME
    process = subprocess.Popen(
        ["bash", "-c", f"exec {line.removeprefix('web:').strip()}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, answer = time.monotonic() + 60, ""
        while time.monotonic() < deadline and process.poll() is None and answer != "ok":
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).text
            except requests.RequestException:  # not listening yet, or the workers are still starting
                time.sleep(0.2)
        assert answer == "ok", process.communicate(timeout=5) if process.poll() is not None else "no answer"
        assert "Sign in" in requests.get(f"http://127.0.0.1:{port}/signin", timeout=10).text
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=40)
    assert process.returncode == 0 and "Traceback" not in err
