"""Helpers shared by the commands: settings, the context, the actor, and the clock read once per command.

The commands only parse, build an actor, call a use case (`pipeline.services`) and print its result;
none of them touches storage (tests/unit/test_layout.py holds them to it)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import logs
from pipeline.app import Pipeline, make_pipeline
from pipeline.cli.progress import TerminalBar, for_this_terminal, reporter
from pipeline.errors import NotFound, SettingsError
from pipeline.progress import Progress
from pipeline.redact import secret_values
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.settings import Settings, load_settings


def settings(args: argparse.Namespace) -> Settings:
    if args.env_file and not Path(args.env_file).is_file():
        raise SettingsError(f"--env-file {args.env_file}: no such file")
    loaded = load_settings(env_file=Path(args.env_file or ".env"))
    logs.configure(loaded.log_level, secrets=secret_values(loaded), fmt=loaded.log_format)
    return loaded


def pipeline(args: argparse.Namespace) -> Pipeline:
    """The command's context, built once per command and closed by `main` when the command ends."""
    built: Pipeline | None = getattr(args, "_context", None)
    if built is None:
        built = args._context = make_pipeline(settings(args))
    return built


def close(args: argparse.Namespace) -> None:
    stop_progress(args)
    built: Pipeline | None = getattr(args, "_context", None)
    if built is not None:
        args._context = None
        built.close()


def stop_progress(args: argparse.Namespace) -> None:
    """Clear the bar, if one was drawn, before the command prints its results."""
    bar: TerminalBar | None = getattr(args, "_bar", None)
    if bar is not None:
        bar.close()


def progress(args: argparse.Namespace) -> Progress:
    """For a command with long work (collect, compose, dispatch, the imports, the demo): a bar on a
    terminal, nothing in a pipe or a log (`pipeline.cli.progress`); cleared when the command ends."""
    bar: TerminalBar | None = getattr(args, "_bar", None)
    if bar is None:
        bar = args._bar = for_this_terminal()
    return reporter(bar)


def pipeline_with_progress(args: argparse.Namespace) -> Pipeline:
    """The command's context, reporting its long work to `progress(args)`."""
    built = pipeline(args)
    built.progress = progress(args)
    return built


def actor(args: argparse.Namespace) -> Actor:
    """Who runs the command: the account `--by EMAIL` names (or COMMS_USER), with its role; else the
    login name, which may read, pause and add users but not draft or approve."""
    named = getattr(args, "by", None) or os.environ.get("COMMS_USER", "").strip()
    if not named:
        return Actor.cli()
    return UserService.of(pipeline(args)).actor_for(named)


def now() -> datetime:
    return datetime.now(UTC)


def parse_at(text: str | None, tz: ZoneInfo) -> datetime:
    """--at: an ISO time; a time without an offset is local (Europe/London). Default: now."""
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def add_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at", metavar="ISO-TIME", help="act as if it were this time (local unless an offset is given)"
    )


def local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y %H:%M") if moment else "-"


def done_or_missing(call: Callable[[], object], done: str) -> int:
    """Run a use case on one named record: print `done`, or that there is no such record (exit 1)."""
    try:
        call()
    except NotFound as exc:
        print(exc)
        return 1
    print(done)
    return 0
