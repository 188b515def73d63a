"""Skip this one, move this one: a person's change to one occurrence of the stored plan.

An override is keyed by the occurrence's key (entry and planned day), the key the ledger composes
by, so a moved occurrence keeps its identity and is composed once, at its new time. The planner
applies overrides wherever the plan is read (composing, the calendar, gaps, status, reports,
exports). Refused: a time inside 01:00 to 02:00, a day the entry's own rules forbid, a time that
has passed, and an occurrence already composed (its item is changed in the queue instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from content_calendar.models import Entry, Occurrence, Override, Strategy
from content_calendar.overrides import change_problem, move_problem
from content_calendar.plan import OVERRIDE_REACH_DAYS, apply_override, plan
from content_calendar.rules import MAX_MOVE_DAYS
from pipeline.context import AppContext
from pipeline.errors import Conflict, Invalid, NotFound
from pipeline.ports import CalendarRepository, LedgerRepository
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require

MAX_REASON = 500


@dataclass(frozen=True)
class Changed:
    before: Occurrence  # as the plan had it
    after: Occurrence  # as it is now


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("reason: say why, so the team knows (e.g. 'clashes with the school fair')")
    if len(reason) > MAX_REASON:
        raise Invalid(f"reason: at most {MAX_REASON} characters")
    return reason


class OverrideService:
    def __init__(self, calendar: CalendarRepository, ledger: LedgerRepository | None) -> None:
        self.calendar, self.ledger = calendar, ledger

    @classmethod
    def of(cls, ctx: AppContext) -> OverrideService:
        return cls(ctx.repos.calendar, ctx.repos.ledger)

    def find(self, entry_id: str, day: date) -> tuple[Strategy, Entry, Occurrence]:
        """The occurrence of `entry_id` planned for `day` (or, failing that, shown on `day`)."""
        strategy = self.calendar.strategy()
        entry = next((e for e in self.calendar.entries() if e.id == entry_id), None)
        if strategy is None or entry is None:
            raise NotFound(f"no entry {entry_id!r} in the stored plan (run `comms calendar import`)")
        reach = timedelta(days=MAX_MOVE_DAYS + OVERRIDE_REACH_DAYS)
        found = plan(strategy, [entry], day - reach, day + reach, self.calendar.overrides())
        occ = next((o for o in found if o.key == f"{entry_id}@{day.isoformat()}"), None)
        occ = occ or next((o for o in found if o.start.date() == day), None)
        if occ is None:
            raise NotFound(f"{entry_id} has no occurrence on {day:%A %d %B %Y}")
        return strategy, entry, occ

    def _changeable(self, occ: Occurrence, now: datetime) -> None:
        problem = change_problem(occ, now)
        if problem:
            raise Conflict(problem)
        if self.ledger is None or self.ledger.states_for([f"compose:{occ.key}"]):
            raise Conflict(
                f"{occ.entry_id} on {occ.start:%d %b %Y} is already composed: change its item in the queue instead"
            )

    def skip(self, actor: Actor, entry_id: str, day: date, reason: str, now: datetime) -> Changed:
        require(actor, Permission.PLAN)
        reason = _reason(reason)
        _, _, occ = self.find(entry_id, day)
        if occ.status == "skipped":
            raise Conflict(f"{occ.entry_id} on {occ.start:%d %b %Y} is already skipped ({occ.reason})")
        self._changeable(occ, now)
        override = Override(occ.key, "skip", None, actor.name, reason, now)
        detail = f"skipped {occ.start:%Y-%m-%d %H:%M}: {reason}"
        self.calendar.save_override(override, audited(actor, "calendar.skipped", now, occ.key, detail))
        return Changed(occ, _after(occ, override))

    def move(self, actor: Actor, entry_id: str, day: date, to: datetime, reason: str, now: datetime) -> Changed:
        """Move one occurrence to `to` (naive times are the strategy's zone, Europe/London)."""
        require(actor, Permission.PLAN)
        reason = _reason(reason)
        strategy, entry, occ = self.find(entry_id, day)
        self._changeable(occ, now)
        problem = move_problem(strategy, entry, occ, to, now)
        if problem:
            raise Invalid(f"to: {problem}")
        tz = ZoneInfo(strategy.timezone)
        aware = to.astimezone(tz) if to.tzinfo else to.replace(tzinfo=tz)
        override = Override(occ.key, "move", aware, actor.name, reason, now)
        detail = f"moved {occ.start:%Y-%m-%d %H:%M} to {aware:%Y-%m-%d %H:%M}: {reason}"
        self.calendar.save_override(override, audited(actor, "calendar.moved", now, occ.key, detail))
        return Changed(occ, _after(occ, override))

    def restore(self, actor: Actor, entry_id: str, day: date, now: datetime) -> Occurrence:
        """Undo a skip or move: the occurrence goes back to where the plan and its rules put it."""
        require(actor, Permission.PLAN)
        _, _, occ = self.find(entry_id, day)
        self._changeable(occ, now)
        detail = f"restored; it was {occ.status} ({occ.reason})"
        if not self.calendar.remove_override(occ.key, audited(actor, "calendar.restored", now, occ.key, detail)):
            raise Conflict(f"{occ.entry_id} on {occ.start:%d %b %Y} has no skip or move to undo")
        return self.find(entry_id, date.fromisoformat(occ.key.rpartition("@")[2]))[2]

    def overrides(self, actor: Actor) -> list[Override]:
        require(actor, Permission.VIEW)
        return sorted(self.calendar.overrides().values(), key=lambda o: o.key)


def _after(occ: Occurrence, override: Override) -> Occurrence:
    return apply_override(occ, override)
