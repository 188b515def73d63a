"""The command line, run in-process on the real code paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import EXAMPLE


@pytest.fixture
def env(cli_env: Path) -> Path:
    return cli_env


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "calendar", "collect", "compose", "queue", "dispatch", "report", "run", "status", "web"):
        assert f"    {command}" in out


def test_calendar_check_exit_codes(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok: 13 entries")
    bad = env / "bad.csv"
    bad.write_text("id,title,channel,objectives,start_date,time\nx,T,facebook,9,2026-11-03,09:00\n")
    assert main(["calendar", "check", str(bad)]) == 2
    assert f"{bad}:2: objectives: unknown objective '9'" in capsys.readouterr().err


def test_import_is_all_or_nothing(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "import"]) == 0
    bad = env / "bad.csv"
    bad.write_text("id,title,channel,objectives,start_date,time\nx,T,facebook,1,2026-13-03,09:00\n")
    assert main(["calendar", "import", str(bad)]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert main(["queue", "list"]) == 0
    assert main(["calendar", "show", "--month", "2026-11", "--format", "json"]) == 0


def test_show_grid_and_ics(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "show", "--month", "2026-11"]) == 0
    assert "November 2026" in capsys.readouterr().out
    assert main(["calendar", "show", "--month", "2026-11", "--format", "ics", "--out", str(env / "m.ics")]) == 0
    assert (env / "m.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert main(["calendar", "gaps", "--month", "2026-11"]) == 0
    assert "Objectives with no activity" in capsys.readouterr().out


def test_a_bad_setting_stops_start_up_with_a_clear_message(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMS_TIMEZONE", "Europe/Londres")
    assert main(["status"]) == 2
    assert "COMMS_TIMEZONE='Europe/Londres' is not a known timezone" in capsys.readouterr().err
    monkeypatch.setenv("COMMS_TIMEZONE", "Europe/London")
    monkeypatch.setenv("COMMS_SMTP_PORT", "twenty-five")
    assert main(["status"]) == 2


def test_settings_never_show_secrets(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "cli-test" not in out and "COMMS_SECRET_KEY" in out and "(set)" in out


def test_pause_resume_status_and_metrics(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "import"]) == 0
    assert main(["users", "add", "duty@thurrock.gov.uk", "--role", "admin", "--name", "Duty Officer"]) == 0
    assert main(["pause", "--reason", "critical incident", "--by", "duty@thurrock.gov.uk"]) == 0
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "PAUSED" in out and "critical incident" in out and "Due next" in out and "The clock wakes" in out
    assert main(["resume", "--by", "duty@thurrock.gov.uk"]) == 0
    assert (
        main(["metrics", "add", "--objective", "5", "--metric", "referrals", "--value", "3", "--month", "2026-11"]) == 0
    )
    assert main(["report", "--month", "2026-11", "--format", "csv"]) == 0
    assert "2026-11,6," in capsys.readouterr().out
    forms = str(EXAMPLE / "metrics" / "2026-11-faith-forum-feedback.csv")
    for _ in range(2):  # the second import of the same file replaces the first: nothing changes
        assert main(["metrics", "import", forms, "--format", "feedback", "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "3 figures imported (import #2)\n  replacing import #1 of the same file" in out
    assert "the figures are the same as before: nothing changed" in out


def test_channels_check_reports_each_channel_and_fails_if_one_does(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.localservers import Mailbox, free_port, smtp_server

    monkeypatch.setenv("COMMS_FILE_CHANNELS", "*")
    monkeypatch.setenv("COMMS_OUTBOX_DIR", str(env / "outbox"))
    monkeypatch.setenv("COMMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMMS_SMTP_PORT", str(free_port()))  # nothing listens: every email channel fails
    assert main(["channels", "check"]) == 1
    out = capsys.readouterr().out
    assert "ok      facebook (facebook)" in out and "(routed to file)" in out
    assert "FAILED  headteacher-bulletin (email)" in out and "cannot connect" in out
    assert "FAILED  staff (email, staff notifications)" in out, "staff mail goes through the same server"
    assert "4 of 9 channel(s) ready; 5 need attention" in out
    with smtp_server(Mailbox()) as (_host, port):
        monkeypatch.setenv("COMMS_SMTP_PORT", str(port))
        assert main(["channels", "check"]) == 0
        assert main(["channels", "check", "--channel", "x"]) == 0
        assert "1 of 1 channel(s) ready" in capsys.readouterr().out
        assert main(["channels", "check", "--channel", "nope"]) == 2


def test_channels_check_proves_the_staff_channel_with_its_own_settings(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staff mail (approvers' digests, lapse reminders, failure alerts) is in no plan, but goes as
    channel `staff`, with the shared SMTP settings or its own: checked like the plan's channels."""
    from pipeline.localservers import Mailbox, free_port, smtp_server

    monkeypatch.setenv("COMMS_FILE_CHANNELS", "*")
    monkeypatch.setenv("COMMS_OUTBOX_DIR", str(env / "outbox"))
    monkeypatch.setenv("COMMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMMS_CHANNEL__STAFF__SMTP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("COMMS_CHANNEL__STAFF__SMTP_PASSWORD", "staff-relay-secret")
    monkeypatch.setenv("COMMS_CHANNEL__STAFF__SMTP_USERNAME", "staff-relay")
    box = Mailbox()
    with smtp_server(box) as (_host, port):
        monkeypatch.setenv("COMMS_SMTP_PORT", str(port))
        assert main(["channels", "check"]) == 1
        out = capsys.readouterr().out
        assert "ok      headteacher-bulletin (email)" in out, "the plan's email channels use the shared server"
        staff = next(line for line in out.splitlines() if line.startswith("FAILED  staff (email, staff notifications)"))
        assert "staff: cannot connect to 127.0.0.1:" in staff
        assert "8 of 9 channel(s) ready; 1 need attention" in out
        assert "staff-relay-secret" not in out
        assert main(["channels", "check", "--channel", "staff"]) == 1
        assert capsys.readouterr().out.endswith("0 of 1 channel(s) ready; 1 need attention\n")
        monkeypatch.setenv("COMMS_CHANNEL__STAFF__SMTP_PORT", str(port))
        monkeypatch.delenv("COMMS_CHANNEL__STAFF__SMTP_PASSWORD")
        monkeypatch.delenv("COMMS_CHANNEL__STAFF__SMTP_USERNAME")
        assert main(["channels", "check", "--channel", "staff"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"ok      staff (email, staff notifications)  127.0.0.1:{port} answered 250")
        assert "1 of 1 channel(s) ready" in out
    assert box.received == [], "a check posts nothing"


def test_db_status_and_upgrade(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "status"]) == 1
    assert "revision: (empty)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.endswith("upgraded\n")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.endswith("already up to date\n")
    assert main(["db", "status"]) == 0


def test_an_unreachable_database_is_one_line_without_its_password(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMS_DATABASE_URL", "postgresql+psycopg://comms:hunter2secret@127.0.0.1:1/comms")
    assert main(["db", "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("comms db: cannot open the database postgresql+psycopg://comms:***@127.0.0.1:1/comms")
    assert "hunter2secret" not in err and "Traceback" not in err


def test_a_missing_env_file_is_refused(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env-file", "no-such.env", "status"]) == 2
    assert "--env-file no-such.env: no such file" in capsys.readouterr().err


def test_comms_web_without_a_secret_key_is_one_line_and_exit_2(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COMMS_SECRET_KEY")
    assert main(["web", "--port", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("settings: COMMS_SECRET_KEY is not set") and captured.err.count("\n") == 1
    assert "secrets.token_hex(32)" in captured.err and captured.out == ""
    assert not (env / "comms.db").exists(), "nothing is opened before the settings are right"


def test_comms_web_on_a_port_in_use_says_so(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["web", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"comms web: cannot listen on 127.0.0.1:{port}") and "--port" in err
