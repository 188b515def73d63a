"""The feed registry: add, list, remove, import from the workspace's feeds.yaml, and each feed's health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.ports import FeedRepository
from pipeline.records import FeedSpec, FeedState
from pipeline.services.actor import Actor
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class FeedHealth:
    feed: FeedState

    @property
    def state(self) -> str:
        """retired, failing or ok."""
        return "retired" if self.feed.retired else ("failing" if self.feed.consecutive_failures else "ok")


class FeedService:
    def __init__(self, workspace: Workspace, feeds: FeedRepository) -> None:
        self.workspace, self.feeds = workspace, feeds

    @classmethod
    def of(cls, ctx: AppContext) -> FeedService:
        return cls(ctx.workspace, ctx.repos.feeds)

    def add(self, actor: Actor, spec: FeedSpec) -> FeedSpec:
        """Add a feed, or update the one with this URL (its fetch state and health are kept)."""
        if not spec.url.strip() or not spec.name.strip():
            raise Invalid("a feed needs a URL and a name")
        if not spec.url.strip().lower().startswith(("http://", "https://")):
            raise Invalid("a feed's URL starts with http:// or https://")
        if spec.interval_minutes < 1:
            raise Invalid("a feed's interval is at least one minute")
        self.feeds.upsert([spec])
        return spec

    def list_feeds(self, actor: Actor) -> tuple[FeedState, ...]:
        return tuple(self.feeds.all())

    def status(self, actor: Actor) -> tuple[FeedHealth, ...]:
        return tuple(FeedHealth(f) for f in self.feeds.all())

    def remove(self, actor: Actor, url: str) -> None:
        """Stop polling a feed; its messages keep their provenance. NotFound if no feed has this URL."""
        if not self.feeds.remove(url):
            raise NotFound(f"no feed {url}")

    def import_workspace(self, actor: Actor) -> int:
        """Register (or update) every feed in the workspace's feeds.yaml; returns how many."""
        specs: Sequence[FeedSpec] = [spec for spec, _copy in self.workspace.feeds()]
        return self.feeds.upsert(specs)
