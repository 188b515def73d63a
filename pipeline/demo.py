"""`comms demo`: a whole month of a team's work, offline, on the bundled Thurrock example.

Every stage runs on the real code path: the saved feeds are served over a local HTTP server and
fetched with the real collector; editions are compiled with MJML; email goes through a real local
SMTP server that the demo starts; social and intranet posts go to the file outbox. The demo makes three
accounts on its own database (an admin, an author and an approver, each with a new password every run),
and the approver approves each item as soon as it is queued, through the same use case (four eyes
included) as a click in the workspace. A second run of the same month sends nothing twice: the ledger
already holds every effect. At the end, `web.env` in the output folder opens the same database in the
web workspace (`comms --env-file demo-output/web.env web`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from content_calendar.plan import month_bounds, plan
from pipeline.app import Pipeline, make_pipeline
from pipeline.errors import Conflict
from pipeline.localservers import Mailbox, smtp_server, static_http
from pipeline.progress import SILENT, Progress
from pipeline.records import ItemStatus
from pipeline.rendering.personalise import Personaliser, recipient_values
from pipeline.reporting.files import write_report_html
from pipeline.reporting.report import report_csv, report_json
from pipeline.services.actor import Actor, Role
from pipeline.services.metrics import MetricsService
from pipeline.services.outbox import OutboxService
from pipeline.services.users import UserService, new_password
from pipeline.settings import Settings, load_settings

# The demo's team: made on the demo's database, each with a new password every run.
DEMO_PEOPLE = (
    ("admin@demo.example.org", "Alex Admin", Role.ADMIN),
    ("author@demo.example.org", "Ash Author", Role.AUTHOR),
    ("approver@demo.example.org", "Sam Approver", Role.APPROVER),
)
WEB_URL = "http://127.0.0.1:8000"  # where `comms web` listens by default


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str
    password: str


@dataclass
class DemoResult:
    month: str
    out: Path
    planned: int = 0
    messages: int = 0
    editions: int = 0
    posts: int = 0
    emails_received: int = 0
    posts_written: int = 0
    metrics: int = 0
    failures: list[str] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    accounts: list[DemoAccount] = field(default_factory=list)
    approved_by: str = ""
    web_env: Path | None = None
    web_url: str = WEB_URL


def bundled_workspace() -> Path:
    """examples/thurrock from a checkout, else the copy installed with the package."""
    local = Path("examples/thurrock")
    if (local / "strategy.yaml").exists():
        return local
    from importlib.resources import files

    return Path(str(files("comms_examples"))) / "thurrock"


def _demo_settings(out: Path, workspace: Path, smtp: tuple[str, int]) -> Settings:
    secret_file = out / ".demo-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32))
    return load_settings(
        environ={},
        env_file=None,
        database_url=f"sqlite:///{(out / 'comms.db').resolve()}",
        workspace=workspace,
        outbox_dir=out / "outbox",
        smtp_host=smtp[0],
        smtp_port=smtp[1],
        smtp_security="none",
        secret_key=secret_file.read_text().strip(),
        file_channels=("*",),
        public_base_url="https://comms.example.org",
        smtp_pool_size=2,
    )


def _serve_offline_copies(pipeline: Pipeline, base_url: str) -> int:
    """Register the real feeds, and fetch each from its saved copy on the local HTTP server."""
    pipeline.import_feeds()
    for spec, copy in pipeline.workspace.feeds():
        if copy:
            pipeline.feed_rewrites[spec.url] = f"{base_url}/{Path(copy).name}"
    return len(pipeline.feed_rewrites)


def wake_times(pipeline: Pipeline, month: str, tz: ZoneInfo) -> list[datetime]:
    """Every moment in the month when something is to be composed or sent, in order."""
    strategy = pipeline.repos.calendar.strategy()
    assert strategy is not None
    first, last = month_bounds(month)
    start = datetime.combine(first, time(0, 5), tzinfo=tz)
    end = datetime.combine(last, time(23, 59), tzinfo=tz)
    moments = {start}
    for occ in plan(
        strategy,
        pipeline.repos.calendar.entries(),
        first,
        last + timedelta(days=7),
        pipeline.repos.calendar.overrides(),
    ):
        channel = strategy.channel(occ.channel)
        lead = timedelta(days=channel.lead_days if channel else 0)
        moments |= {m for m in (occ.start - lead, occ.start) if start <= m <= end}
    return sorted(moments)


def _make_accounts(pipeline: Pipeline, now: datetime) -> list[DemoAccount]:
    """The demo's admin, author and approver, as `comms users add` makes them; on a second run the
    accounts are kept and given new passwords (none is stored anywhere but as its hash)."""
    users, setup = UserService.of(pipeline), Actor.cli("comms demo")
    accounts = []
    for email, name, role in DEMO_PEOPLE:
        password = new_password()
        try:
            users.add(setup, email, role, now, name=name, password=password)
        except Conflict:
            users.set_password(setup, email, password, now)
        accounts.append(DemoAccount(email, name, role.value, password))
    return accounts


def _approve_all(pipeline: Pipeline, now: datetime, approver: Actor, second: Actor) -> int:
    """Every item awaiting approval, approved by the demo's approver (and by its admin as well, for a
    channel that needs two people), through the approval use case."""
    outbox = OutboxService.of(pipeline)
    waiting = outbox.list_items(approver, status=ItemStatus.AWAITING_APPROVAL)
    for item in waiting:
        if not outbox.approve(approver, item.id, now).complete:
            outbox.approve(second, item.id, now)
    return len(waiting)


def _write_web_env(out: Path, settings: Settings) -> Path:
    """The settings that open the demo's database and workspace in `comms web`, on this computer only
    (http://127.0.0.1, so the session cookie is not marked Secure). Readable by its owner only: it holds
    the demo's secret key."""
    path = out / "web.env"
    lines = [
        "# Written by `comms demo`: the demo's database in the web workspace. Start it with",
        f"#   comms --env-file {path} web",
        f"COMMS_DATABASE_URL={settings.database_url}",
        f"COMMS_WORKSPACE={settings.workspace.resolve()}",
        f"COMMS_OUTBOX_DIR={settings.outbox_dir.resolve()}",
        "COMMS_FILE_CHANNELS=*",
        f"COMMS_SECRET_KEY={settings.secret_key}",
        f"COMMS_PUBLIC_BASE_URL={WEB_URL}",
        "# No clock runs on the demo's data, so the workspace does not watch for one.",
        "COMMS_WEB_WATCHDOG=false",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _import_metrics(pipeline: Pipeline, month: str, actor: Actor, now: datetime) -> int:
    """The month's exports and feedback forms, imported as `comms metrics import` does (a file imported
    again replaces what it added, and each import is audited); returns how many figures are new."""
    metrics, added = MetricsService.of(pipeline), 0
    for path in sorted((pipeline.workspace.root / "metrics").glob(f"{month}-*.csv")):
        if "feedback" in path.name:
            done = metrics.import_file(actor, path, "feedback", now=now, month=month)
        elif "facebook" in path.name:
            done = metrics.import_file(
                actor, path, "facebook", now=now, objective="1", audience="residents", month=month
            )
        else:
            done = metrics.import_file(actor, path, "generic", now=now, month=month)
        added += 0 if done.replaced.same else done.figures  # the same file read the same way: nothing new
    return added


def _month_end(month: str, tz: ZoneInfo) -> datetime:
    """08:00 local on the first day after `month`, when the clock writes the month's report."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(following, time(8, 0), tzinfo=tz)


def _write_previews(pipeline: Pipeline, out: Path, month: str) -> dict[str, Path]:
    """Each email edition of the month as the reader sees it, personalised for a sample reader."""
    folder = out / "editions"
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for edition in reversed(pipeline.repos.outbox.editions(200)):
        if edition.status != "composed" or not edition.occurrence_key.split("@")[1].startswith(month):
            continue
        nonce = pipeline.repos.outbox.edition_inputs(edition.id)["nonce"]
        values = recipient_values(
            "Sample Reader",
            "Sample School",
            "reader@example.org",
            "https://comms.example.org/unsubscribe?token=preview",
        )
        name = edition.occurrence_key.replace("@", "-")
        html_path, text_path = folder / f"{name}.html", folder / f"{name}.txt"
        html_path.write_text(Personaliser(edition.html, nonce).render(values), encoding="utf-8")
        text_path.write_text(Personaliser(edition.text, nonce, escape=False).render(values), encoding="utf-8")
        paths.setdefault(f"edition:{edition.entry_id}", html_path)
    return paths


def _count_posts(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.json")) if folder.exists() else 0


def run_demo(
    month: str,
    out: Path,
    workspace: Path | None = None,
    echo: Callable[[str], None] = print,
    progress: Progress = SILENT,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DemoResult:
    """The month, run as the clock would run it. `clock` is read for what happens "now" rather than in the
    month: the figures' import and the report's "produced on" (a fixed clock makes the report the same
    every run: tests/e2e/test_demo.py compares it with tests/golden/demo-report-*)."""
    out.mkdir(parents=True, exist_ok=True)
    workspace = workspace or bundled_workspace()
    result = DemoResult(month, out)
    mailbox = Mailbox(out / "mailbox")
    with static_http(workspace / "feeds") as feed_base, smtp_server(mailbox) as smtp:
        settings = _demo_settings(out, workspace, smtp)
        pipeline = make_pipeline(settings)
        pipeline.progress = progress
        tz = settings.tz
        first, last = month_bounds(month)
        setup_time = datetime.combine(first - timedelta(days=7), time(9), tzinfo=tz).astimezone(UTC)
        result.accounts = _make_accounts(pipeline, setup_time)
        users = UserService.of(pipeline)
        approver, admin = users.actor_for(DEMO_PEOPLE[2][0]), users.actor_for(DEMO_PEOPLE[0][0])
        result.approved_by = f"{DEMO_PEOPLE[2][1]} ({approver.name})"
        objectives, entries = pipeline.import_plan(now=setup_time)
        strategy = pipeline.repos.calendar.strategy()
        assert strategy is not None
        occurrences = [
            o
            for o in plan(strategy, pipeline.repos.calendar.entries(), first, last, pipeline.repos.calendar.overrides())
            if o.status != "skipped"
        ]
        result.planned = len(occurrences)
        echo(
            f"1. plan      {entries} calendar entries against {objectives} objectives: "
            f"{len(occurrences)} activities in {first:%B %Y}"
        )
        _serve_offline_copies(pipeline, feed_base)
        pipeline.import_subscribers()
        collected = pipeline.collect(datetime.combine(first - timedelta(days=1), time(6), tzinfo=tz), force=True)
        result.messages = collected.counts.get("new", 0)
        echo(
            f"2. collect   {collected.counts['feeds']} feeds over local HTTP: {result.messages} new national messages"
            f"{', ' + str(len(collected.failures)) + ' failed' if collected.failures else ''}"
        )
        dispatcher = pipeline.dispatcher()
        posts_before = _count_posts(settings.outbox_dir)
        approved, moments = 0, wake_times(pipeline, month, tz)
        for step, moment in enumerate(moments):
            progress(f"the month's wake-ups ({first:%B %Y})", step, len(moments))
            now = moment.astimezone(UTC)
            outcomes = pipeline.wake(now, dispatcher)
            result.editions += outcomes["compose"].counts.get("editions", 0)
            result.posts += outcomes["compose"].counts.get("posts", 0)
            result.failures += [f for o in outcomes.values() for f in o.failures]
            approved += _approve_all(pipeline, now, approver, admin)
            if approved:
                dispatch = pipeline.run_job("dispatch", now, partial(pipeline.dispatch, now, dispatcher))
                result.failures += list(dispatch.failures)
        progress(f"the month's wake-ups ({first:%B %Y})", len(moments), len(moments))
        echo(f"3. compose   {result.editions} email editions compiled with MJML, {result.posts} posts written")
        echo(f"4. queue     {approved} items approved by {result.approved_by}, as each was queued (four eyes)")
        result.emails_received = len(mailbox.received)
        result.posts_written = _count_posts(settings.outbox_dir) - posts_before
        echo(
            f"5. send      {result.emails_received} emails received this run by the local SMTP server "
            f"(127.0.0.1:{smtp[1]})"
        )
        echo(f"6. publish   {result.posts_written} social and intranet posts written to the file outbox this run")
        result.metrics = _import_metrics(pipeline, month, admin, clock())
        echo(f"7. measure   {result.metrics} new figures imported (analytics export, feedback forms, by hand)")
        report_at = _month_end(month, tz)  # as the clock writes it: once the month is over
        report = pipeline.report(month, report_at)
        result.outputs["report_html"] = write_report_html(
            pipeline.renderer, report, out / f"report-{month}.html", clock().astimezone(tz)
        )
        (out / f"report-{month}.json").write_text(report_json(report), encoding="utf-8")
        (out / f"report-{month}.csv").write_text(report_csv(report), encoding="utf-8")
        result.outputs["report_json"] = out / f"report-{month}.json"
        result.outputs["report_csv"] = out / f"report-{month}.csv"
        echo(
            f"8. report    {len(report['objectives'])} objectives; {report['summary']['delivered']} of "
            f"{report['summary']['due']} activities delivered; {len(report['failures'])} failures shown"
        )
        result.outputs |= _write_previews(pipeline, out, month)
        result.outputs["mailbox"] = out / "mailbox"
        result.outputs["outbox"] = settings.outbox_dir
        result.web_env = result.outputs["web_env"] = _write_web_env(out, settings)
        pipeline.repos.engine.dispose()
    return result
