"""Accounts and login sessions: creating users, checking passwords with lockout, sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import action, utcnow
from laseros.domain.admin.models import LoginAttempt, User, UserSession
from laseros.domain.admin.roles import Role
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import SYSTEM, Actor
from laseros.domain.kernel.errors import InvalidInput

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
SESSION_TOUCH_EVERY = timedelta(minutes=10)

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified when the username is unknown, so the response time does not reveal which users exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @action
    async def create(
        self, username: str, password: str, role: str, display_name: str | None = None, actor: Actor = SYSTEM
    ) -> User:
        """Create a login; commits."""
        errors: dict[str, str] = {}
        username = username.strip()
        if not username or len(username) > 80:
            errors["username"] = "Enter a username of at most 80 characters."
        if len(password) < 8:
            errors["password"] = "Use at least 8 characters."
        if role not in {r.value for r in Role}:
            errors["role"] = f"Role must be one of {', '.join(r.value for r in Role)}."
        if errors:
            raise InvalidInput(errors)
        if await self.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
            raise InvalidInput({"username": f"A user called {username!r} already exists."})
        password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
        user = User(
            username=username,
            display_name=(display_name or username).strip()[:120],
            password_hash=password_hash,
            role=role,
        )
        self.session.add(user)
        await self.session.flush()
        record_activity(self.session, actor, "user_created", "user", user.id, f"{username} ({role})")
        await self.session.commit()
        return user

    async def set_password(self, user: User, password: str) -> None:
        """Replace a password (caller's transaction); every open session of the user is ended."""
        if len(password) < 8:
            raise InvalidInput({"password": "Use at least 8 characters."})
        user.password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
        await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


class AuthService:
    """Password checks with lockout, and the server-side sessions that follow a login."""

    def __init__(self, session: AsyncSession, session_days: int = 14) -> None:
        self.session = session
        self.session_lifetime = timedelta(days=session_days)

    async def locked_until(self, username: str, now: datetime) -> datetime | None:
        """When the lock on ``username`` ends, if 5 failures fell within 15 minutes of each other."""
        rows = (
            await self.session.execute(
                select(LoginAttempt.success, LoginAttempt.created_at)
                .where(LoginAttempt.username == username, LoginAttempt.outcome != "locked")
                .order_by(LoginAttempt.created_at.desc(), LoginAttempt.id.desc())
                .limit(LOCKOUT_FAILURES)
            )
        ).all()
        if len(rows) < LOCKOUT_FAILURES or any(success for success, _ in rows):
            return None
        newest, oldest = rows[0].created_at, rows[-1].created_at
        if newest - oldest <= LOCKOUT_WINDOW and now - newest < LOCKOUT_WINDOW:
            return newest + LOCKOUT_WINDOW
        return None

    @action
    async def login(self, username: str, password: str, ip: str | None, user_agent: str | None) -> str:
        """Check the password and open a session; returns the cookie token. Commits either way."""
        username = username.strip()[:80]
        now = utcnow()
        user = await self.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        outcome = "success"
        if await self.locked_until(username.lower(), now):
            outcome = "locked"
        else:
            valid = await anyio.to_thread.run_sync(_verify, user.password_hash if user else _DUMMY_HASH, password)
            if user is None:
                outcome = "unknown_user"
            elif not valid:
                outcome = "bad_password"
            elif not user.is_active:
                outcome = "inactive"
        self.session.add(
            LoginAttempt(
                username=username.lower(),
                user_id=user.id if user else None,
                success=outcome == "success",
                outcome=outcome,
                ip_address=(ip or "")[:45] or None,
                user_agent=(user_agent or "")[:255] or None,
                created_at=now,
            )
        )
        if outcome != "success":
            await self.session.commit()
            if outcome == "locked":
                raise LoginRefused("Too many failed attempts: this username is locked for 15 minutes.")
            raise LoginRefused("Wrong username or password.")
        assert user is not None
        # Logins are rare enough to carry the housekeeping: sessions that ran out are removed.
        await self.session.execute(delete(UserSession).where(UserSession.expires_at < now))
        token = secrets.token_urlsafe(32)
        user.last_login_at = now
        self.session.add(
            UserSession(
                token_hash=hash_token(token),
                user_id=user.id,
                expires_at=now + self.session_lifetime,
                ip_address=(ip or "")[:45] or None,
                user_agent=(user_agent or "")[:255] or None,
            )
        )
        record_activity(self.session, Actor.of(user), "login", "user", user.id)
        await self.session.commit()
        return token

    async def session_for(self, token: str) -> UserSession | None:
        """The live session behind a cookie token, with its user; None if unknown, expired or inactive."""
        record = await self.session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
        if record is None or record.expires_at <= utcnow() or not record.user.is_active:
            return None
        return record

    @staticmethod
    def needs_touch(record: UserSession) -> bool:
        return utcnow() - record.last_seen_at >= SESSION_TOUCH_EVERY

    @action
    async def touch(self, record: UserSession) -> None:
        """Slide the expiry forward; callers ask ``needs_touch`` first so this writes once every few minutes."""
        now = utcnow()
        await self.session.execute(
            update(UserSession)
            .where(UserSession.id == record.id)
            .values(last_seen_at=now, expires_at=now + self.session_lifetime)
        )
        await self.session.commit()

    @action
    async def set_mode(self, session_id: int, mode: str) -> None:
        await self.session.execute(update(UserSession).where(UserSession.id == session_id).values(mode=mode))
        await self.session.commit()

    @action
    async def logout(self, session_id: int, actor: Actor) -> None:
        await self.session.execute(delete(UserSession).where(UserSession.id == session_id))
        if actor.user_id is not None:
            record_activity(self.session, actor, "logout", "user", actor.user_id)
        await self.session.commit()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
