"""Who is doing something: a signed-in person, a named command-line user, the clock, the system.

Every use case takes an actor, so a rule such as four eyes reads the same whichever face calls it.
A person signed in to the web, or named at the command line (`--by EMAIL`), carries their account's role;
`pipeline.services.permissions` says what each role may do.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    PERSON = "person"  # signed in to the web workspace
    CLI = "cli"  # a named user of the command line (`--by`, or the login name)
    CLOCK = "clock"  # the scheduled jobs
    SYSTEM = "system"  # the pipeline itself, e.g. the one-click unsubscribe endpoint


class Role(StrEnum):
    VIEWER = "viewer"
    AUTHOR = "author"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    name: str
    kind: ActorKind
    role: Role | None = None

    @classmethod
    def cli(cls, name: str | None = None, role: Role | None = None) -> Actor:
        """A command-line user: an account named with `--by` (with its role), else the login name (no
        role: it may read, pause and add users, but not draft or approve)."""
        return cls((name or "").strip() or _login_name(), ActorKind.CLI, role)

    @classmethod
    def person(cls, name: str, role: Role) -> Actor:
        """Someone signed in to the web workspace, by their account's email."""
        return cls(name, ActorKind.PERSON, role)

    @classmethod
    def clock(cls) -> Actor:
        return cls("clock", ActorKind.CLOCK)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name, ActorKind.SYSTEM)

    @property
    def is_person(self) -> bool:
        """A human being (signed in or at the command line), as opposed to the clock or the system."""
        return self.kind in (ActorKind.PERSON, ActorKind.CLI)

    def same_person(self, name: str | None) -> bool:
        """Whether `name` (as recorded on a row) is this actor, ignoring case and outer spaces."""
        return bool(name) and (name or "").strip().casefold() == self.name.strip().casefold()

    def __str__(self) -> str:
        return self.name


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"
