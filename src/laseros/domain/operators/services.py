"""Who runs the machine: operator logins and extra operators (their totals are ``runs.totals``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import action
from laseros.domain.admin.models import User, UserSession
from laseros.domain.admin.roles import Permission, Role, role_can
from laseros.domain.admin.services import UserService
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import NotFound
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.operators.schemas import ExtraOperatorInput, OperatorLoginInput


class OperatorService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def run_capable_users(self) -> list[User]:
        """Active logins that may log runs: the choices for "operator" on the PC run form."""
        roles = [r.value for r in Role if role_can(r.value, Permission.RUNS_LOG)]
        return list(
            await self.session.scalars(
                select(User).where(User.is_active.is_(True), User.role.in_(roles)).order_by(User.display_name)
            )
        )

    async def active_extras(self) -> list[ExtraOperator]:
        return list(
            await self.session.scalars(
                select(ExtraOperator).where(ExtraOperator.is_active.is_(True)).order_by(ExtraOperator.display_name)
            )
        )

    # -- operator logins ---------------------------------------------------------------------

    async def get_user(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"Operator {user_id} does not exist.")
        return user

    async def get_login(self, user_id: int) -> User:
        """An operator login (role operator); other users are managed under users, so they are not found here."""
        user = await self.get_user(user_id)
        if user.role != Role.OPERATOR.value:
            raise NotFound(f"User {user_id} is not an operator login; manage it under users.")
        return user

    @action
    async def create_login(self, data: OperatorLoginInput) -> User:
        """A phone login with the operator role. Commits."""
        return await UserService(self.session).create(
            data.username, data.password, Role.OPERATOR.value, data.display_name, actor=self.actor
        )

    @action
    async def update_login(self, user_id: int, data: OperatorLoginInput) -> User:
        """Rename an operator and, when a new password is given, reset it (ending their sessions). Commits."""
        user = await self.get_login(user_id)
        changes = []
        if user.display_name != data.display_name:
            changes.append(f"name: {user.display_name} → {data.display_name}")
            user.display_name = data.display_name
        if data.password:
            await UserService(self.session).set_password(user, data.password)
            changes.append("password reset")
        record_activity(self.session, self.actor, "updated", "user", user.id, "; ".join(changes) or "no change")
        await self.session.commit()
        return user

    @action
    async def toggle_login(self, user_id: int) -> User:
        """Deactivate (they can no longer log in; open sessions end) or reactivate an operator login. Commits."""
        user = await self.get_login(user_id)
        user.is_active = not user.is_active
        if not user.is_active:
            # Ended, not just refused: reactivating must not bring back a session on a lost or shared phone.
            await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        action = "activated" if user.is_active else "deactivated"
        record_activity(self.session, self.actor, action, "user", user.id, user.username)
        await self.session.commit()
        return user

    # -- extra operators ---------------------------------------------------------------------

    async def get_extra(self, extra_id: int) -> ExtraOperator:
        extra = await self.session.get(ExtraOperator, extra_id)
        if extra is None:
            raise NotFound(f"Extra operator {extra_id} does not exist.")
        return extra

    @action
    async def create_extra(self, data: ExtraOperatorInput) -> ExtraOperator:
        """Someone runs can be attributed to who never logs in. Commits."""
        extra = ExtraOperator(display_name=data.display_name, notes=data.notes)
        self.session.add(extra)
        await self.session.flush()
        record_activity(self.session, self.actor, "created", "extra_operator", extra.id, extra.display_name)
        await self.session.commit()
        return extra

    @action
    async def update_extra(self, extra_id: int, data: ExtraOperatorInput) -> ExtraOperator:
        extra = await self.get_extra(extra_id)
        extra.display_name, extra.notes = data.display_name, data.notes
        record_activity(self.session, self.actor, "updated", "extra_operator", extra.id, extra.display_name)
        await self.session.commit()
        return extra

    @action
    async def toggle_extra(self, extra_id: int) -> ExtraOperator:
        extra = await self.get_extra(extra_id)
        extra.is_active = not extra.is_active
        action = "activated" if extra.is_active else "deactivated"
        record_activity(self.session, self.actor, action, "extra_operator", extra.id, extra.display_name)
        await self.session.commit()
        return extra
