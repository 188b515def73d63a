"""The team's plan: check the calendar files against strategy.yaml, import them, read a month of it.

Checking and reading work on the workspace's files alone (no database); importing replaces the stored
plan whole, and only if every file is valid (`CalendarError` lists each problem otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from content_calendar.calendar import check_calendar, load_calendar
from content_calendar.collisions import Collision, find_collisions
from content_calendar.errors import CalendarError, Problem
from content_calendar.gaps import Gaps, find_gaps
from content_calendar.models import Entry, Override, Strategy
from content_calendar.plan import Occurrence, month_bounds, plan
from content_calendar.strategy import load_strategy
from pipeline.context import AppContext
from pipeline.ports import AuditRepository, CalendarRepository
from pipeline.progress import SILENT, Progress
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class PlanCheck:
    files: tuple[Path, ...]
    entries: int
    objectives: int
    problems: tuple[Problem, ...]
    warnings: tuple[Collision, ...] = ()  # stacked days and repeated post texts: shown, never a failure

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PlanImported:
    objectives: int
    entries: int


@dataclass(frozen=True)
class MonthPlan:
    strategy: Strategy
    entries: tuple[Entry, ...]
    first: date
    last: date
    occurrences: tuple[Occurrence, ...]


@dataclass(frozen=True)
class MonthGaps:
    month: str
    gaps: Gaps
    names: dict[str, str]  # a code (objective, audience, channel) as a person reads it


def calendar_files(workspace: Workspace, files: list[Path] | None = None) -> list[Path]:
    return list(files or []) or workspace.calendar_paths


def check_plan(workspace: Workspace, files: list[Path] | None = None, strategy_path: Path | None = None) -> PlanCheck:
    """Every problem in the calendar files, as FILE:LINE: field: message, and when there is none every
    collision (`content_calendar.collisions`), as FILE:LINE: entry: day: message; nothing is stored."""
    strategy = load_strategy(strategy_path or workspace.strategy_path)
    paths = calendar_files(workspace, files)
    entries, problems = check_calendar(paths, strategy)
    problems = sorted(problems + unknown_stories(workspace, entries))
    warnings = () if problems else tuple(collisions(strategy, entries))
    return PlanCheck(tuple(paths), len(entries), len(strategy.objectives), tuple(problems), warnings)


def collisions(strategy: Strategy, entries: list[Entry]) -> list[Collision]:
    """What the day rules stack and which posts repeat their text, over the calendar's span."""
    return find_collisions(strategy, entries)


def read_plan(workspace: Workspace, files: list[Path] | None = None) -> tuple[Strategy, list[Entry]]:
    strategy = load_strategy(workspace.strategy_path)
    entries = load_calendar(calendar_files(workspace, files), strategy)
    if problems := unknown_stories(workspace, entries):
        raise CalendarError(problems)
    return strategy, entries


def unknown_stories(workspace: Workspace, entries: list[Entry]) -> list[Problem]:
    """A pinned story (a `pin` that is not a link) must be a file in the workspace's stories/ folder."""
    pinned = [(e, pin) for e in entries for pin in e.pin if not pin.startswith(("http://", "https://"))]
    if not pinned:
        return []
    known = {s.slug for s in workspace.stories()}
    return [
        Problem(
            e.source, e.line, "pin", f"no story {pin!r} in {workspace.root / 'stories'} (its file name, without .md)"
        )
        for e, pin in pinned
        if pin not in known
    ]


def month_plan(
    workspace: Workspace,
    month: str,
    files: list[Path] | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> MonthPlan:
    """The month of the calendar files, with the team's stored skips and moves applied."""
    strategy, entries = read_plan(workspace, files)
    return plan_of(strategy, entries, month, overrides)


def plan_of(
    strategy: Strategy, entries: list[Entry], month: str, overrides: Mapping[str, Override] | None = None
) -> MonthPlan:
    first, last = month_bounds(month)
    occurrences = plan(strategy, entries, first, last, overrides)
    return MonthPlan(strategy, tuple(entries), first, last, tuple(occurrences))


def gaps_of(
    strategy: Strategy, entries: list[Entry], month: str, overrides: Mapping[str, Override] | None = None
) -> MonthGaps:
    return MonthGaps(month, find_gaps(strategy, entries, month, overrides), code_names(strategy))


def code_names(strategy: Strategy) -> dict[str, str]:
    """Each code (objective, audience, channel) as a person reads it."""
    names = {a.code: a.name for a in strategy.audiences} | {o.code: f"{o.code}. {o.title}" for o in strategy.objectives}
    return names | {c.code: c.name for c in strategy.channels}


def month_gaps(
    workspace: Workspace,
    month: str,
    files: list[Path] | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> MonthGaps:
    """Objectives with no activity, audiences not reached in three months, channels with nothing planned."""
    strategy, entries = read_plan(workspace, files)
    return gaps_of(strategy, entries, month, overrides)


class PlanService:
    progress: Progress = SILENT  # an import's steps (read and checked, saved), drawn on a terminal

    def __init__(
        self, workspace: Workspace, calendar: CalendarRepository, audit: AuditRepository | None = None
    ) -> None:
        self.workspace, self.calendar, self.audit = workspace, calendar, audit

    @classmethod
    def of(cls, ctx: AppContext) -> PlanService:
        service = cls(ctx.workspace, ctx.repos.calendar, ctx.repos.audit)
        service.progress = ctx.progress
        return service

    def import_plan(self, actor: Actor, now: datetime, files: list[Path] | None = None) -> PlanImported:
        """Load strategy.yaml and the calendar files; replace the stored plan only if all are valid."""
        require(actor, Permission.PLAN)
        self.progress("importing the calendar", 0, 2)
        strategy, entries = read_plan(self.workspace, files)
        self.progress("importing the calendar", 1, 2)
        self.calendar.import_plan(strategy, entries, now)
        self.progress("importing the calendar", 2, 2)
        if self.audit is not None:
            detail = f"{len(entries)} entries against {len(strategy.objectives)} objectives"
            self.audit.record(audited(actor, "plan.imported", now, "calendar", detail))
        return PlanImported(len(strategy.objectives), len(entries))
