"""The feed registry: add, list, remove, import from the workspace's feeds.yaml, and each feed's health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.ports import AuditRepository, FeedRepository
from pipeline.records import FeedSpec, FeedState
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class FeedHealth:
    feed: FeedState

    @property
    def state(self) -> str:
        """retired, failing or ok."""
        return "retired" if self.feed.retired else ("failing" if self.feed.consecutive_failures else "ok")


class FeedService:
    def __init__(self, workspace: Workspace, feeds: FeedRepository, audit: AuditRepository | None = None) -> None:
        self.workspace, self.feeds, self.audit = workspace, feeds, audit

    @classmethod
    def of(cls, ctx: AppContext) -> FeedService:
        return cls(ctx.workspace, ctx.repos.feeds, ctx.repos.audit)

    def _audit(self, actor: Actor, action: str, target: str, detail: str = "") -> None:
        if self.audit is not None:
            self.audit.record(audited(actor, action, datetime.now(UTC), target, detail))

    def add(self, actor: Actor, spec: FeedSpec) -> FeedSpec:
        """Add a feed, or update the one with this URL (its fetch state and health are kept)."""
        if not spec.url.strip() or not spec.name.strip():
            raise Invalid("a feed needs a URL and a name")
        if not spec.url.strip().lower().startswith(("http://", "https://")):
            raise Invalid("a feed's URL starts with http:// or https://")
        if spec.interval_minutes < 1:
            raise Invalid("a feed's interval is at least one minute")
        require(actor, Permission.PLAN)
        self.feeds.upsert([spec])
        self._audit(actor, "feed.added", f"feed:{spec.url}", spec.name)
        return spec

    def list_feeds(self, actor: Actor) -> tuple[FeedState, ...]:
        return tuple(self.feeds.all())

    def status(self, actor: Actor) -> tuple[FeedHealth, ...]:
        return tuple(FeedHealth(f) for f in self.feeds.all())

    def remove(self, actor: Actor, url: str) -> None:
        """Stop polling a feed; its messages keep their provenance. NotFound if no feed has this URL."""
        require(actor, Permission.PLAN)
        if not self.feeds.remove(url):
            raise NotFound(f"no feed {url}")
        self._audit(actor, "feed.removed", f"feed:{url}")

    def import_workspace(self, actor: Actor) -> int:
        """Register (or update) every feed in the workspace's feeds.yaml; returns how many."""
        require(actor, Permission.PLAN)
        specs: Sequence[FeedSpec] = [spec for spec, _copy in self.workspace.feeds()]
        count = self.feeds.upsert(specs)
        self._audit(actor, "feeds.imported", "feeds.yaml", f"{count} feeds")
        return count
