"""Reach measured at the source: pull each channel's own figures now (`comms metrics pull`; the clock
does it daily), say which channels can measure and which take figures by import only, and when each
channel's figures were last pulled.

Pulling is a job like collecting: it reads the destinations and records what they report, so any
signed-in person (a viewer included) or the clock may ask for it; `comms status` shows each pull.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from channels import registry
from content_calendar.strategy import load_strategy
from pipeline.context import AppContext
from pipeline.jobs import tasks
from pipeline.jobs.measure import measure
from pipeline.records import Outcome, PullState
from pipeline.services.actor import Actor
from pipeline.services.permissions import Permission, require


@dataclass(frozen=True)
class ChannelMeasuring:
    """What `comms channels list` says of a channel: its kind, and what it measures."""

    code: str
    kind: str
    name: str
    measures: str  # what it measures, or "figures by import only"

    @property
    def measured(self) -> bool:
        return self.measures != registry.IMPORT_ONLY


class MeasureService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @classmethod
    def of(cls, ctx: AppContext) -> MeasureService:
        return cls(ctx)

    def pull(self, actor: Actor, now: datetime, *, channel: str | None = None, since: date | None = None) -> Outcome:
        """Every measuring channel's figures of the posts published since `since` (a year by default),
        or one channel's; recorded as job `measure` (`comms status`)."""
        require(actor, Permission.VIEW)
        return tasks.run_job(self.ctx, "measure", now, lambda: measure(self.ctx, now, only=channel, since=since))

    def channels(self, actor: Actor) -> list[ChannelMeasuring]:
        """Each channel of strategy.yaml, with what it measures; the GA4 property, when configured."""
        require(actor, Permission.VIEW)
        strategy = load_strategy(self.ctx.workspace.strategy_path)
        routed = self.ctx.settings.file_channels
        out = []
        for c in strategy.channels:
            to_file = c.code in routed or ("*" in routed and c.kind != "email")
            what = registry.IMPORT_ONLY if to_file else registry.measures(c.kind)
            out.append(ChannelMeasuring(c.code, c.kind, c.name, what))
        settings = self.ctx.settings
        if settings.ga4_property_id:
            paths = ", ".join(settings.ga4_page_paths)
            out.append(
                ChannelMeasuring(
                    settings.ga4_channel,
                    "ga4",
                    f"Google Analytics 4 property {settings.ga4_property_id}",
                    f"page views and downloads of {paths} per month, for objective {settings.ga4_objective or '?'}",
                )
            )
        return out

    def pulls(self, actor: Actor) -> list[PullState]:
        require(actor, Permission.VIEW)
        return self.ctx.repos.measures.pull_states()
