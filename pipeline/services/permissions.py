"""Who may do what: the four roles and what each allows, in one table every face reads.

The roles nest: an author can do what a viewer can, an approver what an author can, an admin
everything. Four eyes is not a role: it is the rule in `OutboxService.approve` that whoever created or
last edited an item never approves it, whatever their role.

The clock and the system (the pipeline itself) act without a role; a person, signed in to the web or
named at the command line, acts with the role of their account.
"""

from __future__ import annotations

from enum import StrEnum

from pipeline.errors import NotAllowed
from pipeline.services.actor import Actor, ActorKind, Role


class Permission(StrEnum):
    VIEW = "view the queue, items, calendar and reports"
    DRAFT = "edit, comment on and retry items"
    APPROVE = "approve, reject and cancel items"
    PLAN = "import the plan, manage feeds and add metrics"
    SUBSCRIBERS = "import, export, unsubscribe and erase subscribers"
    AUDIT = "read the audit log"
    FREEZE = "pause and resume sending"
    MANAGE_USERS = "manage users"
    JOBS = "see, retry and cancel the job queue's jobs"


_ORDER = (Role.VIEWER, Role.AUTHOR, Role.APPROVER, Role.ADMIN)
LEAST_ROLE: dict[Permission, Role] = {
    Permission.VIEW: Role.VIEWER,
    Permission.DRAFT: Role.AUTHOR,
    Permission.APPROVE: Role.APPROVER,
    Permission.PLAN: Role.AUTHOR,
    Permission.SUBSCRIBERS: Role.ADMIN,
    Permission.AUDIT: Role.APPROVER,
    Permission.FREEZE: Role.ADMIN,
    Permission.MANAGE_USERS: Role.ADMIN,
    Permission.JOBS: Role.ADMIN,
}


def allows(role: Role | str | None, permission: Permission) -> bool:
    if role is None:
        return False
    try:
        return _ORDER.index(Role(role)) >= _ORDER.index(LEAST_ROLE[permission])
    except ValueError:
        return False


TERMINAL = frozenset(Permission) - {Permission.DRAFT, Permission.APPROVE}
"""What the command line may do without naming a user: whoever runs it holds the database and the
workspace files, so reading, importing, pausing in an emergency and adding the first admin need no
account. Drafting and approving do: four eyes is about people, so `--by EMAIL` (or COMMS_USER) must
name an account with the role."""


def can(actor: Actor, permission: Permission) -> bool:
    """Whether `actor` may: the clock and the system always; a person by their role."""
    if not actor.is_person:
        return True
    if actor.role is None:
        return actor.kind == ActorKind.CLI and permission in TERMINAL
    return allows(actor.role, permission)


def require(actor: Actor, permission: Permission) -> None:
    if can(actor, permission):
        return
    if actor.role is None:
        raise NotAllowed(
            f"{actor.name} is not a user of this workspace, so cannot {permission.value}: "
            "name one with --by (add one with `comms users add EMAIL --role ROLE`)"
        )
    need = LEAST_ROLE[permission]
    raise NotAllowed(f"{actor.name} is {_a(actor.role)} and cannot {permission.value}: that needs {_a(need)}")


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"
