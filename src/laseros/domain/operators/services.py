"""Who runs the machine: operator logins and extra operators, with their production totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.models import User, UserSession
from laseros.domain.admin.roles import Permission, Role, role_can
from laseros.domain.admin.services import Actor, UserService, record_activity
from laseros.domain.errors import NotFound
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.operators.schemas import ExtraOperatorInput, OperatorLoginInput
from laseros.domain.runs.models import LaserRun, RunStatus
from laseros.domain.runs.services import attribution_filter


@dataclass(frozen=True)
class Totals:
    runs: int = 0
    cut_minutes: Decimal = Decimal(0)
    sheets: int = 0
    parts: int = 0

    @property
    def cut_hours(self) -> Decimal:
        return (self.cut_minutes / 60).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class OperatorRow:
    """One line of /operators: a login (``key`` "u12") or an extra operator ("x3")."""

    key: str
    id: int
    display_name: str
    username: str | None
    role: str | None
    is_active: bool
    totals: Totals

    @property
    def is_login(self) -> bool:
        return self.key.startswith("u")

    @property
    def url(self) -> str:
        return f"/operators/{self.id}" if self.is_login else f"/operators/extra/{self.id}"


def _totals_columns():  # type: ignore[no-untyped-def]
    return (
        func.count(LaserRun.id),
        func.coalesce(func.sum(LaserRun.cut_minutes), 0),
        func.coalesce(func.sum(LaserRun.sheets_used), 0),
        func.coalesce(func.sum(LaserRun.parts_produced), 0),
    )


def _totals(row: tuple) -> Totals:  # type: ignore[type-arg]
    runs, minutes, sheets, parts = row
    return Totals(runs=runs, cut_minutes=minutes or Decimal(0), sheets=int(sheets), parts=int(parts))


class OperatorService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def people(self) -> list[OperatorRow]:
        """Operator logins, anyone else who has runs to their name, and the extra operators, with totals.

        Two grouped queries over the completed runs, whatever their number.
        """
        completed = LaserRun.status == RunStatus.COMPLETED.value
        by_user = {
            row[0]: _totals(row[1:])
            for row in await self.session.execute(
                select(LaserRun.operator_id, *_totals_columns())
                .where(completed, LaserRun.extra_operator_id.is_(None))
                .group_by(LaserRun.operator_id)
            )
        }
        by_extra = {
            row[0]: _totals(row[1:])
            for row in await self.session.execute(
                select(LaserRun.extra_operator_id, *_totals_columns())
                .where(completed, LaserRun.extra_operator_id.is_not(None))
                .group_by(LaserRun.extra_operator_id)
            )
        }
        users = await self.session.scalars(
            select(User)
            .where(or_(User.role == Role.OPERATOR.value, User.id.in_(list(by_user))))
            .order_by(User.is_active.desc(), User.display_name)
        )
        extras = await self.session.scalars(
            select(ExtraOperator).order_by(ExtraOperator.is_active.desc(), ExtraOperator.display_name)
        )
        rows = [
            OperatorRow(f"u{u.id}", u.id, u.display_name, u.username, u.role, u.is_active, by_user.get(u.id, Totals()))
            for u in users
        ]
        rows += [
            OperatorRow(f"x{e.id}", e.id, e.display_name, None, None, e.is_active, by_extra.get(e.id, Totals()))
            for e in extras
        ]
        return rows

    async def totals(self, key: str) -> Totals:
        condition = attribution_filter(key)
        row = (
            await self.session.execute(
                select(*_totals_columns()).where(condition, LaserRun.status == RunStatus.COMPLETED.value)
            )
        ).one()
        return _totals(tuple(row))

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

    async def create_login(self, data: OperatorLoginInput) -> User:
        """A phone login with the operator role. Commits."""
        return await UserService(self.session).create(
            data.username, data.password, Role.OPERATOR.value, data.display_name, actor=self.actor
        )

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
        await record_activity(self.session, self.actor, "updated", "user", user.id, "; ".join(changes) or "no change")
        await self.session.commit()
        return user

    async def toggle_login(self, user_id: int) -> User:
        """Deactivate (they can no longer log in; open sessions end) or reactivate an operator login. Commits."""
        user = await self.get_login(user_id)
        user.is_active = not user.is_active
        if not user.is_active:
            # Ended, not just refused: reactivating must not bring back a session on a lost or shared phone.
            await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        action = "activated" if user.is_active else "deactivated"
        await record_activity(self.session, self.actor, action, "user", user.id, user.username)
        await self.session.commit()
        return user

    # -- extra operators ---------------------------------------------------------------------

    async def get_extra(self, extra_id: int) -> ExtraOperator:
        extra = await self.session.get(ExtraOperator, extra_id)
        if extra is None:
            raise NotFound(f"Extra operator {extra_id} does not exist.")
        return extra

    async def create_extra(self, data: ExtraOperatorInput) -> ExtraOperator:
        """Someone runs can be attributed to who never logs in. Commits."""
        extra = ExtraOperator(display_name=data.display_name, notes=data.notes)
        self.session.add(extra)
        await self.session.flush()
        await record_activity(self.session, self.actor, "created", "extra_operator", extra.id, extra.display_name)
        await self.session.commit()
        return extra

    async def update_extra(self, extra_id: int, data: ExtraOperatorInput) -> ExtraOperator:
        extra = await self.get_extra(extra_id)
        extra.display_name, extra.notes = data.display_name, data.notes
        await record_activity(self.session, self.actor, "updated", "extra_operator", extra.id, extra.display_name)
        await self.session.commit()
        return extra

    async def toggle_extra(self, extra_id: int) -> ExtraOperator:
        extra = await self.get_extra(extra_id)
        extra.is_active = not extra.is_active
        action = "activated" if extra.is_active else "deactivated"
        await record_activity(self.session, self.actor, action, "extra_operator", extra.id, extra.display_name)
        await self.session.commit()
        return extra
