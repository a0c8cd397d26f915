"""The facts the notification rules decide on, read in as few statements as an action can afford."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UTCDateTime, built_once
from laseros.domain.clients.models import Client
from laseros.domain.inventory.models import InventoryItem, InventoryTransaction
from laseros.domain.kernel.models import ShopSetting
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.notifications.rules import LIMIT_SETTINGS, ItemFacts, Limits, ProjectFacts, limits_from
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import WATCHED_STAGES, Stage
from laseros.domain.runs.models import LaserRun, RunStatus

CHUNK = 400  # ids per IN list
_FACT_FIELDS = tuple(f.name for f in fields(ProjectFacts))


def chunks(ids: Collection[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def stage_limits(session: AsyncSession) -> Limits:
    """The shop's stage limits (one statement)."""
    return limits_from(dict(await SettingsService(session).stored(LIMIT_SETTINGS)))


def _limit_columns() -> list[Any]:
    """The limit settings as columns of another query (one statement fewer in an action's transaction)."""
    return [
        select(ShopSetting.value)
        .where(ShopSetting.key == setting.key)
        .scalar_subquery()
        .label(_limit_label(setting.key))
        for setting in LIMIT_SETTINGS
    ]


def _limit_label(key: str) -> str:
    return f"setting_{key}"


async def project_facts(session: AsyncSession, project_ids: Collection[int] | None) -> list[ProjectFacts]:
    """Facts for watched projects (all of them when ``project_ids`` is None)."""
    facts, _stored = await project_facts_with_limits(session, project_ids, with_limits=False)
    return facts


@built_once
def _project_facts_statement(*, scoped: bool, with_limits: bool) -> Select[*tuple[Any, ...]]:
    """Watched projects' facts (``scoped``: those in the ``ids`` parameter), with the limits if asked."""
    # The latest completed run, only for cutting jobs (their stall clock restarts at each run).
    last_run = (
        select(func.max(LaserRun.ended_at))
        .where(LaserRun.project_id == Project.id, LaserRun.status == RunStatus.COMPLETED.value)
        .scalar_subquery()
    )
    # Sheets a run going now lacked when it started anyway (cutting jobs only).
    short_start = (
        select(func.max(LaserRun.short_at_start))
        .where(LaserRun.project_id == Project.id, LaserRun.status == RunStatus.RUNNING.value)
        .scalar_subquery()
    )
    base = (
        select(
            Project.id, Project.project_code, Project.name, Project.client_id, Client.name.label("client_name"),
            Project.stage, Project.stage_changed_at, Project.material_type, Project.thickness_mm,
            Project.sheet_size, Project.sheets_required, Project.preset_id, Project.pop_deadline, Project.due_date,
            case((Project.stage == Stage.CUTTING.value, last_run), else_=None).label("last_run_ended_at"),
            case((Project.stage == Stage.CUTTING.value, func.coalesce(short_start, 0)), else_=0).label("cut_short"),
            *(_limit_columns() if with_limits else []),
        )
        .join(Client, Client.id == Project.client_id)
        .where(Project.stage.in_([s.value for s in WATCHED_STAGES]))
    )  # fmt: skip
    return base.where(Project.id.in_(bindparam("ids", expanding=True))) if scoped else base


async def project_facts_with_limits(
    session: AsyncSession, project_ids: Collection[int] | None, *, with_limits: bool
) -> tuple[list[ProjectFacts], dict[str, str | None] | None]:
    """Facts for watched projects, and (``with_limits``) the stage-limit settings read in the same statement."""
    if project_ids is None:
        rows = list((await session.execute(_project_facts_statement(scoped=False, with_limits=with_limits))).all())
    else:
        scoped = _project_facts_statement(scoped=True, with_limits=with_limits)
        rows = []
        for chunk in chunks(project_ids):
            rows.extend((await session.execute(scoped, {"ids": chunk})).all())
    ended_type = UTCDateTime()
    dialect = session.get_bind().dialect
    facts = []
    for row in rows:
        values = dict(row._mapping)
        last = values["last_run_ended_at"]
        if isinstance(last, str):  # an aggregate inside CASE comes back raw on SQLite
            values["last_run_ended_at"] = ended_type.process_result_value(datetime.fromisoformat(last), dialect)
        values["stage"] = Stage(values["stage"])
        facts.append(ProjectFacts(**{name: values[name] for name in _FACT_FIELDS}))
    stored: dict[str, str | None] | None = None
    if with_limits and rows:
        stored = {s.key: rows[0]._mapping[_limit_label(s.key)] for s in LIMIT_SETTINGS}
    return facts, stored


@built_once
def _item_facts_statement(*, scoped: bool) -> Select[*tuple[Any, ...]]:
    """Items below their minimum (``scoped``: those in the ``ids`` parameter)."""
    last_shortfall = (
        select(InventoryTransaction.shortfall)
        .where(InventoryTransaction.item_id == InventoryItem.id)
        .order_by(InventoryTransaction.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    base = select(
        InventoryItem.id, InventoryItem.item_code, InventoryItem.name, InventoryItem.unit,
        InventoryItem.quantity_on_hand, InventoryItem.min_required, InventoryItem.reorder_quantity,
        func.coalesce(last_shortfall, 0),
    ).where(InventoryItem.quantity_on_hand < InventoryItem.min_required)  # fmt: skip
    return base.where(InventoryItem.id.in_(bindparam("ids", expanding=True))) if scoped else base


async def item_facts(session: AsyncSession, item_ids: Collection[int] | None) -> list[ItemFacts]:
    """Facts for items below their minimum (all of them when ``item_ids`` is None)."""
    if item_ids is None:
        rows = list((await session.execute(_item_facts_statement(scoped=False))).all())
    else:
        scoped = _item_facts_statement(scoped=True)
        rows = []
        for chunk in chunks(item_ids):
            rows.extend((await session.execute(scoped, {"ids": chunk})).all())
    return [ItemFacts(*row) for row in rows]
