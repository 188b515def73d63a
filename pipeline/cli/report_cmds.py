"""comms report | metrics add | list | correct | remove | import | settings"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli import common, measure_cmds
from pipeline.reporting.imports import BUILT_IN, METRICS
from pipeline.services.metrics import MetricsService, describe
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
    common.add_at(report)
    report.set_defaults(func=cmd_report)
    metrics = commands.add_parser("metrics", help="record, list, correct and remove reach figures")
    sub = metrics.add_subparsers(dest="action", metavar="ACTION", required=True)
    by = "who makes the change: an account's email (default: COMMS_USER, else your login name)"
    add_ = sub.add_parser(
        "add",
        help="one figure by hand, e.g. --objective 5 --metric referrals --value 3 (entered again, it is replaced)",
    )
    add_.add_argument("--objective", required=True)
    add_.add_argument("--metric", required=True, choices=METRICS)
    add_.add_argument("--value", required=True, type=float)
    add_.add_argument("--month", required=True, metavar="YYYY-MM")
    add_.add_argument("--channel", default="")
    add_.add_argument("--audience", default="")
    add_.add_argument("--add", action="store_true", help="add to the figure already entered instead of replacing it")
    add_.add_argument("--by", help=by)
    add_.set_defaults(func=cmd_metrics_add)
    list_ = sub.add_parser("list", help="the figures stored, with their ids")
    list_.add_argument("--month", metavar="YYYY-MM")
    list_.add_argument("--objective")
    list_.add_argument("--metric", choices=METRICS)
    list_.add_argument("--source", help='"by hand", "pipeline", or an imported file\'s name')
    list_.add_argument("--by", help=by)
    list_.set_defaults(func=cmd_metrics_list)
    correct = sub.add_parser("correct", help="set a new value for one figure, by its id")
    correct.add_argument("id", type=int)
    correct.add_argument("--value", required=True, type=float)
    correct.add_argument("--by", help=by)
    correct.set_defaults(func=cmd_metrics_correct)
    remove = sub.add_parser("remove", help="remove one figure, by its id")
    remove.add_argument("id", type=int)
    remove.add_argument("--by", help=by)
    remove.set_defaults(func=cmd_metrics_remove)
    imp = sub.add_parser(
        "import", help="a CSV export, all or nothing; importing the same file again replaces what it added"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", default="generic", help=f"{', '.join(BUILT_IN)}, feedback, or a mapping .yaml file")
    imp.add_argument("--objective", default="")
    imp.add_argument("--audience", default="")
    imp.add_argument("--channel", default="", help="the channel, where neither the file nor the format names one")
    imp.add_argument("--month", metavar="YYYY-MM", help="refuse rows dated outside this month")
    imp.add_argument("--by", help=by)
    imp.set_defaults(func=cmd_metrics_import)
    measure_cmds.add_pull(sub)
    settings = commands.add_parser("settings", help="show the settings in force (secrets shown only as set/unset)")
    settings.set_defaults(func=cmd_settings)


def cmd_report(args: argparse.Namespace) -> int:
    ctx = common.pipeline(args)
    reports, actor, now = ReportService.of(ctx), common.actor(args), common.parse_at(args.at, ctx.settings.tz)
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
    change = MetricsService.of(common.pipeline(args)).add(
        common.actor(args),
        objective=args.objective,
        metric=args.metric,
        value=args.value,
        month=args.month,
        channel=args.channel,
        audience=args.audience,
        add=args.add,
        now=common.now(),
    )
    figure, was = change.figure, change.previous
    if was is None:
        print(f"recorded {describe(figure)} = {figure.value:g} (figure #{figure.id})")
    elif args.add:
        print(f"added {args.value:g} to {describe(figure)}: {was:g} -> {figure.value:g} (figure #{figure.id})")
    else:
        print(
            f"replaced {describe(figure)}: {was:g} -> {figure.value:g} (figure #{figure.id}); "
            "to add to a figure instead, use --add"
        )
    return 0


def cmd_metrics_list(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    figures = MetricsService.of(p).list(
        common.actor(args), month=args.month, objective=args.objective, metric=args.metric, source=args.source
    )
    print(f"{'ID':>6}  {'DAY':10}  {'OBJ':4} {'METRIC':26} {'VALUE':>10}  {'CHANNEL':20} {'AUDIENCE':18} SOURCE")
    for f in figures:
        print(
            f"{f.id:>6}  {f.day.isoformat():10}  {f.objective or '-':4} {f.metric:26} {f.value:>10g}  "
            f"{f.channel or '-':20} {f.audience or '-':18} {f.source}"
            + (f" (by {f.recorded_by}, {common.local(f.recorded_at, p.settings.tz)})" if f.recorded_by else "")
            + (f"; post deleted at the source, found {common.local(f.gone_at, p.settings.tz)}" if f.gone_at else "")
        )
    print(f"{len(figures)} figure(s)")
    return 0


def cmd_metrics_correct(args: argparse.Namespace) -> int:
    change = MetricsService.of(common.pipeline(args)).correct(common.actor(args), args.id, args.value, common.now())
    print(f"corrected figure #{args.id}, {describe(change.figure)}: {change.previous:g} -> {change.figure.value:g}")
    return 0


def cmd_metrics_remove(args: argparse.Namespace) -> int:
    change = MetricsService.of(common.pipeline(args)).remove(common.actor(args), args.id, common.now())
    print(f"removed figure #{args.id}, {describe(change.figure)} = {change.figure.value:g}")
    return 0


def cmd_metrics_import(args: argparse.Namespace) -> int:
    done = MetricsService.of(common.pipeline_with_progress(args)).import_file(
        common.actor(args),
        args.file,
        args.format,
        now=common.now(),
        objective=args.objective,
        audience=args.audience,
        channel=args.channel,
        month=args.month,
    )
    r = done.replaced
    print(f"{done.name}: {done.figures} figures imported (import #{done.import_id})")
    for earlier in r.replaced:
        print(
            f"  replacing import #{earlier.id} of the same file ({earlier.options or 'no options'}; "
            f"{earlier.rows} figures, by {earlier.imported_by})"
        )
    if r.removed and not r.replaced:
        print(f"  replacing {r.removed} figures imported from a file of this name before imports were recorded")
    if r.same:
        print("  the figures are the same as before: nothing changed")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    for name, value in common.settings(args).redacted().items():
        print(f"COMMS_{name.upper():28} {value}")
    return 0
