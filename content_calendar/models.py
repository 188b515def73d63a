"""Immutable records that cross every boundary: the strategy, calendar entries and occurrences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

Policy = Literal["skip", "move", "keep"]
POLICIES: tuple[str, ...] = ("skip", "move", "keep")
Approval = Literal["required", "auto"]
# What to do when the day rules stack several occurrences of one entry on one day (None: keep, and warn).
OnCollision = Literal["merge", "keep"]
ON_COLLISION: tuple[str, ...] = ("merge", "keep")
# Who a channel faces decides whether the pre-election period holds it back.
Facing = Literal["residents", "members", "partners", "schools", "internal"]
FACINGS: tuple[str, ...] = ("residents", "members", "partners", "schools", "internal")
# The destinations a channel can be (each has an adapter in channels/registry.py; a test keeps them equal).
CHANNEL_KINDS = frozenset(
    {
        "email",
        "notify",
        "facebook",
        "x",
        "linkedin",
        "mastodon",
        "bluesky",
        "viva-engage",
        "sharepoint",
        "wordpress",
        "hootsuite",
        "file",
        "memory",
    }
)
HELD_IN_PRE_ELECTION: frozenset[str] = frozenset({"residents", "members"})


@dataclass(frozen=True)
class Objective:
    code: str
    title: str
    outcome: str = ""
    # metric name -> monthly target
    targets: tuple[tuple[str, float], ...] = ()

    @property
    def target_map(self) -> dict[str, float]:
        return dict(self.targets)


@dataclass(frozen=True)
class Audience:
    code: str
    name: str
    parent: str | None = None


@dataclass(frozen=True)
class Channel:
    code: str
    name: str
    kind: str  # adapter kind: email, file, mastodon, ...
    facing: Facing = "residents"
    template: str | None = None
    lead_days: int = 2  # compose this many days before the send time
    approvals: int = 1  # distinct people who must approve each item (never its author or last editor)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive
    name: str = ""

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Strategy:
    name: str
    objectives: tuple[Objective, ...]
    audiences: tuple[Audience, ...]
    channels: tuple[Channel, ...]
    terms: tuple[DateRange, ...] = ()
    pre_election: tuple[DateRange, ...] = ()
    timezone: str = "Europe/London"

    def objective(self, code: str) -> Objective | None:
        return next((o for o in self.objectives if o.code == code), None)

    def channel(self, code: str) -> Channel | None:
        return next((c for c in self.channels if c.code == code), None)

    def audience(self, code: str) -> Audience | None:
        return next((a for a in self.audiences if a.code == code), None)

    def audience_with_children(self, code: str) -> set[str]:
        """An audience and everything nested under it: Educators includes Headteachers."""
        found = {code}
        changed = True
        while changed:
            more = {a.code for a in self.audiences if a.parent in found} - found
            found |= more
            changed = bool(more)
        return found


@dataclass(frozen=True)
class Entry:
    """One row of the content calendar: a thing the team plans to publish, once or on a repeat."""

    id: str
    title: str
    channel: str
    audiences: tuple[str, ...]
    objectives: tuple[str, ...]
    template: str
    start: date
    at: time
    key_messages: tuple[str, ...] = ()
    owner: str = ""
    repeat: str | None = None
    until: date | None = None
    approval: Approval = "required"
    on_bank_holiday: Policy = "move"
    on_school_holiday: Policy = "keep"
    on_pre_election: Policy | None = None  # None: decided by the channel's facing
    missed_after_hours: int = 24  # past this, a due send is marked missed rather than sent late
    # Stories (by file name) and links an edition may repeat although the list already had them.
    pin: tuple[str, ...] = ()
    window_days: int | None = None  # national messages from this many days before the issue (None: since the last)
    on_collision: OnCollision | None = None  # stacked occurrences: merge, or keep silently (None: keep and warn)
    source: str = ""
    line: int = 0


@dataclass(frozen=True)
class Occurrence:
    """One planned moment of an entry, in local time, after the UK calendar rules were applied."""

    entry_id: str
    title: str
    start: datetime  # aware, Europe/London
    channel: str
    audiences: tuple[str, ...]
    objectives: tuple[str, ...]
    template: str
    status: Literal["planned", "moved", "skipped"] = "planned"
    reason: str = ""
    original: datetime | None = None
    approval: Approval = "required"
    key_messages: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """Stable identity of this occurrence, for the effects ledger: the entry and its planned day."""
        planned = self.original or self.start
        return f"{self.entry_id}@{planned.date().isoformat()}"


OverrideAction = Literal["skip", "move"]


@dataclass(frozen=True)
class Override:
    """A person's change to one occurrence: skip it, or move it to another day and time. It is keyed
    by the occurrence's key (entry and planned day), so a moved occurrence keeps its identity."""

    key: str  # Occurrence.key: "entry@YYYY-MM-DD", the day the plan (with its rules) first put it on
    action: OverrideAction
    to: datetime | None  # aware, for a move
    by: str
    reason: str
    at: datetime

    @property
    def entry_id(self) -> str:
        return self.key.rpartition("@")[0]

    @property
    def day(self) -> date:
        return date.fromisoformat(self.key.rpartition("@")[2])
