"""Prove each channel's settings and credentials work before anything is due. Nothing is posted.

The channels are strategy.yaml's, and the staff channel beside them: approvers' digests, lapse reminders
and failure alerts go as channel `staff` (`pipeline.jobs.staff_mail`), through the shared SMTP settings or
its own (`COMMS_CHANNEL__STAFF__...`), although no plan names it. A team whose staff mail cannot go would
otherwise learn it only when an item lapsed unapproved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from channels.base import ChannelError
from content_calendar.models import Strategy
from content_calendar.strategy import load_strategy
from pipeline.context import AppContext
from pipeline.errors import NotFound
from pipeline.jobs.dispatch import unexpected
from pipeline.jobs.staff_mail import STAFF_CHANNEL, staff_adapter
from pipeline.ports import AdapterLookup, ChannelAdapter
from pipeline.redact import Redactor, redactor
from pipeline.services.actor import Actor
from pipeline.workspace import Workspace

STAFF_NOTE = "staff notifications"
StaffAdapter = Callable[[], ChannelAdapter]


@dataclass(frozen=True)
class ChannelCheck:
    code: str
    kind: str
    ok: bool
    detail: str
    note: str = ""  # what the channel is for when strategy.yaml does not say (the staff channel)


class ChannelService:
    def __init__(
        self,
        workspace: Workspace,
        adapter_for: AdapterLookup,
        redact: Redactor | None = None,
        staff: StaffAdapter | None = None,
    ) -> None:
        self.workspace, self.adapter_for, self.redact = workspace, adapter_for, redact or Redactor()
        self.staff = staff

    @classmethod
    def of(cls, ctx: AppContext) -> ChannelService:
        settings = ctx.settings
        return cls(ctx.workspace, ctx.adapter_for, redactor(settings), staff=lambda: staff_adapter(settings))

    def check(self, actor: Actor, only: str | None = None) -> tuple[ChannelCheck, ...]:
        """Each channel in strategy.yaml asked to prove its settings work (`ChannelAdapter.check`),
        one at a time, then the staff channel; one failing never stops the others."""
        strategy = load_strategy(self.workspace.strategy_path)
        out = [self._check(c.code, c.kind) for c in strategy.channels if not only or c.code == only]
        if self.staff is not None and self._checks_staff(strategy) and (not only or only == STAFF_CHANNEL):
            out.append(self._check_staff(self.staff))
        if only and not out:
            raise NotFound(f"no channel {only!r} in {self.workspace.strategy_path} (nor is it {STAFF_CHANNEL!r})")
        return tuple(out)

    def _checks_staff(self, strategy: Strategy) -> bool:
        """Whether the staff channel needs a check of its own: not when strategy.yaml has an email
        channel coded `staff`, which is checked already with the same settings."""
        return not any(c.code == STAFF_CHANNEL and c.kind == "email" for c in strategy.channels)

    def _check(self, code: str, kind: str) -> ChannelCheck:
        """One channel's check; what it says, right or wrong, shown without a secret."""
        found = self._checked(code, kind, lambda: self.adapter_for(code, kind))
        return ChannelCheck(found.code, found.kind, found.ok, self.redact(found.detail))

    def _check_staff(self, staff: StaffAdapter) -> ChannelCheck:
        """The staff channel, on an adapter built as staff mail builds it (its own sender), closed
        afterwards: it is no process's kept adapter."""
        found = self._checked(STAFF_CHANNEL, "email", staff, close=True)
        return ChannelCheck(STAFF_CHANNEL, "email", found.ok, self.redact(found.detail), STAFF_NOTE)

    def _checked(
        self, code: str, kind: str, build: Callable[[], ChannelAdapter], *, close: bool = False
    ) -> ChannelCheck:
        adapter: ChannelAdapter | None = None
        try:
            adapter = build()
            route = "" if adapter.kind == kind else f" (routed to {adapter.kind})"
            return ChannelCheck(code, kind, True, adapter.check() + route)
        except ChannelError as exc:
            return ChannelCheck(code, kind, False, str(exc))
        except Exception as exc:  # an adapter's bug or a surprising answer
            return ChannelCheck(code, kind, False, str(unexpected(code, exc)))
        finally:
            if close and adapter is not None:
                adapter.close()
