"""The imported strategy and calendar: replaced whole, in one transaction, or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import delete, select

from content_calendar.codec import entry_from_dict, entry_to_dict, ranges_to_list, strategy_from_parts
from content_calendar.models import Audience, Channel, Entry, Objective, Strategy
from pipeline.storage.base import StoreBase
from pipeline.storage.tables import AudienceRow, ChannelRow, EntryRow, MetaRow, ObjectiveRow


class CalendarStore(StoreBase):
    def import_plan(self, strategy: Strategy, entries: list[Entry], now: datetime) -> None:
        """Replace the strategy and every calendar entry at once. Nothing changes if anything fails."""
        with self.session() as s:
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
