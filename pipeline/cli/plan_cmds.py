"""comms calendar check | import | show | gaps"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from content_calendar.export import month_grid, to_json
from pipeline.cli import common, override_cmds
from pipeline.services.calendar_view import CalendarService, ics_of
from pipeline.services.plan import PlanService, check_plan, month_gaps, month_plan
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
    show = sub.add_parser("show", help="the month's occurrences (skips and moves applied) as a grid, JSON or iCalendar")
    show.add_argument("--month", required=True, metavar="YYYY-MM")
    show.add_argument("--format", choices=("grid", "json", "ics"), default="grid")
    show.add_argument("--out", type=Path, help="write to this file instead of the terminal")
    show.add_argument("files", nargs="*", type=Path, help="calendar files to show instead of the workspace's")
    show.set_defaults(func=cmd_show)
    gaps = sub.add_parser("gaps", help="objectives, audiences and channels the plan leaves out")
    gaps.add_argument("--month", required=True, metavar="YYYY-MM")
    gaps.set_defaults(func=cmd_gaps)
    override_cmds.add(sub)


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(common.settings(args).workspace)


def _files(args: argparse.Namespace) -> list[Path] | None:
    return list(getattr(args, "files", [])) or None


def cmd_check(args: argparse.Namespace) -> int:
    result = check_plan(_workspace(args), _files(args), args.strategy)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if not result.ok:
        print(f"{len(result.problems)} problem(s) in {len(result.files)} file(s)", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    warned = f"; {len(result.warnings)} warning(s)" if result.warnings else ""
    print(
        f"ok: {result.entries} entries in {len(result.files)} file(s), against {result.objectives} objectives{warned}"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    done = PlanService.of(common.pipeline_with_progress(args)).import_plan(
        common.actor(args), common.now(), _files(args)
    )
    print(f"imported {done.entries} entries against {done.objectives} objectives; the previous plan was replaced")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    view = CalendarService.of(common.pipeline(args))
    month = month_plan(_workspace(args), args.month, _files(args), view.overrides())
    occurrences = list(month.occurrences)
    if args.format == "json":
        output: str | bytes = to_json(occurrences)
    elif args.format == "ics":
        links = view.links([o.key for o in occurrences])
        output = ics_of(month.strategy, occurrences, common.now(), links, args.month)
    else:
        output = month_grid(occurrences, month.first.year, month.first.month)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(output if isinstance(output, bytes) else output.encode())
        print(f"wrote {args.out}")
    elif isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        print(output)
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    found = month_gaps(_workspace(args), args.month, overrides=CalendarService.of(common.pipeline(args)).overrides())
    gaps, names = found.gaps, found.names
    print(f"Coverage gaps for {args.month}")
    for title, codes in (
        ("Objectives with no activity this month", gaps.objectives_without_activity),
        ("Audiences not reached in the last three months", gaps.audiences_not_reached),
        ("Channels with nothing planned", gaps.channels_without_plans),
    ):
        print(f"\n{title}:")
        print("\n".join(f"  - {names.get(c, c)}" for c in codes) if codes else "  none")
    return 0
