"""comms report | metrics add | metrics import | settings"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from content_calendar.plan import month_bounds
from pipeline.cli import common
from pipeline.records import MetricPoint
from pipeline.reporting.files import render_report_html
from pipeline.reporting.imports import BUILT_IN, METRICS, load_mapping, read_feedback, read_import
from pipeline.reporting.report import report_csv, report_json


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser("report", help="the monthly reach report against the objectives")
    period = report.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM")
    period.add_argument("--quarter", metavar="YYYYQN", help="the committee summary, e.g. 2026Q3")
    report.add_argument("--format", choices=("html", "csv", "json"), default="html")
    report.add_argument("--out", type=Path, help="file to write (default: standard output)")
    report.add_argument("--send-to", metavar="AUDIENCE", help="queue the report as an email to this audience")
    report.add_argument("--channel", default="member-briefing", help="the email channel to send it through")
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
    p = common.pipeline(args)
    produced = datetime.now(UTC).astimezone(p.settings.tz)
    if args.quarter:
        summary = p.quarterly(args.quarter)
        if args.format == "json":
            output = json.dumps(summary, indent=2, ensure_ascii=False)
        elif args.format == "html":
            output = p.renderer.markup_page(
                "report/quarterly.html.j2", {"q": summary, "produced": f"{produced:%d %B %Y}"}
            )
        else:
            raise ValueError("the quarterly summary is written as html or json")
        return _write(args.out, output)
    if args.send_to:
        item_id = p.queue_report(args.month, args.send_to, args.channel, datetime.now(UTC))
        print(f"queued as #{item_id}; approve it with `comms queue approve {item_id} --by NAME`, then it goes out")
        return 0
    report = p.report(args.month)
    if args.format == "json":
        output = report_json(report)
    elif args.format == "csv":
        output = report_csv(report)
    else:
        output = render_report_html(p.renderer, report, produced)
    return _write(args.out, output)


def _write(path: Path | None, output: str) -> int:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(output, encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(output)
    return 0


def cmd_metrics_add(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    if args.value < 0:
        raise ValueError("a value cannot be negative")
    _first, last = month_bounds(args.month)
    point = MetricPoint(
        day=last,
        metric=args.metric,
        value=args.value,
        source="by hand",
        channel=args.channel,
        audience=args.audience,
        objective=args.objective,
    )
    p.repos.metrics.add([point])
    print(f"recorded {args.metric}={args.value:g} for objective {args.objective} in {args.month}")
    return 0


def cmd_metrics_import(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    if args.format == "feedback":
        points = read_feedback(args.file, objective=args.objective or "1", month=args.month)
    else:
        mapping = load_mapping(Path(args.format)) if args.format.endswith((".yaml", ".yml")) else BUILT_IN[args.format]
        points = read_import(args.file, mapping, objective=args.objective, audience=args.audience, month=args.month)
    added = p.repos.metrics.add(points)
    print(f"{added} metric rows added ({len(points) - added} already imported)")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    for name, value in common.settings(args).redacted().items():
        print(f"COMMS_{name.upper():28} {value}")
    return 0
