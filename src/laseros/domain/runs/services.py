"""Production runs: start and end on the phone, log on a PC; ending one moves stock and the job."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningUpdate, Update

from laseros.db import UnitOfWork, action, built_once, utcnow
from laseros.domain.admin.models import User
from laseros.domain.admin.roles import Permission, role_can
from laseros.domain.inventory.models import InventoryItem, TransactionType
from laseros.domain.inventory.services import move_stock
from laseros.domain.inventory.stock import SheetSpec, Shortfall, rebalance, sheet_item_for, shortfall
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.search import contains
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.watch import watch_project
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.presets.models import Preset
from laseros.domain.projects.lifecycle import running_runs, set_stage
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import QueueStatus, Stage
from laseros.domain.queue.models import QueueItem
from laseros.domain.queue.services import QueueService, apply_queue_status
from laseros.domain.runs.models import DISCARD_WITHIN_MINUTES, LaserRun, RunStatus
from laseros.domain.runs.schemas import RunEnd, RunLog

# A run logged on a PC for an earlier day is taken to have ended at this shop time.
_LOGGED_RUN_ENDS_AT = time(16, 0)

EXPORT_COLUMNS = (
    "id", "project_id", "project_code", "operator_id", "operator_name", "extra_operator_id", "extra_operator_name",
    "logged_by_id", "preset_id", "status", "started_at", "ended_at", "cut_minutes", "material_type", "thickness_mm",
    "sheet_size", "sheets_used", "parts_produced", "job_finished", "stock_shortfall", "notes", "created_at",
)  # fmt: skip
_Operator = aliased(User)
_JOINED_EXPORT_COLUMNS = {
    "project_code": Project.project_code,
    "operator_name": _Operator.display_name,
    "extra_operator_name": ExtraOperator.display_name,
}


@dataclass(frozen=True)
class RunFilters:
    start: date | None = None
    end: date | None = None
    operator: str = ""  # "u<user id>" or "x<extra operator id>"
    project_id: int | None = None
    q: str = ""  # project code or name
    status: str = ""


def _minutes_between(start: datetime, end: datetime) -> Decimal:
    return (Decimal((end - start).total_seconds()) / 60).quantize(Decimal("0.01"))


def attribution_filter(operator: str) -> ColumnElement[bool] | None:
    """SQL condition for runs that count for ``operator`` ("u12" or "x3"); None if it is not understood.

    A run counts for its extra operator when it names one, otherwise for the logged-in operator.
    """
    kind, number = operator[:1], operator[1:]
    if not number.isdigit() or len(number) > 12:
        return None
    if kind == "u":
        return (LaserRun.operator_id == int(number)) & LaserRun.extra_operator_id.is_(None)
    if kind == "x":
        return LaserRun.extra_operator_id == int(number)
    return None


def may_end(run: LaserRun, user_id: int | None, role: str) -> bool:
    """Who may end a run: its own operator, or someone who runs the office (the one rule for page and action)."""
    return role_can(role, Permission.RUNS_LOG) and (
        run.operator_id == user_id or role_can(role, Permission.OFFICE_EDIT)
    )


# -- the floor's statements, built once (``built_once``): Start Run and End Run run them on every tap --


@built_once
def _project_with_item() -> Select[Project]:
    return select(Project).where(Project.id == bindparam("project_id")).options(joinedload(Project.queue_item))


@built_once
def _operators_running_run() -> Select[LaserRun]:
    return (
        select(LaserRun)
        .where(LaserRun.operator_id == bindparam("operator_id"), LaserRun.status == RunStatus.RUNNING.value)
        .options(joinedload(LaserRun.project))
    )


@built_once
def _run_with_job() -> Select[LaserRun]:
    return (
        select(LaserRun)
        .where(LaserRun.id == bindparam("run_id"))
        .options(joinedload(LaserRun.project).joinedload(Project.queue_item))
    )


_END_COLUMNS = (
    "status", "ended_at", "updated_at", "cut_minutes", "sheets_used", "parts_produced", "notes", "job_finished",
    "inventory_item_id",
)  # fmt: skip


@built_once
def _end_statement() -> ReturningUpdate[int]:
    """End the ``run_id`` run with the ``new_<column>`` values, only if it is still running (two taps end it once)."""
    return (
        update(LaserRun)
        .where(LaserRun.id == bindparam("run_id"), LaserRun.status == RunStatus.RUNNING.value)
        .values({name: bindparam(f"new_{name}") for name in _END_COLUMNS})
        .returning(LaserRun.id)
        .execution_options(synchronize_session=False)
    )


@built_once
def _sheets_cut_statement() -> Update:
    return (
        update(QueueItem)
        .where(QueueItem.id == bindparam("item_id"))
        .values(sheets_cut=QueueItem.sheets_cut + bindparam("sheets", type_=Integer()))
        .execution_options(synchronize_session=False)
    )


class StartNeedsConfirmation(Conflict):
    """Stock does not cover the job: the operator is asked before a run starts anyway."""

    def __init__(self, short: Shortfall) -> None:
        super().__init__(f"{short.says()} — cut anyway?")
        self.short = short


class RunService:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    # -- reading -----------------------------------------------------------------------------

    def _with_people(self, stmt: Select[Any]) -> Select[Any]:
        return stmt.options(
            selectinload(LaserRun.project).selectinload(Project.client),
            selectinload(LaserRun.operator),
            selectinload(LaserRun.extra_operator),
            selectinload(LaserRun.logged_by),
            selectinload(LaserRun.preset),
        )

    def search_query(self, filters: RunFilters) -> Select[LaserRun]:
        stmt = select(LaserRun).order_by(LaserRun.started_at.desc(), LaserRun.id.desc())
        start, end = self.calendar.utc_range(filters.start, filters.end)
        if start:
            stmt = stmt.where(LaserRun.started_at >= start)
        if end:
            stmt = stmt.where(LaserRun.started_at < end)
        if filters.operator and (condition := attribution_filter(filters.operator)) is not None:
            stmt = stmt.where(condition)
        if filters.project_id:
            stmt = stmt.where(LaserRun.project_id == filters.project_id)
        if filters.status:
            stmt = stmt.where(LaserRun.status == filters.status)
        if term := filters.q.strip():
            matching = select(Project.id).where(
                or_(contains(self.session, Project.project_code, term), contains(self.session, Project.name, term))
            )
            stmt = stmt.where(LaserRun.project_id.in_(matching))
        return stmt

    async def list(self, filters: RunFilters, page: int = 1, per_page: int = 50) -> Page[LaserRun]:
        return await paginate(self.session, self._with_people(self.search_query(filters)), page, per_page)

    def export(self, filters: RunFilters) -> Export:
        columns: builtins.list[Any] = [
            _JOINED_EXPORT_COLUMNS.get(name, getattr(LaserRun, name, None)) for name in EXPORT_COLUMNS
        ]
        stmt = (
            self.search_query(filters)
            .join(Project, Project.id == LaserRun.project_id)
            .join(_Operator, _Operator.id == LaserRun.operator_id)
            .outerjoin(ExtraOperator, ExtraOperator.id == LaserRun.extra_operator_id)
            .with_only_columns(*columns)
        )
        return Export("runs.csv", EXPORT_COLUMNS, stmt)

    async def get(self, run_id: int) -> LaserRun:
        run = await self.session.scalar(self._with_people(select(LaserRun).where(LaserRun.id == run_id)))
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        return run

    async def running_for(self, user_id: int) -> LaserRun | None:
        """The operator's run that has not been ended, if any."""
        return await self.session.scalar(
            self._with_people(
                select(LaserRun).where(LaserRun.operator_id == user_id, LaserRun.status == RunStatus.RUNNING.value)
            )
        )

    async def running_count(self) -> int:
        """Runs going right now (the machine is cutting)."""
        return (
            await self.session.scalar(select(func.count(LaserRun.id)).where(LaserRun.status == RunStatus.RUNNING.value))
            or 0
        )

    async def for_project(self, project_id: int, limit: int = 50) -> builtins.list[LaserRun]:
        return list(
            await self.session.scalars(
                self._with_people(self.search_query(RunFilters(project_id=project_id)).limit(limit))
            )
        )

    async def recent(self, operator: str, limit: int = 20) -> builtins.list[LaserRun]:
        return list(
            await self.session.scalars(self._with_people(self.search_query(RunFilters(operator=operator)).limit(limit)))
        )

    # -- writing -----------------------------------------------------------------------------

    async def likely_operator(self, project_id: int, fallback_id: int) -> tuple[int, int | None]:
        """Who a run typed in on a PC most likely was: (operator id, extra operator id).

        The last run on this job, else the last run anyone logged; the person typing when nobody has
        logged a run yet.
        """
        for where in (LaserRun.project_id == project_id, LaserRun.id.is_not(None)):
            last = (
                await self.session.execute(
                    select(LaserRun.operator_id, LaserRun.extra_operator_id)
                    .join(User, User.id == LaserRun.operator_id)
                    .where(where, User.is_active.is_(True), LaserRun.status != RunStatus.DISCARDED.value)
                    .order_by(LaserRun.started_at.desc(), LaserRun.id.desc())
                    .limit(1)
                )
            ).first()
            if last is not None:
                return last.operator_id, last.extra_operator_id
        return fallback_id, None

    async def _project(self, project_id: int) -> Project:
        """The project a run is for, with the queue item the run moves."""
        project = await self.session.scalar(_project_with_item(), {"project_id": project_id})
        if project is None:
            raise NotFound(f"Project {project_id} does not exist.")
        return project

    async def _extra_operator(self, extra_operator_id: int | None) -> ExtraOperator | None:
        if extra_operator_id is None:
            return None
        extra = await self.session.get(ExtraOperator, extra_operator_id)
        if extra is None or not extra.is_active:
            raise InvalidInput({"extra_operator_id": "Choose someone from the list of active operators."})
        return extra

    async def _into_production(self, project: Project, today: date) -> QueueItem:
        """Production comes first: whatever stage the job was in, it is now being cut."""
        item = project.queue_item
        if item is None:
            item = await QueueService(self.session, self.actor, self.calendar).enqueue(project)
        item.project = project
        await apply_queue_status(
            self.session, item, QueueStatus.IN_PROGRESS, self.actor, today=today, cause="run started"
        )
        await set_stage(self.session, project, Stage.CUTTING, self.actor, "run started", today=today)
        return item

    @action
    async def start(
        self, project_id: int, extra_operator_id: int | None = None, *, cut_anyway: bool = False
    ) -> LaserRun:
        """Start a run for the acting user; the job goes In Progress / Cutting. Commits.

        Refused (409) while the user has another run going, naming that run. When stock does not
        cover the job's sheets it asks first (``StartNeedsConfirmation``, naming the shortfall); a
        start made anyway is recorded as such and keeps the material alert up while the run goes.
        """
        assert self.actor.user_id is not None
        running = await self.session.scalar(_operators_running_run(), {"operator_id": self.actor.user_id})
        if running is not None:
            raise Conflict(
                f"You already have a run going on {running.project.project_code} "
                f"(started {self.calendar.local(running.started_at):%H:%M}). End it before starting another."
            )
        project = await self._project(project_id)
        if Stage(project.stage) in (Stage.CANCELLED, Stage.DELIVERED):
            raise Conflict(f"{project.project_code} is {Stage(project.stage).label}: there is nothing to cut.")
        extra = await self._extra_operator(extra_operator_id)
        short = await shortfall(self.session, project, project.queue_item)
        if short is not None and not cut_anyway:
            raise StartNeedsConfirmation(short)
        today = self.calendar.today()
        stage_before = project.stage
        item = await self._into_production(project, today)
        run = LaserRun(
            project_id=project.id,
            queue_item_id=item.id,
            operator_id=self.actor.user_id,
            extra_operator_id=extra.id if extra else None,
            logged_by_id=self.actor.user_id,
            preset_id=project.preset_id,
            status=RunStatus.RUNNING.value,
            started_at=utcnow(),
            material_type=project.material_type,
            thickness_mm=project.thickness_mm,
            sheet_size=project.sheet_size,
            short_at_start=short.missing if short else 0,
            stage_before=stage_before,
        )
        self.session.add(run)
        try:
            await self.session.flush()
        except IntegrityError as clash:  # a second start in a race with the first
            await self.session.rollback()
            raise Conflict("You already have a run going. End it before starting another.") from clash
        who = f" for {extra.display_name}" if extra else ""
        anyway = f" — started without the sheets: {short.says()}" if short else ""
        record_activity(self.session, self.actor, "run_started", "project", project.id, f"Run #{run.id}{who}{anyway}")
        watch_project(self.session, project.id)  # a start without the sheets raises the material alert at once
        await self.session.commit()
        # For the caller's message, without dirtying the run: a change after the commit would make the
        # action commit again, an empty write transaction of its own.
        set_committed_value(run, "project", project)
        return run

    @action
    async def discard(self, run_id: int, *, role: str) -> LaserRun:
        """Take back a run started by mistake, within minutes of its start: nothing cut, nothing deducted,
        and the job goes back to the stage the run took it from (when nothing else has happened to it). Commits.
        """
        run = await self.session.scalar(
            select(LaserRun)
            .where(LaserRun.id == run_id)
            .options(joinedload(LaserRun.project).joinedload(Project.queue_item))
        )
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        if not may_end(run, self.actor.user_id, role):
            raise PermissionDenied(f"Run #{run.id} is not yours to take back.")
        now = utcnow()
        if not run.is_running:
            raise Conflict(f"Run #{run.id} has already ended: it can no longer be taken back.")
        if now - run.started_at > timedelta(minutes=DISCARD_WITHIN_MINUTES):
            raise Conflict(
                f"Run #{run.id} started more than {DISCARD_WITHIN_MINUTES} minutes ago: end it with the sheets used "
                "(0 if nothing was cut) instead."
            )
        claimed = await self.session.scalar(
            update(LaserRun)
            .where(LaserRun.id == run.id, LaserRun.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.DISCARDED.value, ended_at=now, updated_at=now, cut_minutes=0)
            .returning(LaserRun.id)
            .execution_options(synchronize_session=False)
        )
        if claimed is None:
            raise Conflict(f"Run #{run.id} has already ended.")
        set_committed_value(run, "status", RunStatus.DISCARDED.value)
        set_committed_value(run, "ended_at", now)
        project = run.project
        seconds = int((now - run.started_at).total_seconds())
        details = f"Run #{run.id} taken back {seconds} s after it started: nothing deducted"
        record_activity(self.session, self.actor, "run_discarded", "project", project.id, details)
        others = await self.session.scalar(
            select(func.count(LaserRun.id)).where(
                LaserRun.project_id == project.id,
                LaserRun.id != run.id,
                LaserRun.status.in_([RunStatus.RUNNING.value, RunStatus.COMPLETED.value]),
                LaserRun.started_at >= run.started_at,
            )
        )
        before = Stage(run.stage_before) if run.stage_before else None
        if not others and before is not None and before != Stage.CUTTING and project.stage == Stage.CUTTING.value:
            item = project.queue_item
            if item is not None and before in (Stage.QUEUED, Stage.WAITING_MATERIAL):
                item.project = project
                await apply_queue_status(
                    self.session,
                    item,
                    QueueStatus.QUEUED,
                    self.actor,
                    today=self.calendar.today(),
                    cause="run taken back",
                )
            await set_stage(self.session, project, before, self.actor, "run taken back", today=self.calendar.today())
        watch_project(self.session, project.id)
        await self.session.commit()
        return run

    @action
    async def end_and_cancel(self, project_id: int, report: RunEnd, *, role: str) -> Project:
        """Cancel a job whose run is going: the run ends with the sheets reported (they come off stock), then
        the job is cancelled — never a running run under a cancelled job. Commits."""
        project = await self._project(project_id)
        going = await running_runs(self.session, project.id)
        if not going:
            raise Conflict(f"No run is going on {project.project_code}: cancel it from the queue.")
        for run in going:
            if not may_end(run, self.actor.user_id, role):
                raise PermissionDenied(f"Run #{run.id} is {run.attributed_to}'s; only they (or the office) can end it.")
            set_committed_value(run, "project", project)
            await self._end_one(run, report if run is going[0] else RunEnd(0, 0, report.notes, False))
        item = project.queue_item
        today = self.calendar.today()
        if item is not None:
            item.project = project
            await apply_queue_status(
                self.session, item, QueueStatus.CANCELLED, self.actor, today=today, cause="cancelled"
            )
        else:
            await set_stage(self.session, project, Stage.CANCELLED, self.actor, "cancelled", today=today)
        await self.session.commit()
        return project

    @action
    async def end(self, run_id: int, report: RunEnd, *, role: str) -> LaserRun:
        """End a running run: cut minutes from the clock, sheets off the shelf, the job on if finished. Commits."""
        run = await self.session.scalar(_run_with_job(), {"run_id": run_id})
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        if not may_end(run, self.actor.user_id, role):
            operator = await self.session.get(User, run.operator_id)
            whose = f"{operator.display_name}'s" if operator else "someone else's"
            raise PermissionDenied(f"Run #{run.id} is {whose}; only they can end it.")
        await self._end_one(run, report)
        await self.session.commit()
        return run

    async def _end_one(self, run: LaserRun, report: RunEnd) -> None:
        """End one running run with its report (caller's transaction); Conflict if it has already ended."""
        ended_at = utcnow()
        stock = await self._stock_for(run, report.sheets_used)
        values = {
            "status": RunStatus.COMPLETED.value,
            "ended_at": ended_at,
            "updated_at": ended_at,
            "cut_minutes": _minutes_between(run.started_at, ended_at),
            "sheets_used": report.sheets_used,
            "parts_produced": report.parts_produced,
            "notes": report.notes,
            "job_finished": report.job_finished,
            "inventory_item_id": stock.id if stock else None,
        }
        # Conditional on still running, so two End Run taps (or two devices) end it once.
        claimed = await self.session.scalar(
            _end_statement(), {"run_id": run.id, **{f"new_{name}": value for name, value in values.items()}}
        )
        if claimed is None:
            ended = await self.session.scalar(select(LaserRun.ended_at).where(LaserRun.id == run.id))
            cancelled = " (the job was cancelled)" if run.project.stage == Stage.CANCELLED.value else ""
            raise Conflict(
                f"Run #{run.id} was already ended at {self.calendar.local(ended or ended_at):%H:%M}{cancelled}."
            )
        for name, value in values.items():
            set_committed_value(run, name, value)
        await self._complete(run, report, stock)

    @action
    async def log(self, project_id: int, data: RunLog) -> LaserRun:
        """Record a finished run typed in on a PC (stock and job move as for End Run). Commits."""
        project = await self._project(project_id)
        operator = await self.session.get(User, data.operator_id)
        if operator is None or not operator.is_active or not role_can(operator.role, Permission.RUNS_LOG):
            raise InvalidInput({"operator_id": "Choose an active operator from the list."})
        extra = await self._extra_operator(data.extra_operator_id)
        preset_id = data.preset_id
        if preset_id is not None and await self.session.get(Preset, preset_id) is None:
            raise InvalidInput({"preset_id": "Choose a preset from the list."})
        today = self.calendar.today()
        if data.run_date is None or data.run_date == today:
            ended_at = utcnow()
        else:
            ended_at = datetime.combine(data.run_date, _LOGGED_RUN_ENDS_AT, tzinfo=self.calendar.zone)
        item = await self._into_production(project, today)
        report = data.report
        stock = await self._stock_for(project, report.sheets_used)
        run = LaserRun(
            project_id=project.id,
            queue_item_id=item.id,
            operator_id=operator.id,
            extra_operator_id=extra.id if extra else None,
            logged_by_id=self.actor.user_id,
            preset_id=preset_id if preset_id is not None else project.preset_id,
            status=RunStatus.COMPLETED.value,
            started_at=ended_at - timedelta(minutes=float(data.cut_time_minutes)),
            ended_at=ended_at,
            cut_minutes=data.cut_time_minutes,
            material_type=project.material_type,
            thickness_mm=project.thickness_mm,
            sheet_size=project.sheet_size,
            sheets_used=report.sheets_used,
            parts_produced=report.parts_produced,
            notes=report.notes,
            job_finished=report.job_finished,
            inventory_item_id=stock.id if stock else None,
        )
        self.session.add(run)
        await self.session.flush()
        record_activity(self.session, self.actor, "run_logged", "project", project.id, f"Run #{run.id}")
        run.project = project
        await self._complete(run, report, stock)
        await self.session.commit()
        return run

    async def _stock_for(self, source: LaserRun | Project, sheets_used: int) -> InventoryItem | None:
        """The sheet item a run's sheets come off (matched on material, thickness and size), if any."""
        spec = SheetSpec.of(source)
        return await sheet_item_for(self.session, spec) if spec and sheets_used else None

    async def _complete(self, run: LaserRun, report: RunEnd, stock: InventoryItem | None) -> None:
        """The shared end of a run whose report is recorded: stock, the job's progress (caller's transaction)."""
        project = run.project
        if stock is not None:
            usage = await move_stock(
                self.session,
                stock.id,
                -report.sheets_used,
                TransactionType.USAGE,
                self.actor,
                clamp=True,
                reference=project.project_code,
                notes=f"Run #{run.id}",
                project_id=project.id,
                run_id=run.id,
            )
            if usage.shortfall:
                run.stock_shortfall = usage.shortfall
        elif report.sheets_used and SheetSpec.of(run) is not None:
            run.stock_shortfall = report.sheets_used  # no sheet item on record to take them from
        item = project.queue_item
        if item is not None and report.sheets_used:
            await self.session.execute(_sheets_cut_statement(), {"item_id": item.id, "sheets": report.sheets_used})
        if stock is not None:
            await rebalance(
                self.session, stock, self.actor, today=self.calendar.today()
            )  # jobs it no longer covers wait
        details = f"Run #{run.id}: {run.cut_minutes} min, {report.sheets_used} sheets, {report.parts_produced} parts"
        if run.stock_shortfall:
            details += f" ({run.stock_shortfall} more than the shelf held)"
        record_activity(self.session, self.actor, "run_ended", "project", project.id, details)
        watch_project(self.session, project.id)  # a completed run ends a cutting stall
        if report.job_finished and item is not None:
            item.project = project
            await apply_queue_status(
                self.session, item, QueueStatus.COMPLETED, self.actor, today=self.calendar.today(), cause="job finished"
            )
