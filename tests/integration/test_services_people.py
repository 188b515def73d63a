"""Accounts, sign-in, roles and the audit log, on a real database (SQLite, and PostgreSQL where it runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SQLDatabaseError

from pipeline.errors import Conflict, Invalid, NotAllowed, NotFound
from pipeline.records import Audited
from pipeline.services.actor import Actor, ActorKind, Role
from pipeline.services.audit import AuditService
from pipeline.services.permissions import Permission, allows, can, require
from pipeline.services.users import MAX_FAILURES_PER_ACCOUNT, UserService, role_from_claim
from pipeline.storage.store import Repositories

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
TERMINAL = Actor.cli("ops")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def users(store: Repositories) -> UserService:
    return UserService(store.users, store.audit)


def test_roles_nest_and_the_terminal_may_not_draft_or_approve() -> None:
    assert allows(Role.ADMIN, Permission.APPROVE) and allows(Role.APPROVER, Permission.DRAFT)
    assert not allows(Role.AUTHOR, Permission.APPROVE) and not allows(Role.VIEWER, Permission.DRAFT)
    assert not allows(Role.APPROVER, Permission.MANAGE_USERS) and not allows(None, Permission.VIEW)
    assert can(Actor.clock(), Permission.APPROVE) and can(Actor.system(), Permission.FREEZE)
    assert can(TERMINAL, Permission.VIEW) and can(TERMINAL, Permission.FREEZE)
    assert not can(TERMINAL, Permission.APPROVE) and not can(TERMINAL, Permission.DRAFT)
    with pytest.raises(NotAllowed, match="is a viewer and cannot edit"):
        require(Actor.person("v@x.gov.uk", Role.VIEWER), Permission.DRAFT)


def test_a_local_account_signs_in_and_a_wrong_password_is_refused_alike(users: UserService) -> None:
    users.add(TERMINAL, " Ann@Thurrock.gov.uk ", "approver", NOW, name="Ann", password=PASSWORD)
    signed = users.authenticate("ANN@thurrock.gov.uk", PASSWORD, NOW, "10.0.0.1")
    assert signed.user.email == "ann@thurrock.gov.uk" and signed.actor == Actor.person(signed.user.email, Role.APPROVER)
    assert signed.user.last_signin_at == NOW
    refusals = []
    for email, password in (("ann@thurrock.gov.uk", "wrong password!"), ("nobody@thurrock.gov.uk", PASSWORD)):
        with pytest.raises(NotAllowed) as refused:
            users.authenticate(email, password, NOW, "10.0.0.1")
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1], "the same words whether or not the account exists"
    assert users.users.password_hash(
        "ann@thurrock.gov.uk",
    ).startswith("$argon2id$")  # type: ignore[union-attr]


def test_guessing_is_throttled_per_account_even_with_the_right_password(users: UserService) -> None:
    users.add(TERMINAL, "ann@thurrock.gov.uk", "author", NOW, password=PASSWORD)
    for i in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(NotAllowed, match="not right"):
            users.authenticate("ann@thurrock.gov.uk", f"guess number {i}", NOW, f"10.0.0.{i}")
    with pytest.raises(NotAllowed, match="too many attempts"):
        users.authenticate("ann@thurrock.gov.uk", PASSWORD, NOW + timedelta(minutes=1), "10.0.0.99")
    assert users.authenticate("ann@thurrock.gov.uk", PASSWORD, NOW + timedelta(minutes=16)).user.role == "author"


def test_a_deactivated_account_cannot_sign_in_and_the_last_admin_stays(users: UserService) -> None:
    users.add(TERMINAL, "boss@thurrock.gov.uk", "admin", NOW, password=PASSWORD)
    users.add(TERMINAL, "ann@thurrock.gov.uk", "author", NOW, password=PASSWORD)
    with pytest.raises(Conflict, match="only admin"):
        users.set_role(TERMINAL, "boss@thurrock.gov.uk", "approver", NOW)
    with pytest.raises(Conflict, match="only admin"):
        users.set_active(TERMINAL, "boss@thurrock.gov.uk", False, NOW)
    boss = users.actor_for("boss@thurrock.gov.uk")
    assert boss.kind == ActorKind.CLI and boss.role == Role.ADMIN
    with pytest.raises(NotAllowed, match="your own account"):
        users.set_active(Actor.person("boss@thurrock.gov.uk", Role.ADMIN), "boss@thurrock.gov.uk", False, NOW)
    users.set_active(TERMINAL, "ann@thurrock.gov.uk", False, NOW)
    with pytest.raises(NotAllowed):
        users.authenticate("ann@thurrock.gov.uk", PASSWORD, NOW)
    assert users.current("ann@thurrock.gov.uk") is None, "a signed-in session ends at the next request"
    with pytest.raises(NotAllowed, match="deactivated"):
        users.actor_for("ann@thurrock.gov.uk")


def test_bad_account_details_are_refused_with_the_field(users: UserService) -> None:
    with pytest.raises(Invalid, match="email address in the right format"):
        users.add(TERMINAL, "not an address", "author", NOW)
    with pytest.raises(Invalid, match="role must be one of viewer, author, approver, admin"):
        users.add(TERMINAL, "a@thurrock.gov.uk", "boss", NOW)
    with pytest.raises(Invalid, match="at least 12 characters"):
        users.add(TERMINAL, "a@thurrock.gov.uk", "author", NOW, password="short")
    users.add(TERMINAL, "a@thurrock.gov.uk", "author", NOW)
    with pytest.raises(Conflict, match="already a user"):
        users.add(TERMINAL, "A@thurrock.gov.uk", "viewer", NOW)
    with pytest.raises(NotAllowed, match="cannot manage users"):
        users.add(Actor.person("a@thurrock.gov.uk", Role.AUTHOR), "b@thurrock.gov.uk", "admin", NOW)
    with pytest.raises(NotFound, match="no user nobody@"):
        users.actor_for("nobody@thurrock.gov.uk")


def test_single_sign_on_takes_the_highest_role_from_the_claim_each_time(users: UserService) -> None:
    assert role_from_claim(["Comms.Author", "Comms.Approver", "Other.Thing"]) == Role.APPROVER
    assert role_from_claim(["admin"]) == Role.ADMIN and role_from_claim(["Finance.Reader"]) is None
    first = users.sso_signin("Sam@Thurrock.gov.uk", "Sam Smith", ["Comms.Approver"], NOW)
    assert (first.user.email, first.user.role, first.user.source, first.user.has_password) == (
        "sam@thurrock.gov.uk",
        "approver",
        "sso",
        False,
    )
    assert users.sso_signin("sam@thurrock.gov.uk", "Sam Smith", ["Comms.Viewer"], NOW).user.role == "viewer"
    with pytest.raises(NotAllowed, match="no role in this workspace"):
        users.sso_signin("sam@thurrock.gov.uk", "Sam Smith", [], NOW)
    with pytest.raises(NotAllowed):
        users.authenticate("sam@thurrock.gov.uk", "", NOW), "an SSO account has no password to guess"


def test_every_change_is_audited_and_the_log_refuses_changes(store: Repositories, users: UserService) -> None:
    users.add(TERMINAL, "boss@thurrock.gov.uk", "admin", NOW, password=PASSWORD)
    users.authenticate("boss@thurrock.gov.uk", PASSWORD, NOW, "10.1.2.3")
    with pytest.raises(NotAllowed):
        users.authenticate("boss@thurrock.gov.uk", "a wrong password", NOW, "10.1.2.3")
    audit = AuditService(store.audit)
    page = audit.search(Actor.person("boss@thurrock.gov.uk", Role.ADMIN))
    assert [e.action for e in page.entries] == ["signin.failed", "signin", "user.added"]
    assert page.entries[1].detail == "local; from 10.1.2.3" and page.total == 3
    assert audit.search(TERMINAL, action="signin").total == 2 and audit.search(TERMINAL, action="signin.").total == 1
    assert audit.search(TERMINAL, who="BOSS@thurrock.gov.uk").total == 1
    with pytest.raises(NotAllowed):
        audit.search(Actor.person("a@x.gov.uk", Role.AUTHOR))
    store.audit.record(Audited(NOW, "=cmd|' /C calc'!A0", "person", "item.edited", "item:1", "-2+3"))
    exported = audit.export_csv(TERMINAL).splitlines()
    assert exported[0] == "at,actor,actor_kind,action,target,detail"
    assert "'=cmd" in exported[1] and exported[1].endswith(",'-2+3"), "a spreadsheet formula is defused"
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(SQLDatabaseError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert audit.search(TERMINAL).total == 4
