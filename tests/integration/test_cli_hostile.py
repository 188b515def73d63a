"""The command line against a closed pipe and missing or unreadable files: one line and an exit code,
never a traceback. Real processes where the pipe matters; in-process (`pipeline.cli.main`) otherwise."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import CLOSED_PIPE, main
from tests.conftest import EXAMPLE, ROOT

PRINTING = (
    ["queue", "list"],
    ["queue", "show", "1"],
    ["status"],
    ["subscribers", "list"],
    ["subscribers", "export"],
    ["calendar", "show", "--month", "2026-11"],
    ["calendar", "show", "--month", "2026-11", "--format", "ics"],
    ["report", "--month", "2026-11", "--format", "csv"],
    ["settings"],
)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A database with a plan, subscribers and outbox items, and the environment that reaches it."""
    folder = tmp_path_factory.mktemp("cli-hostile")
    env = {
        **os.environ,
        "COMMS_DATABASE_URL": f"sqlite:///{folder / 'comms.db'}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SECRET_KEY": "cli-hostile",
        "COMMS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    for argv in (
        ["calendar", "import"],
        ["subscribers", "import", str(EXAMPLE / "subscribers.csv")],
        ["compose", "--at", "2026-11-20T08:00"],
    ):
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], env=env, cwd=folder, capture_output=True)
        assert done.returncode == 0, done.stderr
    return env


def _run_into_closed_pipe(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The command writing to a pipe whose reader has already gone (`| head -0`, deterministically)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *argv], env=env, stdout=write, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write)
    return done.returncode, done.stderr


@pytest.mark.parametrize("argv", PRINTING, ids=" ".join)
def test_a_closed_pipe_ends_quietly_with_141(argv: list[str], filled: dict[str, str]) -> None:
    code, err = _run_into_closed_pipe(argv, filled)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == CLOSED_PIPE


def test_a_reader_that_stops_after_one_line_gets_one_line(filled: dict[str, str]) -> None:
    """`comms subscribers export | head -1`, with enough rows that the writer meets the closed pipe."""
    big = {**filled, "COMMS_LOG_LEVEL": "WARNING"}
    for argv in (["queue", "list"], ["status"], ["queue", "show", "6"], ["subscribers", "export"]):
        command = " ".join([sys.executable, "-m", "pipeline.cli", *argv, "| head -1"])
        done = subprocess.run(["sh", "-c", command], env=big, capture_output=True, text=True)
        assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
        assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    reader = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "calendar", "show", "--month", "2026-11", "--format", "json"],
        env=big,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline()
    reader.stdout.close()
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) in (0, CLOSED_PIPE)
    assert "Traceback" not in err, err


class _ClosedPipe:
    """A stdout whose reader has gone."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def test_main_turns_a_closed_pipe_into_141(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMS_WORKSPACE", str(EXAMPLE))
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["calendar", "show", "--month", "2026-11"]) == CLOSED_PIPE


@pytest.fixture
def env(cli_env: Path) -> Path:
    return cli_env


MISSING = "no-such-export.csv"
FILE_COMMANDS = (
    ["metrics", "import", MISSING],
    ["metrics", "import", str(EXAMPLE / "metrics" / "2026-11-faith-forum-feedback.csv"), "--format", MISSING],
    ["subscribers", "import", MISSING],
    ["calendar", "check", MISSING],
    ["calendar", "check", "--strategy", MISSING],
    ["calendar", "import", MISSING],
    ["calendar", "show", "--month", "2026-11", MISSING],
)


@pytest.mark.parametrize("argv", FILE_COMMANDS, ids=" ".join)
def test_a_missing_file_is_one_line_naming_it(
    argv: list[str], env: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert MISSING in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if MISSING in line]) == 1


@pytest.mark.parametrize("action", ["metrics", "subscribers"])
def test_an_unreadable_file_is_one_line_naming_it(action: str, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = env / "export.csv"
    folder.mkdir()  # a folder where a file belongs: unreadable as a file, even for root
    assert main([action, "import", str(folder)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"comms {action}: {folder}: Is a directory"


def test_a_missing_file_in_a_real_process_has_no_traceback(filled: dict[str, str]) -> None:
    for argv in (["metrics", "import", MISSING], ["subscribers", "import", MISSING]):
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], env=filled, capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr.strip() == f"comms {argv[0]}: {MISSING}: No such file or directory"


def test_output_files_go_into_new_folders_and_an_impossible_one_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calendar", "import"]) == 0
    assert main(["report", "--month", "2026-11", "--format", "csv", "--out", str(env / "new" / "r.csv")]) == 0
    assert main(["calendar", "show", "--month", "2026-11", "--out", str(env / "new2" / "m.txt")]) == 0
    assert (env / "new" / "r.csv").is_file() and (env / "new2" / "m.txt").is_file()
    capsys.readouterr()
    (env / "taken").write_text("a file where a folder is wanted")
    assert main(["report", "--month", "2026-11", "--out", str(env / "taken" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert str(env / "taken") in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_feeds_import_without_feeds_yaml_registers_none(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = env / "ws"
    workspace.mkdir()
    (workspace / "strategy.yaml").write_bytes((EXAMPLE / "strategy.yaml").read_bytes())
    monkeypatch.setenv("COMMS_WORKSPACE", str(workspace))
    assert main(["feeds", "import"]) == 0
    assert "0 feeds registered" in capsys.readouterr().out
