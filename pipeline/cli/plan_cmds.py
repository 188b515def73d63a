"""comms calendar check | import | show | gaps"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from content_calendar.calendar import check_calendar, load_calendar
from content_calendar.export import month_grid, to_ics, to_json
from content_calendar.gaps import find_gaps
from content_calendar.plan import month_bounds, plan
from content_calendar.strategy import load_strategy
from pipeline.cli import common
from pipeline.workspace import Workspace


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cal = commands.add_parser("calendar", help="check, import and view the content calendar")
    sub = cal.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate calendar files against strategy.yaml (exit 2 on problems)")
    check.add_argument("files", nargs="*", type=Path, help="CSV or YAML calendar files (default: the workspace's)")
    check.add_argument("--strategy", type=Path, help="strategy.yaml (default: the workspace's)")
    check.set_defaults(func=cmd_check)
    imp = sub.add_parser("import", help="replace the stored plan with these files: all or nothing")
    imp.add_argument("files", nargs="*", type=Path)
    imp.set_defaults(func=cmd_import)
    show = sub.add_parser("show", help="the month's occurrences as a grid, JSON or iCalendar")
    show.add_argument("--month", required=True, metavar="YYYY-MM")
    show.add_argument("--format", choices=("grid", "json", "ics"), default="grid")
    show.add_argument("--out", type=Path, help="write to this file instead of the terminal")
    show.add_argument("files", nargs="*", type=Path, help="calendar files to show instead of the workspace's")
    show.set_defaults(func=cmd_show)
    gaps = sub.add_parser("gaps", help="objectives, audiences and channels the plan leaves out")
    gaps.add_argument("--month", required=True, metavar="YYYY-MM")
    gaps.set_defaults(func=cmd_gaps)


def _files(args: argparse.Namespace, workspace: Workspace) -> list[Path]:
    return list(getattr(args, "files", [])) or workspace.calendar_paths


def cmd_check(args: argparse.Namespace) -> int:
    workspace = Workspace.open(common.settings(args).workspace)
    strategy = load_strategy(args.strategy or workspace.strategy_path)
    files = _files(args, workspace)
    entries, problems = check_calendar(files, strategy)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 2
    print(f"ok: {len(entries)} entries in {len(files)} file(s), against {len(strategy.objectives)} objectives")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    objectives, entries = p.import_plan(list(args.files) or None, now=datetime.now(UTC))
    print(f"imported {entries} entries against {objectives} objectives; the previous plan was replaced")
    return 0


def _plan_inputs(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    workspace = Workspace.open(common.settings(args).workspace)
    strategy = load_strategy(workspace.strategy_path)
    return strategy, load_calendar(_files(args, workspace), strategy)


def cmd_show(args: argparse.Namespace) -> int:
    strategy, entries = _plan_inputs(args)
    first, last = month_bounds(args.month)
    occurrences = plan(strategy, entries, first, last)
    if args.format == "json":
        output: str | bytes = to_json(occurrences)
    elif args.format == "ics":
        output = to_ics(strategy, entries, last, datetime.now(UTC))
    else:
        output = month_grid(occurrences, first.year, first.month)
    if args.out:
        args.out.write_bytes(output if isinstance(output, bytes) else output.encode())
        print(f"wrote {args.out}")
    elif isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        print(output)
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    strategy, entries = _plan_inputs(args)
    gaps = find_gaps(strategy, entries, args.month)
    names = {a.code: a.name for a in strategy.audiences} | {o.code: f"{o.code}. {o.title}" for o in strategy.objectives}
    names |= {c.code: c.name for c in strategy.channels}
    print(f"Coverage gaps for {args.month}")
    for title, codes in (
        ("Objectives with no activity this month", gaps.objectives_without_activity),
        ("Audiences not reached in the last three months", gaps.audiences_not_reached),
        ("Channels with nothing planned", gaps.channels_without_plans),
    ):
        print(f"\n{title}:")
        print("\n".join(f"  - {names.get(c, c)}" for c in codes) if codes else "  none")
    return 0
