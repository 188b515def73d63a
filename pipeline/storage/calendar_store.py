"""The imported strategy and calendar: replaced whole, in one transaction, or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from content_calendar.codec import entry_from_dict, entry_to_dict, plan_digest, ranges_to_list, strategy_from_parts
from content_calendar.models import Audience, Channel, Entry, Objective, Override, Strategy
from pipeline.errors import PlanChanged
from pipeline.records import Audited
from pipeline.storage.base import StoreBase
from pipeline.storage.events import EventBus
from pipeline.storage.tables import AudienceRow, ChannelRow, EntryRow, MetaRow, ObjectiveRow, OverrideRow


def _override(r: OverrideRow) -> Override:
    return Override(r.key, r.action, r.move_to, r.by, r.reason, r.at)  # type: ignore[arg-type]


class CalendarStore(StoreBase):
    def __init__(self, engine: Engine, events: EventBus | None = None) -> None:
        super().__init__(engine)
        self.events = events

    def _audit(self, s: Session, audit: Audited | None) -> None:
        if audit is not None and self.events is not None:
            self.events.publish(s.connection(), [audit])

    def import_plan(
        self,
        strategy: Strategy,
        entries: list[Entry],
        now: datetime,
        *,
        expect_digest: str | None = None,
        audit: Audited | None = None,
    ) -> None:
        """Replace the strategy and every calendar entry at once. Nothing changes if anything fails,
        or if `expect_digest` is given and the stored entries no longer have it (`PlanChanged`)."""
        with self.session() as s:
            if expect_digest is not None:
                s.get(MetaRow, "strategy", with_for_update=True)  # one import at a time (PostgreSQL)
                stored = [entry_from_dict(r.data) for r in s.exec(select(EntryRow))]
                if plan_digest(stored) != expect_digest:
                    raise PlanChanged("the stored plan changed since this difference was made: upload the file again")
            for table in (EntryRow, ObjectiveRow, AudienceRow, ChannelRow):
                s.exec(delete(table))  # type: ignore[call-overload]
            for o in strategy.objectives:
                s.add(ObjectiveRow(code=o.code, title=o.title, outcome=o.outcome, targets=dict(o.targets)))
            for a in strategy.audiences:
                s.add(AudienceRow(code=a.code, name=a.name, parent=a.parent))
            for c in strategy.channels:
                s.add(
                    ChannelRow(
                        code=c.code,
                        name=c.name,
                        kind=c.kind,
                        facing=c.facing,
                        template=c.template,
                        lead_days=c.lead_days,
                        approvals=c.approvals,
                    )
                )
            meta = {
                "version": uuid.uuid4().hex,  # readers cache the plan until this changes
                "name": strategy.name,
                "timezone": strategy.timezone,
                "terms": ranges_to_list(strategy.terms),
                "pre_election": ranges_to_list(strategy.pre_election),
            }
            row = s.get(MetaRow, "strategy") or MetaRow(key="strategy")
            row.value = meta
            s.add(row)
            for e in entries:
                s.add(EntryRow(id=e.id, data=entry_to_dict(e), source=e.source, line=e.line, imported_at=now))
            self._audit(s, audit)

    def version(self) -> str | None:
        with self.session() as s:
            meta = s.get(MetaRow, "strategy")
            return str(meta.value.get("version")) if meta is not None else None

    def overrides(self) -> dict[str, Override]:
        """Every skip and move a person made, by occurrence key."""
        with self.session() as s:
            return {r.key: _override(r) for r in s.exec(select(OverrideRow))}

    def save_override(self, override: Override, audit: Audited | None = None) -> None:
        """Record (or replace) the override of one occurrence, with its audit entry, in one transaction."""
        with self.session() as s:
            row = s.get(OverrideRow, override.key)
            if row is not None:
                s.delete(row)
                s.flush()
            s.add(
                OverrideRow(
                    key=override.key,
                    entry_id=override.entry_id,
                    action=override.action,
                    move_to=override.to,
                    by=override.by,
                    reason=override.reason,
                    at=override.at,
                )
            )
            self._audit(s, audit)

    def remove_override(self, key: str, audit: Audited | None = None) -> bool:
        with self.session() as s:
            row = s.get(OverrideRow, key)
            if row is None:
                return False
            s.delete(row)
            self._audit(s, audit)
            return True

    def strategy(self) -> Strategy | None:
        snapshot = self._snapshot()
        return snapshot[0] if snapshot else None

    def entries(self) -> list[Entry]:
        snapshot = self._snapshot()
        return list(snapshot[1]) if snapshot else []

    def _snapshot(self) -> tuple[Strategy, tuple[Entry, ...]] | None:
        """The imported plan, read once per import: one small query says whether it changed (another
        process may have imported since), and only then are the rows read again."""
        with self.session() as s:
            meta = s.get(MetaRow, "strategy")
            if meta is None:
                return None
            version = meta.value.get("version")
            cached = self.__dict__.get("_plan_cache")
            if cached is not None and version is not None and cached[0] == version:
                return cached[1]  # type: ignore[no-any-return]
            objectives = [
                Objective(r.code, r.title, r.outcome, tuple(r.targets.items()))
                for r in s.exec(select(ObjectiveRow).order_by(ObjectiveRow.code))
            ]
            audiences = [Audience(r.code, r.name, r.parent) for r in s.exec(select(AudienceRow))]
            channels = [
                Channel(r.code, r.name, r.kind, r.facing, r.template, r.lead_days, r.approvals)  # type: ignore[arg-type]
                for r in s.exec(select(ChannelRow))
            ]
            entries = tuple(entry_from_dict(r.data) for r in s.exec(select(EntryRow).order_by(EntryRow.id)))  # type: ignore[arg-type]
            snapshot = (strategy_from_parts(meta.value, objectives, audiences, channels), entries)
            self.__dict__["_plan_cache"] = (version, snapshot)
            return snapshot
