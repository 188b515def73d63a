"""The embedded default runs on a plain `pip install .`: procrastinate (the `postgres` extra) is needed only
by `comms worker`, so every other command starts without it."""

from __future__ import annotations

import subprocess
import sys

BLOCKED = "import sys; sys.modules['procrastinate'] = None; "


def test_the_command_line_starts_without_procrastinate() -> None:
    code = BLOCKED + "from pipeline.cli import build_parser; build_parser().parse_args(['status']); print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
