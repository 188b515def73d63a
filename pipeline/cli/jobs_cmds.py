"""comms demo | collect | compose | preview | dispatch | run | pause | resume | status"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, date, datetime, time
from pathlib import Path

from pipeline import logs
from pipeline.app import Pipeline
from pipeline.cli import common
from pipeline.clock.scheduler import run_clock, run_once
from pipeline.jobs import tasks
from pipeline.records import Outcome
from pipeline.redact import redact, redactor
from pipeline.services.control import ControlService


def add_demo(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = commands.add_parser("demo", help="run a whole month offline on the bundled Thurrock example")
    demo.add_argument("--month", default="2026-11", metavar="YYYY-MM", help="the month to run (default: 2026-11)")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="where outputs go (default: demo-output)")
    demo.add_argument("--workspace", type=Path, help="another workspace folder instead of examples/thurrock")
    demo.set_defaults(func=cmd_demo)


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    collect = commands.add_parser("collect", help="collect national messages from the feeds that are due")
    collect.add_argument("--all", action="store_true", help="poll every live feed, due or not")
    common.add_at(collect)
    collect.set_defaults(func=cmd_collect)
    compose = commands.add_parser("compose", help="compose editions and posts that are due (or one entry)")
    compose.add_argument("entry", nargs="?", help="a calendar entry id (default: everything due)")
    compose.add_argument("--for", dest="for_date", metavar="YYYY-MM-DD", help="compose the entry's occurrence that day")
    common.add_at(compose)
    compose.set_defaults(func=cmd_compose)
    preview = commands.add_parser("preview", help="write an entry's next edition to HTML and text files")
    preview.add_argument("entry")
    preview.add_argument("--for", dest="for_date", metavar="YYYY-MM-DD")
    preview.add_argument("--out", type=Path, default=Path("var/preview"))
    preview.set_defaults(func=cmd_preview)
    dispatch = commands.add_parser("dispatch", help="send approved items whose time has come")
    common.add_at(dispatch)
    dispatch.set_defaults(func=cmd_dispatch)
    run = commands.add_parser("run", help="the clock process (Procfile: clock: comms run)")
    run.add_argument("--once", action="store_true", help="one wake-up, then exit (for cron and tests)")
    run.add_argument("--wait", action="store_true", help="if another clock runs, wait for it instead of exiting")
    common.add_at(run)
    run.set_defaults(func=cmd_run)
    pause = commands.add_parser("pause", help="incident freeze: nothing public goes out until `comms resume`")
    pause.add_argument("--reason", required=True)
    pause.add_argument("--by", default=None, help="who is pausing (default: your login name)")
    pause.set_defaults(func=cmd_pause)
    resume = commands.add_parser("resume", help="end the incident freeze")
    resume.add_argument("--by", default=None)
    resume.add_argument("--reason", default="")
    resume.set_defaults(func=cmd_resume)
    status = commands.add_parser("status", help="freeze, next wake-ups, last runs, failures, feeds")
    status.set_defaults(func=cmd_status)


def show(name: str, outcome: Outcome) -> int:
    print(f"{name}: {outcome.summary()}")
    for failure in outcome.failures:
        print(f"  failed: {redact(failure)}")
    return 1 if outcome.status == "failed" and outcome.failures else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    logs.configure("INFO", file=args.out / "comms.log")
    print(f"comms demo: a month of Prevent communications for the example workspace, {args.month}, offline\n")
    result = run_demo(args.month, args.out, args.workspace, progress=common.progress(args))
    common.stop_progress(args)
    print("\nOutputs:")
    for name, path in result.outputs.items():
        print(f"  {name:34} {path}")
    if result.failures:
        print(f"\n{len(result.failures)} thing(s) did not go out; they are listed in the report:")
        for failure in result.failures[:10]:
            print(f"  - {failure}")
    print(f"\nRun it again: nothing is sent twice. Logs: {args.out / 'comms.log'}")
    print(
        "To go live: copy .env.example to .env, fill in your SMTP server and each channel's lines, "
        "then `comms channels check` (it posts nothing)."
    )
    print(
        "\nOpen the web workspace on the demo's database (today at a glance, the approval queue, the calendar, "
        "the report, the figures, the feeds, the subscribers, the audit log):"
    )
    print(f"  {_program()} --env-file {result.web_env} web")
    print(f"then go to {result.web_url}/ in a browser and sign in as one of (new passwords every run):")
    for account in result.accounts:
        print(f"  {account.role:9} {account.email:27} password: {account.password}")
    return 0


def _program() -> str:
    """How this command was started (`.venv/bin/comms`, say), so the line printed can be pasted as it is."""
    started = sys.argv[0] if sys.argv else ""
    return started if Path(started).name == "comms" else "comms"


def cmd_collect(args: argparse.Namespace) -> int:
    """Exit 1 when feeds were polled and every one failed. Each failed feed is printed once, as one
    line; its log record (for the clock's log) would say it again on this terminal, so is held back."""
    p = common.pipeline_with_progress(args)
    now = common.parse_at(args.at, p.settings.tz)
    logging.getLogger("pipeline.jobs.collect").setLevel(logging.ERROR)
    outcome = p.run_job("collect", now, lambda: p.collect(now, force=args.all))
    code = show("collect", outcome)
    polled = outcome.counts.get("feeds", 0)
    return 1 if polled and outcome.counts.get("failed", 0) == polled else code


def _for_time(p: Pipeline, for_date: str | None) -> datetime | None:
    """`--for DAY`: compose as at the end of that day, so the entry's occurrence that day is due."""
    if not for_date:
        return None
    return datetime.combine(date.fromisoformat(for_date), time(23, 59), tzinfo=p.settings.tz).astimezone(UTC)


def cmd_compose(args: argparse.Namespace) -> int:
    p = common.pipeline_with_progress(args)
    now = _for_time(p, args.for_date) or common.parse_at(args.at, p.settings.tz)
    return show("compose", p.run_job("compose", now, lambda: p.compose(now, entry=args.entry)))


def cmd_preview(args: argparse.Namespace) -> int:
    from pipeline.rendering.preview import write_preview

    p = common.pipeline(args)
    notices: list[str] = []
    for path in write_preview(p, args.entry, args.for_date, args.out, notices):
        print(path)
    for said in notices:
        print(f"notice: {said}")
    return 0


def _stop_on_sigterm() -> threading.Event:
    """SIGTERM (a deploy, `kill`) lets the current send finish and starts nothing new."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    return stop


def cmd_dispatch(args: argparse.Namespace) -> int:
    p = common.pipeline_with_progress(args)
    now = common.parse_at(args.at, p.settings.tz)
    stop = _stop_on_sigterm()
    return show("dispatch", p.run_job("dispatch", now, lambda: tasks.dispatch(p, now, stop)))


def cmd_run(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    if not args.once:
        run_clock(p, wait=args.wait)
        return 0
    results = run_once(p, common.parse_at(args.at, p.settings.tz), wait=args.wait, stop=_stop_on_sigterm())
    return max(show(name, outcome) for name, outcome in results.items())


def cmd_pause(args: argparse.Namespace) -> int:
    ControlService.of(common.pipeline(args)).pause(common.actor(args), args.reason, common.now())
    print(f"paused: nothing public will go out until `comms resume`. Reason: {args.reason}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    ControlService.of(common.pipeline(args)).resume(common.actor(args), args.reason, common.now())
    print("resumed: items that are due go out at the next wake-up (or are marked missed if too late)")
    return 0


def _section(title: str, lines: list[str]) -> None:
    print(f"\n{title}:")
    print("\n".join(f"  {line}" for line in lines) if lines else "  none")


def cmd_status(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    view = ControlService.of(p).status(common.now())
    tz = p.settings.tz
    when = lambda moment: common.local(moment, tz)  # noqa: E731
    hide = redactor(p.settings)  # stored errors may predate redaction, or come from a feed's URL
    freeze = view.freeze
    print(
        f"Freeze: PAUSED since {when(freeze.at)} by {freeze.by}: {freeze.reason}"
        if freeze.paused
        else "Freeze: not paused"
    )
    _section(
        "Due next",
        [f"{when(d.at)}  {d.channel:22} {d.state:18} {d.title}" + (f" (#{d.item_id})" if d.item_id else "")
         for d in view.next_due]
        or ["nothing planned in the next two months"],
    )  # fmt: skip
    wake = next((m for name, m in view.next_wakeups if name == "wake"), None)
    print(f"\nThe clock wakes every five minutes (never 01:00-01:59); next at {when(wake)}")
    if p.settings.queue == "procrastinate":
        from pipeline.cli.worker_cmds import worker_lines

        _section("Workers (COMMS_QUEUE=procrastinate: the clock enqueues, workers run the jobs)", worker_lines(args))
    runs = view.last_runs
    _section(
        "Last run of each job",
        [f"{r.job:10} {when(r.started_at)}  {r.outcome:8} {hide(r.detail.splitlines()[0])}" for r in runs if r.detail]
        + [f"{r.job:10} {when(r.started_at)}  {r.outcome}" for r in runs if not r.detail],
    )
    _section(
        f"Failed or missed items ({len(view.failed)})",
        [
            f"#{i.id} {i.status:7} {when(i.due_at)} {i.channel}: {i.title} ({hide(i.reason or '')})"
            for i in view.failed[-10:]
        ],
    )
    waiting = view.awaiting_approval
    _section(
        f"Awaiting approval ({len(waiting)})",
        [f"#{i.id} {when(i.due_at)} {i.channel}: {i.title}" for i in waiting[:10]],
    )
    _section(
        "National messages changed at the source after we sent them",
        [f"{m.title}: {m.link}" for m in view.changed_after_sent],
    )
    _section(
        "Figures pulled from each channel (`comms metrics pull`; the clock pulls daily)",
        [
            f"{s.channel:22} last success {when(s.last_success_at)}; {s.posts} posts, {s.figures} figures"
            + (f"; last try {when(s.last_attempt_at)}: {hide(s.last_error.splitlines()[0])}" if s.last_error else "")
            for s in view.pulls
        ],
    )
    _section(
        "Feeds with problems",
        [
            f"{f.spec.name}: {'retired' if f.retired else f'{f.consecutive_failures} failures'}; "
            + hide(f.last_error or "")
            for f in view.feed_problems
        ],
    )
    return 0
