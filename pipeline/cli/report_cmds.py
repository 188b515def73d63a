"""comms report | metrics add | metrics import | settings"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli import common
from pipeline.reporting.imports import BUILT_IN, METRICS
from pipeline.services.metrics import MetricsService
from pipeline.services.reports import MONTHLY_FORMATS, ReportService


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser("report", help="the monthly reach report against the objectives")
    period = report.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM")
    period.add_argument("--quarter", metavar="YYYYQN", help="the committee summary, e.g. 2026Q3")
    report.add_argument("--format", choices=MONTHLY_FORMATS, default="html")
    report.add_argument("--out", type=Path, help="file to write (default: standard output)")
    report.add_argument("--send-to", metavar="AUDIENCE", help="queue the report as an email to this audience")
    report.add_argument("--channel", default="member-briefing", help="the email channel to send it through")
    report.add_argument("--by", help="who queues it with --send-to (default: your login name)")
    report.set_defaults(func=cmd_report)
    metrics = commands.add_parser("metrics", help="record reach figures by hand or from exports")
    sub = metrics.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_ = sub.add_parser("add", help="one figure by hand, e.g. --objective 5 --metric referrals --value 3")
    add_.add_argument("--objective", required=True)
    add_.add_argument("--metric", required=True, choices=METRICS)
    add_.add_argument("--value", required=True, type=float)
    add_.add_argument("--month", required=True, metavar="YYYY-MM")
    add_.add_argument("--channel", default="")
    add_.add_argument("--audience", default="")
    add_.set_defaults(func=cmd_metrics_add)
    imp = sub.add_parser("import", help="a CSV export (all or nothing; importing it again changes nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", default="generic", help=f"{', '.join(BUILT_IN)}, feedback, or a mapping .yaml file")
    imp.add_argument("--objective", default="")
    imp.add_argument("--audience", default="")
    imp.add_argument("--month", metavar="YYYY-MM", help="refuse rows dated outside this month")
    imp.set_defaults(func=cmd_metrics_import)
    settings = commands.add_parser("settings", help="show the settings in force (secrets shown only as set/unset)")
    settings.set_defaults(func=cmd_settings)


def cmd_report(args: argparse.Namespace) -> int:
    reports, actor, now = ReportService.of(common.pipeline(args)), common.actor(args), common.now()
    if args.quarter:
        return _write(args.out, reports.quarterly_file(actor, args.quarter, args.format, now))
    if args.send_to:
        item = reports.queue(actor, args.month, args.send_to, args.channel, now).item
        print(f"queued as #{item.id}; approve it with `comms queue approve {item.id} --by NAME`, then it goes out")
        return 0
    return _write(args.out, reports.monthly_file(actor, args.month, args.format, now))


def _write(path: Path | None, output: str) -> int:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(output, encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(output)
    return 0


def cmd_metrics_add(args: argparse.Namespace) -> int:
    MetricsService.of(common.pipeline(args)).add(
        common.actor(args),
        objective=args.objective,
        metric=args.metric,
        value=args.value,
        month=args.month,
        channel=args.channel,
        audience=args.audience,
    )
    print(f"recorded {args.metric}={args.value:g} for objective {args.objective} in {args.month}")
    return 0


def cmd_metrics_import(args: argparse.Namespace) -> int:
    done = MetricsService.of(common.pipeline(args)).import_file(
        common.actor(args),
        args.file,
        args.format,
        objective=args.objective,
        audience=args.audience,
        month=args.month,
    )
    print(f"{done.added} metric rows added ({done.already_imported} already imported)")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    for name, value in common.settings(args).redacted().items():
        print(f"COMMS_{name.upper():28} {value}")
    return 0
