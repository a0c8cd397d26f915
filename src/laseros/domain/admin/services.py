"""Accounts and login sessions: creating users, checking passwords with lockout, sessions."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import action, built_once, quick_reads, utcnow
from laseros.domain.admin.models import LoginAttempt, User, UserSession
from laseros.domain.admin.passwords import password_problem
from laseros.domain.admin.roles import Role
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import SYSTEM, Actor
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.paging import Export, Page, paginate

log = logging.getLogger(__name__)

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
ADDRESS_FAILURES = 20  # per address within LOCKOUT_WINDOW, any usernames
SESSION_TOUCH_EVERY = timedelta(minutes=10)

# argon2id, 64 MiB and 3 passes (the library's memory and time) on ONE lane: a check then uses one
# core, so under a sign-in flood (checks also queue, see PASSWORD_CHECKS_AT_ONCE) the other cores
# keep serving the shop. Hashes made with other parameters still verify, and are redone at the
# next successful sign-in.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
# Verified when the username is unknown, so the response time does not reveal which users exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooManyAttempts(LoginRefused):
    """An address failed too often: it may try again in ``retry_after`` seconds (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed sign-ins from this address: try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
        self.retry_after = retry_after


def _check_new_password(errors: dict[str, str], password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        errors["password"] = problem


@built_once
def _session_by_token() -> Select[UserSession]:
    return select(UserSession).where(UserSession.token_hash == bindparam("token_hash"))


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @action
    async def create(
        self,
        username: str,
        password: str,
        role: str,
        display_name: str | None = None,
        actor: Actor = SYSTEM,
        *,
        email: str = "",
        is_active: bool = True,
    ) -> User:
        """Create a login; commits."""
        errors: dict[str, str] = {}
        username = username.strip()
        if not username or len(username) > 80:
            errors["username"] = "Enter a username of at most 80 characters."
        _check_new_password(errors, password, username)
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
            email=email,
            is_active=is_active,
        )
        self.session.add(user)
        await self.session.flush()
        record_activity(self.session, actor, "user_created", "user", user.id, f"{username} ({role})")
        await self.session.commit()
        return user

    async def set_password(self, user: User, password: str) -> None:
        """Replace a password (caller's transaction); every open session of the user is ended."""
        errors: dict[str, str] = {}
        _check_new_password(errors, password, user.username)
        if errors:
            raise InvalidInput(errors)
        user.password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
        await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


# Outcomes that are not a password guess: a refused lock, and an admin's unlock (which resets the count).
_NOT_GUESSES = ("locked", "unlocked")


class AuthService:
    """Password checks with limits, and the server-side sessions that follow a login.

    The argon2 check runs in a thread and outside any write transaction: the attempt is recorded
    afterwards in a short transaction of its own, so a flood of wrong passwords never holds the
    writer (docs/security.md). Limits: a username is locked after 5 failures within 15 minutes
    (except for a correct password from an address that has not been failing), and an address that
    failed 20 times within 15 minutes is refused (429) until the oldest of those ages out.
    """

    def __init__(self, session: AsyncSession, session_days: int = 14, failure_delay_s: float = 0.0) -> None:
        self.session = session
        self.session_lifetime = timedelta(days=session_days)
        # A refused sign-in answers only after this long: a client trying passwords one after another
        # gets about one try a second, and spends no CPU of ours while it waits.
        self.failure_delay_s = failure_delay_s

    async def locked_until(self, username: str, now: datetime) -> datetime | None:
        """When the lock on ``username`` ends, if 5 failures fell within 15 minutes of each other."""
        rows = (
            await self.session.execute(
                select(LoginAttempt.success, LoginAttempt.outcome, LoginAttempt.created_at)
                .where(LoginAttempt.username == username, LoginAttempt.outcome != "locked")
                .order_by(LoginAttempt.created_at.desc(), LoginAttempt.id.desc())
                .limit(LOCKOUT_FAILURES)
            )
        ).all()
        if len(rows) < LOCKOUT_FAILURES or any(row.success or row.outcome == "unlocked" for row in rows):
            return None
        newest, oldest = rows[0].created_at, rows[-1].created_at
        if newest - oldest <= LOCKOUT_WINDOW and now - newest < LOCKOUT_WINDOW:
            return newest + LOCKOUT_WINDOW
        return None

    async def address_retry_after(self, address: str | None, now: datetime) -> int | None:
        """Seconds until ``address`` may try again, when it has failed 20 times within 15 minutes."""
        if not address:
            return None
        twentieth = await self.session.scalar(
            select(LoginAttempt.created_at)
            .where(
                LoginAttempt.ip_address == address,
                LoginAttempt.success.is_(False),
                LoginAttempt.outcome.not_in(_NOT_GUESSES),
                LoginAttempt.created_at > now - LOCKOUT_WINDOW,
            )
            .order_by(LoginAttempt.created_at.desc())
            .offset(ADDRESS_FAILURES - 1)
            .limit(1)
        )
        if twentieth is None:
            return None
        return max(1, int((twentieth + LOCKOUT_WINDOW - now).total_seconds()) + 1)

    async def _address_has_failed(self, address: str | None, now: datetime) -> bool:
        if not address:
            return True  # an unknown address is treated as a failing one
        failed = await self.session.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.ip_address == address,
                LoginAttempt.success.is_(False),
                LoginAttempt.outcome.not_in(_NOT_GUESSES),
                LoginAttempt.created_at > now - LOCKOUT_WINDOW,
            )
            .limit(1)
        )
        return failed is not None

    async def login(self, username: str, password: str, ip: str | None, user_agent: str | None) -> str:
        """Check the password and open a session; returns the cookie token.

        Reads and the password check happen first, without the write lock; then the attempt (and,
        on success, the session) is written in one short action. Raises LoginRefused (or
        TooManyAttempts) after recording the failure.
        """
        username = username.strip()[:80]
        address = (ip or "")[:45] or None
        now = utcnow()
        retry_after = await self.address_retry_after(address, now)
        if retry_after is not None:
            # The flood itself is not written row by row: the 20 failures that tripped it are.
            log.warning("sign-in refused: address over the failure limit (retry in %s s)", retry_after)
            await anyio.sleep(self.failure_delay_s)
            raise TooManyAttempts(retry_after)
        user = await self.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        outcome = "success"
        if await self.locked_until(username.lower(), now) and await self._address_has_failed(address, now):
            outcome = "locked"
        else:
            valid = await anyio.to_thread.run_sync(
                _verify, user.password_hash if user else _DUMMY_HASH, password, limiter=_password_checks()
            )
            if user is None:
                outcome = "unknown_user"
            elif not valid:
                outcome = "bad_password"
            elif not user.is_active:
                outcome = "inactive"
        attempt = LoginAttempt(
            username=username.lower(),
            user_id=user.id if user else None,
            success=outcome == "success",
            outcome=outcome,
            ip_address=address,
            user_agent=(user_agent or "")[:255] or None,
            created_at=now,
        )
        if outcome != "success":
            await self._record(attempt)
            await anyio.sleep(self.failure_delay_s)
            if outcome == "locked":
                raise LoginRefused("Too many failed attempts: this username is locked for 15 minutes.")
            raise LoginRefused("Wrong username or password.")
        assert user is not None
        rehashed = None
        if _hasher.check_needs_rehash(user.password_hash):
            rehashed = await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_password_checks())
        return await self._open_session(attempt, Actor.of(user), now, rehashed)

    @action
    async def _record(self, attempt: LoginAttempt) -> None:
        self.session.add(attempt)
        await self.session.commit()

    @action
    async def _open_session(self, attempt: LoginAttempt, actor: Actor, now: datetime, rehashed: str | None) -> str:
        assert actor.user_id is not None
        self.session.add(attempt)
        # Logins are rare enough to carry the housekeeping: sessions that ran out are removed.
        await self.session.execute(delete(UserSession).where(UserSession.expires_at < now))
        token = secrets.token_urlsafe(32)
        changes: dict[str, object] = {"last_login_at": now}
        if rehashed:
            changes["password_hash"] = rehashed
        await self.session.execute(update(User).where(User.id == actor.user_id).values(**changes))
        self.session.add(
            UserSession(
                token_hash=hash_token(token),
                user_id=actor.user_id,
                expires_at=now + self.session_lifetime,
                ip_address=attempt.ip_address,
                user_agent=attempt.user_agent,
            )
        )
        record_activity(self.session, actor, "login", "user", actor.user_id)
        await self.session.commit()
        return token

    async def locked_usernames(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        """Usernames locked right now, with when each lock ends (for the admin's unlock list)."""
        now = now or utcnow()
        recent = await self.session.scalars(
            select(LoginAttempt.username)
            .where(
                LoginAttempt.success.is_(False),
                LoginAttempt.outcome.not_in(_NOT_GUESSES),
                LoginAttempt.created_at > now - LOCKOUT_WINDOW,
            )
            .group_by(LoginAttempt.username)
            .having(func.count() >= LOCKOUT_FAILURES)
        )
        found = []
        for name in recent.all():
            until = await self.locked_until(name, now)
            if until is not None:
                found.append((name, until))
        return sorted(found, key=lambda pair: pair[0])

    @action
    async def unlock(self, username: str, actor: Actor) -> bool:
        """Lift the lock on ``username`` now (its failure count starts again); False if it was not locked."""
        name = username.strip().lower()[:80]
        if await self.locked_until(name, utcnow()) is None:
            return False
        user_id = await self.session.scalar(select(User.id).where(func.lower(User.username) == name))
        self.session.add(LoginAttempt(username=name, user_id=user_id, success=False, outcome="unlocked"))
        record_activity(self.session, actor, "unlocked", "user", user_id or 0, f"sign-in lock on {name!r} lifted")
        await self.session.commit()
        return True

    async def session_for(self, token: str) -> UserSession | None:
        """The live session behind a cookie token, with its user; None if unknown, expired or inactive."""
        with quick_reads():  # one unique-index lookup, on every request
            record = await self.session.scalar(_session_by_token(), {"token_hash": hash_token(token)})
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


# How many argon2 checks run at once in a process: each takes ~50 ms of CPU on several threads, so
# a flood of sign-ins queues here instead of taking every core from the shop's own work.
PASSWORD_CHECKS_AT_ONCE = max(1, (os.cpu_count() or 2) // 2)
_limiters: dict[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = {}


def _password_checks() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(PASSWORD_CHECKS_AT_ONCE)
    return limiter


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


LOGIN_EXPORT_COLUMNS = ("id", "username", "user_id", "success", "outcome", "ip_address", "user_agent", "created_at")


@dataclass(frozen=True)
class LoginFilters:
    username: str = ""
    success: bool | None = None
    address: str = ""
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None  # UTC, exclusive


class LoginLog:
    """The record of sign-in attempts: listed for admins, kept for the shop's ``login_log_days``, then pruned."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def search_query(self, filters: LoginFilters) -> Select[LoginAttempt]:
        stmt = select(LoginAttempt).order_by(LoginAttempt.created_at.desc(), LoginAttempt.id.desc())
        if filters.username:
            stmt = stmt.where(LoginAttempt.username == filters.username.strip().lower())
        if filters.success is not None:
            stmt = stmt.where(LoginAttempt.success.is_(filters.success))
        if filters.address:
            stmt = stmt.where(LoginAttempt.ip_address == filters.address.strip())
        if filters.start is not None:
            stmt = stmt.where(LoginAttempt.created_at >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(LoginAttempt.created_at < filters.end)
        return stmt

    async def page(self, filters: LoginFilters, page: int, per_page: int) -> Page[LoginAttempt]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    def export(self, filters: LoginFilters) -> Export:
        columns = [getattr(LoginAttempt, name) for name in LOGIN_EXPORT_COLUMNS]
        return Export("logins.csv", LOGIN_EXPORT_COLUMNS, self.search_query(filters).with_only_columns(*columns))

    @action
    async def prune(self, keep: timedelta, now: datetime | None = None) -> int:
        """Delete attempts older than ``keep``; returns how many went. Commits."""
        cutoff = (now or utcnow()) - keep
        result = await self.session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < cutoff))
        await self.session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
