"""The composition root: everything a process needs, built once when it starts.

`open_context(settings)` opens the database (bringing its schema up to date once, under a lock), the
team's workspace, the templates and the channel adapters. The command line builds one per command;
the clock and a queue worker build one at start-up and every job they run uses it, so `--env-file`
reaches the jobs and nothing is rebuilt or migrated per job. `close()` closes the adapters'
connections and the database pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from channels import registry
from pipeline.ports import AdapterLookup, ChannelAdapter
from pipeline.progress import SILENT, Progress
from pipeline.rendering.render import Renderer
from pipeline.services.month_cache import MonthCache
from pipeline.settings import Settings
from pipeline.shared_limits import RateLimited, limits_for
from pipeline.storage.rate_limits import SharedRateLimiter
from pipeline.storage.schema import SchemaState, schema_state, upgrade
from pipeline.storage.store import Repositories, open_repositories
from pipeline.workspace import Workspace

__all__ = ["AdapterLookup", "AppContext", "ChannelAdapters", "SchemaState", "open_context", "schema_state", "upgrade"]


class ChannelAdapters:
    """The adapter of each channel code, built on first use from the settings and kept for the
    process's life (an SMTP pool, an HTTP session, a token). Given a PostgreSQL engine, each adapter's
    sends keep within its credential's limits across every process (`pipeline.shared_limits`)."""

    def __init__(self, settings: Settings, shared: Engine | None = None) -> None:
        self.settings, self.shared = settings, shared
        self._built: dict[str, ChannelAdapter] = {}

    def __call__(self, code: str, kind: str) -> ChannelAdapter:
        if code not in self._built:
            adapter = registry.build(code, kind, self.settings)
            found = limits_for(code, kind, self.settings) if self.shared is not None else None
            if found is not None and self.shared is not None and adapter.kind == kind:
                adapter = RateLimited(adapter, SharedRateLimiter(self.shared, *found))
            self._built[code] = adapter
        return self._built[code]

    def close(self) -> None:
        built, self._built = self._built, {}
        for adapter in built.values():
            adapter.close()


@dataclass
class AppContext:
    settings: Settings
    repos: Repositories
    workspace: Workspace
    renderer: Renderer
    adapter_for: AdapterLookup
    feed_rewrites: dict[str, str] = field(default_factory=dict)  # only the demo and tests set this
    progress: Progress = SILENT  # how far long work has got: the command line draws it on a terminal
    months: MonthCache[Any] = field(default_factory=MonthCache)  # the web calendar's planned months

    def close(self) -> None:
        close = getattr(self.adapter_for, "close", None)
        if close is not None:
            close()
        self.repos.close()


def open_context(
    settings: Settings, repos: Repositories | None = None, adapter_for: AdapterLookup | None = None
) -> AppContext:
    workspace = Workspace.open(settings.workspace)
    repos = repos or open_repositories(
        settings.database_url,
        lease=timedelta(seconds=settings.claim_lease_seconds),
        pool_size=settings.smtp_pool_size + 5,
    )
    return AppContext(
        settings=settings,
        repos=repos,
        workspace=workspace,
        renderer=Renderer(workspace.template_dirs),
        adapter_for=adapter_for or ChannelAdapters(settings, repos.engine if repos.is_postgres else None),
    )
