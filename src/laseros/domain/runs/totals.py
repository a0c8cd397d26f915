"""What each person cut: the operators page's people with their production totals.

A run counts for its extra operator when it names one, otherwise for the logged-in operator
(``services.attribution_filter``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.models import User
from laseros.domain.admin.roles import Role
from laseros.domain.operators.models import ExtraOperator
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


def _totals_columns() -> tuple[Any, ...]:
    return (
        func.count(LaserRun.id),
        func.coalesce(func.sum(LaserRun.cut_minutes), 0),
        func.coalesce(func.sum(LaserRun.sheets_used), 0),
        func.coalesce(func.sum(LaserRun.parts_produced), 0),
    )


def _totals(row: tuple[Any, ...]) -> Totals:
    runs, minutes, sheets, parts = row
    return Totals(runs=runs, cut_minutes=minutes or Decimal(0), sheets=int(sheets), parts=int(parts))


class ProductionTotals:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        """What one person ("u12" or "x3") cut in total; nothing for a key that names no one."""
        condition = attribution_filter(key)
        if condition is None:
            return Totals()
        row = (
            await self.session.execute(
                select(*_totals_columns()).where(condition, LaserRun.status == RunStatus.COMPLETED.value)
            )
        ).one()
        return _totals(tuple(row))
