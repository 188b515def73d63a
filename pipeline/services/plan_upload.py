"""A calendar file uploaded from the web workspace: checked, shown as a difference against the stored
plan, then applied all or nothing.

The calendar stays in the team's files. An upload that is valid is staged in the workspace
(`calendar/.staged/<token>/`) until it is applied or a day passes. Applying it replaces the
workspace's calendar files with the uploaded one (the files it replaces are kept in
`calendar/replaced/<UTC time>/`) and imports it into the database in one transaction; if the import
fails (the stored plan changed since the difference was shown, say), the files are put back as they
were. The difference is bound to a digest of the stored plan, so what is applied is what was shown.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from content_calendar.calendar import check_calendar, load_calendar
from content_calendar.codec import plan_digest
from content_calendar.difference import PlanDifference, difference
from content_calendar.errors import Problem
from content_calendar.models import Entry, Strategy
from content_calendar.strategy import load_strategy
from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.ports import CalendarRepository
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.workspace import Workspace

SUFFIXES = (".csv", ".yaml", ".yml")
HORIZON = timedelta(days=366)  # the occurrences that move are shown for a year from today
STAGED_FOR = timedelta(days=1)
TOKEN = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Upload:
    name: str
    token: str  # the staged file's id (a digest of its content)
    base: str  # the stored plan's digest the difference was made against
    entries: int
    problems: tuple[Problem, ...]
    difference: PlanDifference | None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Applied:
    name: str
    entries: int
    replaced: tuple[str, ...]  # the calendar files it replaced, as kept under calendar/replaced/
    difference: PlanDifference


def file_name(name: str) -> str:
    """The uploaded file's own name, without any folder, in plain characters."""
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name.replace("\\", "/")).name).strip(" .")
    if not base.lower().endswith(SUFFIXES):
        raise Invalid("file: choose a CSV or YAML calendar file (.csv, .yaml or .yml)")
    return base[:100]


class PlanUpload:
    def __init__(self, workspace: Workspace, calendar: CalendarRepository) -> None:
        self.workspace, self.calendar = workspace, calendar

    @classmethod
    def of(cls, ctx: AppContext) -> PlanUpload:
        return cls(ctx.workspace, ctx.repos.calendar)

    @property
    def folder(self) -> Path:
        return self.workspace.root / "calendar"

    def check(self, actor: Actor, name: str, content: bytes, now: datetime) -> Upload:
        """Every problem in the file as FILE:LINE: field: message, or the difference it would make."""
        require(actor, Permission.PLAN)
        name = file_name(name)
        if not content.strip():
            raise Invalid("file: the file is empty")
        strategy = load_strategy(self.workspace.strategy_path)
        token = hashlib.sha256(content).hexdigest()[:32]
        with tempfile.TemporaryDirectory(prefix="comms-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(content)
            entries, problems = check_calendar([path], strategy)
        if problems:
            shown = tuple(replace(p, file=name) if p.file == str(path) else p for p in problems)
            return Upload(name, token, "", len(entries), shown, None)
        stored = self.calendar.entries()
        found = self.difference(strategy, stored, entries, now)
        self._stage(token, name, content, now)
        return Upload(name, token, plan_digest(stored), len(entries), (), found)

    def difference(self, strategy: Strategy, stored: list[Entry], new: list[Entry], now: datetime) -> PlanDifference:
        today = now.astimezone(ZoneInfo(strategy.timezone)).date()
        return difference(strategy, stored, new, today, today + HORIZON, self.calendar.overrides())

    def _stage(self, token: str, name: str, content: bytes, now: datetime) -> None:
        staged = self.folder / ".staged"
        for old in staged.glob("*") if staged.is_dir() else []:
            if old.is_dir() and datetime.fromtimestamp(old.stat().st_mtime, now.tzinfo) < now - STAGED_FOR:
                shutil.rmtree(old, ignore_errors=True)
        here = staged / token
        here.mkdir(parents=True, exist_ok=True)
        (here / name).write_bytes(content)

    def staged(self, token: str) -> Path:
        found = sorted((self.folder / ".staged" / token).glob("*")) if TOKEN.fullmatch(token) else []
        if not found:
            raise NotFound("this upload was applied already or has expired: upload the file again")
        return found[0]

    def apply(self, actor: Actor, token: str, base: str, now: datetime) -> Applied:
        """Replace the workspace's calendar files and the stored plan with the staged upload, only if the
        stored plan is still the one the difference was made against; nothing changes otherwise."""
        require(actor, Permission.PLAN)
        source = self.staged(token)
        strategy = load_strategy(self.workspace.strategy_path)
        stored = self.calendar.entries()
        current = self.workspace.calendar_paths
        archive = self.folder / "replaced" / f"{now.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H%M%SZ}"
        target = self.folder / source.name
        moved: list[Path] = []
        try:
            archive.mkdir(parents=True, exist_ok=True)
            for path in current:
                os.replace(path, archive / path.name)
                moved.append(path)
            shutil.copyfile(source, target.with_name(target.name + ".part"))
            os.replace(target.with_name(target.name + ".part"), target)
            entries = load_calendar([target], strategy)
            found = self.difference(strategy, stored, entries, now)
            detail = f"uploaded {target.name}: {len(entries)} entries ({_counts(found)})"
            audit = audited(actor, "plan.imported", now, "calendar", detail)
            self.calendar.import_plan(strategy, entries, now, expect_digest=base, audit=audit)
        except BaseException:
            target.unlink(missing_ok=True)
            for path in moved:
                os.replace(archive / path.name, path)
            _remove_empty(archive)
            raise
        shutil.rmtree(source.parent, ignore_errors=True)
        _remove_empty(archive)
        return Applied(target.name, len(entries), tuple(p.name for p in moved), found)


def _counts(found: PlanDifference) -> str:
    return f"{len(found.added)} added, {len(found.removed)} removed, {len(found.changed)} changed"


def _remove_empty(folder: Path) -> None:
    """Remove the archive folder (and `replaced/` above it) when nothing was kept there."""
    for here in (folder, folder.parent):
        if here.is_dir() and not any(here.iterdir()):
            here.rmdir()
