"""Prove each channel's settings and credentials work before anything is due. Nothing is posted."""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import ChannelError
from content_calendar.strategy import load_strategy
from pipeline.context import AppContext
from pipeline.errors import NotFound
from pipeline.jobs.dispatch import unexpected
from pipeline.ports import AdapterLookup
from pipeline.redact import Redactor, redactor
from pipeline.services.actor import Actor
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class ChannelCheck:
    code: str
    kind: str
    ok: bool
    detail: str


class ChannelService:
    def __init__(self, workspace: Workspace, adapter_for: AdapterLookup, redact: Redactor | None = None) -> None:
        self.workspace, self.adapter_for, self.redact = workspace, adapter_for, redact or Redactor()

    @classmethod
    def of(cls, ctx: AppContext) -> ChannelService:
        return cls(ctx.workspace, ctx.adapter_for, redactor(ctx.settings))

    def check(self, actor: Actor, only: str | None = None) -> tuple[ChannelCheck, ...]:
        """Each channel in strategy.yaml asked to prove its settings work (`ChannelAdapter.check`),
        one at a time; one failing never stops the others."""
        strategy = load_strategy(self.workspace.strategy_path)
        out = [self._check(c.code, c.kind) for c in strategy.channels if not only or c.code == only]
        if only and not out:
            raise NotFound(f"no channel {only!r} in {self.workspace.strategy_path}")
        return tuple(out)

    def _check(self, code: str, kind: str) -> ChannelCheck:
        """One channel's check; what it says, right or wrong, shown without a secret."""
        found = self._checked(code, kind)
        return ChannelCheck(found.code, found.kind, found.ok, self.redact(found.detail))

    def _checked(self, code: str, kind: str) -> ChannelCheck:
        try:
            adapter = self.adapter_for(code, kind)
            route = "" if adapter.kind == kind else f" (routed to {adapter.kind})"
            return ChannelCheck(code, kind, True, adapter.check() + route)
        except ChannelError as exc:
            return ChannelCheck(code, kind, False, str(exc))
        except Exception as exc:  # an adapter's bug or a surprising answer
            return ChannelCheck(code, kind, False, str(unexpected(code, exc)))
