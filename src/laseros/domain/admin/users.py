"""The admin's user records (SPEC §8.6): create, edit, reset a password, lift a sign-in lock.

One rule guards every change: the shop always keeps at least one active admin, so the last one can
be neither demoted nor deactivated (a Conflict, HTTP 409, that says why).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import action, utcnow
from laseros.domain.admin.models import User, UserSession
from laseros.domain.admin.passwords import password_problem
from laseros.domain.admin.roles import ROLE_LABELS, Role
from laseros.domain.admin.services import AuthService, UserService
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.fields import FieldReader
from laseros.domain.kernel.paging import Export

# What a username may hold: typed on a phone, shown in logs and CSVs, compared without case.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
USERNAME_MAX = 80
ROLE_CHOICES = [role.value for role in Role]


@dataclass(frozen=True)
class UserInput:
    """The user form (SPEC §9): the password only when creating; a reset has its own form."""

    username: str
    display_name: str
    email: str
    role: str
    is_active: bool
    password: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, creating: bool) -> UserInput:
        read = FieldReader(raw)
        username = read.text("username", required=True, max_length=USERNAME_MAX)
        if username and "username" not in read.errors and not USERNAME_PATTERN.fullmatch(username):
            read.errors["username"] = (
                "Use letters, digits and . _ @ - only (no spaces), starting with a letter or digit."
            )
        data = cls(
            username=username,
            display_name=read.text("display_name", required=True, max_length=120),
            email=read.email("email"),
            role=read.choice("role", ROLE_CHOICES, required=True),
            is_active=read.flag("is_active"),
            password=str(raw.get("password") or "") if creating else "",
        )
        if creating and (problem := password_problem(data.password, data.username)):
            read.errors["password"] = problem
        read.finish()
        return data


def parse_new_password(raw: Mapping[str, str], username: str) -> str:
    """The reset form's password, under the one password rule (``passwords.py``)."""
    password = str(raw.get("password") or "")
    if problem := password_problem(password, username):
        raise InvalidInput({"password": problem})
    return password


@dataclass(frozen=True)
class UserRow:
    """A line of the users list: the record and, when its username is locked now, until when."""

    user: User
    locked_until: datetime | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[Role(self.user.role)]


class UserAdmin:
    """Every change to a user record, each one action with its activity row."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def listing(self) -> list[UserRow]:
        """Every user, active first then by name, with the sign-in locks in force now."""
        users = await self.session.scalars(
            select(User).order_by(User.is_active.desc(), func.lower(User.display_name), User.id)
        )
        locked = dict(await AuthService(self.session).locked_usernames())
        return [UserRow(user, locked.get(user.username.lower())) for user in users]

    async def get(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} does not exist.")
        return user

    async def locked_until(self, user: User) -> datetime | None:
        return await AuthService(self.session).locked_until(user.username.lower(), utcnow())

    async def open_sessions(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
        )
        return int(count or 0)

    @action
    async def create(self, data: UserInput) -> User:
        """A new login with its role. Commits."""
        return await UserService(self.session).create(
            data.username,
            data.password,
            data.role,
            data.display_name,
            actor=self.actor,
            email=data.email,
            is_active=data.is_active,
        )

    @action
    async def update(self, user_id: int, data: UserInput) -> User:
        """Change a user's record; deactivating ends their sessions. Refuses to leave no active admin. Commits."""
        user = await self.get(user_id)
        if data.username.lower() != user.username.lower():
            taken = await self.session.scalar(
                select(User.id).where(func.lower(User.username) == data.username.lower(), User.id != user.id)
            )
            if taken is not None:
                raise InvalidInput({"username": f"A user called {data.username!r} already exists."})
        await self._keep_an_admin(user, data.role, data.is_active)
        changes = []
        for name, label in (("username", "username"), ("display_name", "name"), ("email", "email"), ("role", "role")):
            old, new = getattr(user, name), getattr(data, name)
            if old != new:
                changes.append(f"{label}: {old or '—'} → {new or '—'}")
                setattr(user, name, new)
        if user.is_active != data.is_active:
            changes.append("activated" if data.is_active else "deactivated")
            user.is_active = data.is_active
            if not data.is_active:
                # Ended, not only refused: reactivating must not bring an old session back.
                await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        record_activity(self.session, self.actor, "updated", "user", user.id, "; ".join(changes) or "no change")
        await self.session.commit()
        return user

    @action
    async def reset_password(self, user_id: int, password: str) -> User:
        """Set a new password; every session of the user ends. Commits."""
        user = await self.get(user_id)
        await UserService(self.session).set_password(user, password)
        record_activity(self.session, self.actor, "password_reset", "user", user.id, user.username)
        await self.session.commit()
        return user

    @action
    async def unlock(self, user_id: int) -> tuple[User, bool]:
        """Lift the sign-in lock on the user's username (the sign-in log's own unlock); False if none. Commits."""
        user = await self.get(user_id)
        return user, await AuthService(self.session).unlock(user.username, self.actor)

    async def _keep_an_admin(self, user: User, role: str, is_active: bool) -> None:
        if user.role != Role.ADMIN.value or not user.is_active or (role == Role.ADMIN.value and is_active):
            return
        # The active admins' rows, locked in id order (PostgreSQL; SQLite's writer lock already
        # serialises actions), so two admins demoting each other at once cannot both succeed.
        admins = await self.session.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
        if not [admin_id for admin_id in admins if admin_id != user.id]:
            change = "deactivated" if not is_active else f"made {ROLE_LABELS[Role(role)].lower()}"
            raise Conflict(
                f"{user.display_name} is the last active admin and cannot be {change}: "
                "make another user an active admin first."
            )


USER_EXPORT_COLUMNS = (
    "id",
    "username",
    "display_name",
    "email",
    "role",
    "is_active",
    "last_login_at",
    "created_at",
    "updated_at",
)


def user_export() -> Export:
    """The users list as a spreadsheet (never a password hash)."""
    columns = [getattr(User, name) for name in USER_EXPORT_COLUMNS]
    statement = select(*columns).order_by(User.id)
    return Export("users.csv", USER_EXPORT_COLUMNS, statement)
