"""Who is asking: the session cookie → the logged-in user, for every request but the public ones."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from laseros.domain.admin.models import UserSession
from laseros.domain.admin.roles import ROLE_LABELS, Permission, Role, role_can
from laseros.domain.admin.services import AuthService
from laseros.domain.kernel.actor import Actor

SESSION_COOKIE = "laseros_session"
# /webhooks/ authenticate by their signature (web/controllers/webhooks.py), not a session.
PUBLIC_PATHS = ["^/auth/login", "^/static/", "^/healthz", "^/favicon.ico", "^/webhooks/"]


@dataclass(frozen=True)
class CurrentUser:
    """A snapshot of the logged-in user and their session, safe to use after the DB session closes."""

    id: int
    username: str
    display_name: str
    role: str
    session_id: int
    mode: str | None

    @classmethod
    def from_session(cls, record: UserSession) -> CurrentUser:
        user = record.user
        return cls(user.id, user.username, user.display_name, user.role, record.id, record.mode)

    def can(self, permission: Permission | str) -> bool:
        return role_can(self.role, Permission(permission))

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[Role(self.role)]

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.display_name)


async def signed_in_user(connection: ASGIConnection) -> CurrentUser | None:
    """The user whose session cookie ``connection`` carries, or None; reads only (no touch).

    For pages made before the authentication middleware runs: an address with no route (404) or
    no handler for the method (405) is refused by the router, yet its page should still show who
    is signed in.
    """
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    state = connection.app.state
    async with state.db.session(write=False) as session:
        record = await AuthService(session, state.settings.session_days).session_for(token)
        return None if record is None else CurrentUser.from_session(record)


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        if not token:
            raise NotAuthorizedException("Please log in.")
        state = connection.app.state
        async with state.db.session(write=False) as session:
            record = await AuthService(session, state.settings.session_days).session_for(token)
            if record is None:
                raise NotAuthorizedException("Your session has ended; please log in again.")
            user = CurrentUser.from_session(record)
        if AuthService.needs_touch(record):
            async with state.db.session(write=True) as session:
                await AuthService(session, state.settings.session_days).touch(record)
        return AuthenticationResult(user=user, auth=record.id)
