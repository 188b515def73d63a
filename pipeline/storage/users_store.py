"""The comms team's accounts, and the failed sign-ins that rate-limit guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pipeline.errors import Conflict, NotFound
from pipeline.records import User
from pipeline.storage.base import StoreBase
from pipeline.storage.tables import SigninAttemptRow, UserRow


def _user(r: UserRow) -> User:
    assert r.id is not None
    return User(
        r.id, r.email, r.name, r.role, r.active, r.password_hash is not None, r.source, r.created_at, r.last_signin_at
    )


class UserStore(StoreBase):
    """Implements `ports.UserRepository`."""

    def add_user(self, email: str, name: str, role: str, password_hash: str | None, source: str, now: datetime) -> User:
        try:
            with self.session() as s:
                row = UserRow(
                    email=email, name=name, role=role, password_hash=password_hash, source=source, created_at=now
                )
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError:
            raise Conflict(f"there is already a user {email}") from None

    def user(self, email: str) -> User | None:
        with self.session() as s:
            row = s.exec(select(UserRow).where(UserRow.email == email)).first()
            return _user(row) if row else None

    def password_hash(self, email: str) -> str | None:
        with self.session() as s:
            row = s.exec(select(UserRow).where(UserRow.email == email)).first()
            return row.password_hash if row else None

    def users(self, role: str | None = None, active_only: bool = False) -> list[User]:
        with self.session() as s:
            q = select(UserRow).order_by(col(UserRow.email))
            if role:
                q = q.where(UserRow.role == role)
            if active_only:
                q = q.where(col(UserRow.active).is_(True))
            return [_user(r) for r in s.exec(q)]

    def count_users(self) -> int:
        with self.session() as s:
            return int(s.exec(select(func.count()).select_from(UserRow)).one())

    def update_user(self, email: str, **changes: object) -> User:
        """Change a user's name, role, password_hash, active, source or last_signin_at."""
        allowed = {"name", "role", "password_hash", "active", "source", "last_signin_at"}
        with self.session() as s:
            row = s.exec(select(UserRow).where(UserRow.email == email).with_for_update()).first()
            if row is None:
                raise NotFound(f"no user {email}")
            for key, value in changes.items():
                if key not in allowed:
                    raise ValueError(f"not a user field: {key}")
                setattr(row, key, value)
            s.add(row)
            return _user(row)

    # the sign-in rate limit -------------------------------------------------------------------
    def failed_signin(self, keys: list[str], now: datetime) -> None:
        with self.session() as s:
            for key in keys:
                s.add(SigninAttemptRow(key=key, at=now))

    def failed_signins(self, key: str, since: datetime) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(SigninAttemptRow)
            q = q.where(SigninAttemptRow.key == key, col(SigninAttemptRow.at) >= since)
            return int(s.exec(q).one())

    def forget_signins(self, key: str | None = None, before: datetime | None = None) -> None:
        """Clear an account's failures (after a good sign-in), or every failure older than `before`."""
        with self.session() as s:
            q = delete(SigninAttemptRow)
            if key is not None:
                q = q.where(col(SigninAttemptRow.key) == key)
            if before is not None:
                q = q.where(col(SigninAttemptRow.at) < before)
            s.exec(q)  # type: ignore[call-overload]
