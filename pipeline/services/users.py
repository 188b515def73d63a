"""The comms team's accounts: local ones with argon2 passwords, and people signed in through single
sign-on (OpenID Connect, e.g. Microsoft Entra ID) with their role from a claim.

Sign-in attempts are rate-limited in the database, so every web worker shares the count: after
`MAX_FAILURES_PER_ACCOUNT` failures for one account, or `MAX_FAILURES_PER_ADDRESS` from one address,
within `WINDOW`, further attempts are refused until the window passes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.context import AppContext
from pipeline.errors import Conflict, Invalid, NotAllowed, NotFound
from pipeline.ports import AuditRepository, UserRepository
from pipeline.records import Audited, User
from pipeline.services.actor import Actor, Role
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require

MIN_PASSWORD = 12  # NCSC: length over complexity; three random words pass
MAX_PASSWORD = 1024
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """A hash to check a missing account's password against, so it costs the same time (made on first
    use: every command imports this module, and hashing takes a while)."""
    return _hasher.hash("a password nobody has, so a missing account costs the same time")


def normalise_email(email: str) -> str:
    value = (email or "").strip().lower()
    if len(value) > 254 or not EMAIL.match(value):
        raise Invalid(f"enter an email address in the right format, like name@council.gov.uk (not {email!r:.80})")
    return value


def check_role(role: str) -> Role:
    try:
        return Role((role or "").strip().lower())
    except ValueError:
        raise Invalid(f"role must be one of {', '.join(r.value for r in Role)}, not {role!r:.40}") from None


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters (three random words work well)")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"a password can have at most {MAX_PASSWORD} characters")
    return password


def new_password() -> str:
    """A random password to hand to a new user once (they should change it)."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class SignedIn:
    user: User
    actor: Actor


class UserService:
    def __init__(self, users: UserRepository, audit: AuditRepository) -> None:
        self.users, self.audit = users, audit

    @classmethod
    def of(cls, ctx: AppContext) -> UserService:
        return cls(ctx.repos.users, ctx.repos.audit)

    # who acts -------------------------------------------------------------------------------
    def actor_for(self, email: str) -> Actor:
        """The account behind an email, as a command-line actor with its role (`--by`, COMMS_USER)."""
        user = self.users.user(normalise_email(email))
        if user is None:
            raise NotFound(f"no user {email.strip().lower()}: add one with `comms users add EMAIL --role ROLE`")
        if not user.active:
            raise NotAllowed(f"{user.email} is deactivated")
        return Actor.cli(user.email, Role(user.role))

    def list_users(self, actor: Actor) -> list[User]:
        require(actor, Permission.MANAGE_USERS)
        return self.users.users()

    def own_account(self, actor: Actor) -> User:
        """The account of whoever acts: anyone may read their own."""
        return self._user(normalise_email(actor.name))

    def approvers(self) -> list[User]:
        """Everyone active who can approve (approvers and admins), for notifications."""
        return [u for u in self.users.users(active_only=True) if u.role in (Role.APPROVER, Role.ADMIN)]

    def admins(self) -> list[User]:
        return self.users.users(role=Role.ADMIN, active_only=True)

    # managing accounts ----------------------------------------------------------------------
    def add(
        self, actor: Actor, email: str, role: str, now: datetime, *, name: str = "", password: str | None = None
    ) -> User:
        """A local account. The command line may always add one (it holds the database); in the web,
        only an admin."""
        if actor.role is not None:
            require(actor, Permission.MANAGE_USERS)
        email, checked = normalise_email(email), check_role(role)
        hashed = _hasher.hash(check_password(password)) if password is not None else None
        user = self.users.add_user(email, name.strip()[:200], checked.value, hashed, "local", now)
        self.audit.record(audited(actor, "user.added", now, f"user:{email}", f"role {checked.value}"))
        return user

    def set_role(self, actor: Actor, email: str, role: str, now: datetime) -> User:
        if actor.role is not None:
            require(actor, Permission.MANAGE_USERS)
        email, checked = normalise_email(email), check_role(role)
        before = self._user(email)
        self._keep_an_admin(before, checked)
        user = self.users.update_user(email, role=checked.value)
        self.audit.record(audited(actor, "user.role", now, f"user:{email}", f"{before.role} -> {checked.value}"))
        return user

    def set_password(self, actor: Actor, email: str, password: str, now: datetime) -> User:
        email = normalise_email(email)
        if actor.role is not None and not actor.same_person(email):
            require(actor, Permission.MANAGE_USERS)
        self._user(email)
        user = self.users.update_user(email, password_hash=_hasher.hash(check_password(password)))
        self.users.forget_signins(f"email:{email}")
        self.audit.record(audited(actor, "user.password", now, f"user:{email}"))
        return user

    def set_active(self, actor: Actor, email: str, active: bool, now: datetime) -> User:
        if actor.role is not None:
            require(actor, Permission.MANAGE_USERS)
            if not active and actor.same_person(email):
                raise NotAllowed("you cannot deactivate your own account")
        email = normalise_email(email)
        before = self._user(email)
        if not active:
            self._keep_an_admin(before, None)
        user = self.users.update_user(email, active=active)
        self.audit.record(audited(actor, "user.activated" if active else "user.deactivated", now, f"user:{email}"))
        return user

    def _user(self, email: str) -> User:
        user = self.users.user(email)
        if user is None:
            raise NotFound(f"no user {email}")
        return user

    def _keep_an_admin(self, user: User, new_role: Role | None) -> None:
        """The last active admin cannot be demoted or deactivated: someone must be able to manage users."""
        if user.role != Role.ADMIN or new_role == Role.ADMIN or not user.active:
            return
        if len(self.admins()) <= 1:
            raise Conflict(f"{user.email} is the only admin; make someone else an admin first")

    # signing in -----------------------------------------------------------------------------
    def authenticate(self, email: str, password: str, now: datetime, address: str = "") -> SignedIn:
        """A local sign-in. Every refusal says the same thing, whether the account exists or not."""
        refused = NotAllowed("the email address or password is not right")
        try:
            email = normalise_email(email)
        except Invalid:
            raise refused from None
        keys = [f"email:{email}"] + ([f"ip:{address}"] if address else [])
        since = now - WINDOW
        if self.users.failed_signins(keys[0], since) >= MAX_FAILURES_PER_ACCOUNT or (
            address and self.users.failed_signins(keys[1], since) >= MAX_FAILURES_PER_ADDRESS
        ):
            self.audit.record(_audit_signin(email, "signin.throttled", now, address))
            raise NotAllowed(
                f"too many attempts to sign in: wait {int(WINDOW.total_seconds() // 60)} minutes and try again"
            )
        stored = self.users.password_hash(email)
        try:
            ok = _hasher.verify(stored or _dummy(), password[:MAX_PASSWORD]) and stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        user = self.users.user(email) if ok else None
        if user is None or not user.active:
            self.users.failed_signin(keys, now)
            self.audit.record(_audit_signin(email, "signin.failed", now, address))
            raise refused
        if stored and _hasher.check_needs_rehash(stored):
            self.users.update_user(email, password_hash=_hasher.hash(password))
        return self._signed_in(user, now, address, "local")

    def sso_signin(self, email: str, name: str, roles: Iterable[str], now: datetime, address: str = "") -> SignedIn:
        """A person the identity provider vouched for. Their role comes from the provider's claim (Entra
        app roles such as `Comms.Approver`, or plain `approver`), the highest one they hold; it is
        updated at every sign-in, so removing the role in the provider removes it here."""
        email = normalise_email(email)
        role = role_from_claim(roles)
        if role is None:
            self.audit.record(_audit_signin(email, "signin.no_role", now, address))
            raise NotAllowed("your account has no role in this workspace: ask an admin to give you one")
        user = self.users.user(email)
        if user is None:
            user = self.users.add_user(email, name.strip()[:200], role.value, None, "sso", now)
        elif not user.active:
            self.audit.record(_audit_signin(email, "signin.failed", now, address))
            raise NotAllowed(f"{email} is deactivated in this workspace")
        elif user.role != role or (name and user.name != name):
            user = self.users.update_user(email, role=role.value, name=name.strip()[:200] or user.name)
        return self._signed_in(user, now, address, "sso")

    def _signed_in(self, user: User, now: datetime, address: str, how: str) -> SignedIn:
        self.users.forget_signins(f"email:{user.email}")
        self.users.forget_signins(before=now - WINDOW)  # old failures: nothing to keep
        user = self.users.update_user(user.email, last_signin_at=now)
        actor = Actor.person(user.email, Role(user.role))
        self.audit.record(audited(actor, "signin", now, f"user:{user.email}", f"{how}; from {address or '-'}"))
        return SignedIn(user, actor)

    def signed_out(self, actor: Actor, now: datetime) -> None:
        self.audit.record(audited(actor, "signout", now, f"user:{actor.name}"))

    def current(self, email: str, stamp: str | None = None) -> Actor | None:
        """The actor for a session's email as the account is now: None once deactivated or removed, so a
        role change or deactivation takes effect at the next request; None too when `stamp` (the one the
        session was signed in with) is no longer the account's, i.e. its password was changed since."""
        user = self.users.user(email)
        if user is None or not user.active:
            return None
        if stamp is not None and not hmac.compare_digest(stamp, self.session_stamp(user.email)):
            return None
        return Actor.person(user.email, Role(user.role))

    def session_stamp(self, email: str) -> str:
        """A short digest of the account's password hash ("sso" for an account without one). A web session
        keeps the stamp it began with, so setting a new password ends every other session of the account."""
        stored = self.users.password_hash(email)
        return hashlib.sha256(b"comms session stamp\x00" + stored.encode()).hexdigest()[:24] if stored else "sso"


def role_from_claim(values: Iterable[str]) -> Role | None:
    order = [Role.VIEWER, Role.AUTHOR, Role.APPROVER, Role.ADMIN]
    found = -1
    for value in values:
        word = str(value).rsplit(".", 1)[-1].strip().lower()
        if word in {r.value for r in order}:
            found = max(found, order.index(Role(word)))
    return order[found] if found >= 0 else None


def _audit_signin(email: str, action: str, now: datetime, address: str) -> Audited:
    return audited(Actor.system("sign-in"), action, now, f"user:{email}", f"from {address or '-'}")
