"""Per-request dependencies: one DB session (write requests begin IMMEDIATE) and the services on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from laseros.db import Database, UnitOfWork
from laseros.domain.accounting.services import SageConnections
from laseros.domain.admin.services import AuthService
from laseros.domain.billing.invoices import InvoiceService
from laseros.domain.billing.quotes import QuoteService
from laseros.domain.clients.services import ClientService
from laseros.domain.comms.inbound import InboundMail
from laseros.domain.comms.services import CommsService
from laseros.domain.comms.templates import TemplateService
from laseros.domain.inventory.services import InventoryService
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.drafts import DraftService
from laseros.domain.notifications.services import NotificationService
from laseros.domain.operators.services import OperatorService
from laseros.domain.presets.services import PresetService
from laseros.domain.projects.presets import JobPresets
from laseros.domain.projects.services import ProjectService
from laseros.domain.queue.services import QueueService
from laseros.domain.runs.services import RunService
from laseros.domain.runs.totals import ProductionTotals
from laseros.jobs.runtime import JobRuntime
from laseros.services import attachment_filer
from laseros.settings import Settings
from laseros.web.guards import SAFE_METHODS
from laseros.web.htmx import PAGE_SESSION
from laseros.web.live import BellHub

# Handler parameter types for name-based injection (the names are registered in app.py).
Db = NamedDependency[Database]
AppSettings = NamedDependency[Settings]
PageSize = NamedDependency[int]
Jobs = NamedDependency[JobRuntime]
Hub = NamedDependency[BellHub | None]
DbSession = NamedDependency[UnitOfWork]
CurrentActor = NamedDependency[Actor]
Calendar = NamedDependency[ShopCalendar]
Clients = NamedDependency[ClientService]
Projects = NamedDependency[ProjectService]
Queue = NamedDependency[QueueService]
Inventory = NamedDependency[InventoryService]
Presets = NamedDependency[PresetService]
JobPresetChanges = NamedDependency[JobPresets]
Operators = NamedDependency[OperatorService]
Runs = NamedDependency[RunService]
Totals = NamedDependency[ProductionTotals]
ShopSettings = NamedDependency[SettingsService]
Auth = NamedDependency[AuthService]
Notifications = NamedDependency[NotificationService]
Drafts = NamedDependency[DraftService]
Quotes = NamedDependency[QuoteService]
Invoices = NamedDependency[InvoiceService]
Sage = NamedDependency[SageConnections]
Comms = NamedDependency[CommsService]
MessageTemplates = NamedDependency[TemplateService]
Inbound = NamedDependency[InboundMail]


async def provide_db_session(state: State, request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's session: reads only for GET; for a POST, reads plus its one ``@action``.

    A POST's action takes the writer only while it runs, so a refused form (and any page drawn
    after the action) reads without holding the write lock.
    """
    db: Database = state.db
    async with db.session(write="actions" if request.method not in SAFE_METHODS else False) as session:
        # Deleting a record deletes its stored files after the commit (domain/files/services.py).
        session.info["uploads_dir"] = state.settings.uploads_dir
        # The page drawn from this handler reads its header in this session (``htmx.reading``); not after.
        request.scope[PAGE_SESSION] = session  # type: ignore[literal-required]  # the scope is a TypedDict
        try:
            yield session
        finally:
            request.scope.pop(PAGE_SESSION, None)  # type: ignore[misc]


def provide_db(state: State) -> Database:
    return state.db


def provide_app_settings(state: State) -> Settings:
    return state.settings


def provide_page_size(state: State) -> int:
    """How many rows a list page shows."""
    return int(state.settings.page_size)


def provide_jobs(state: State) -> JobRuntime:
    return state.jobs


def provide_bell_hub(state: State) -> BellHub | None:
    """This process's bell subscription (None until the app has started it)."""
    return state.get("bell_hub")


def provide_actor(request: Request) -> Actor:
    return request.user.actor


def provide_calendar(state: State) -> ShopCalendar:
    return state.calendar


def provide_clients(db_session: DbSession, actor: CurrentActor) -> ClientService:
    return ClientService(db_session, actor)


def provide_projects(db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> ProjectService:
    return ProjectService(db_session, actor, calendar)


def provide_queue(db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> QueueService:
    return QueueService(db_session, actor, calendar)


def provide_inventory(db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> InventoryService:
    return InventoryService(db_session, actor, calendar)


def provide_presets(db_session: DbSession, actor: CurrentActor) -> PresetService:
    return PresetService(db_session, actor)


def provide_job_presets(db_session: DbSession, actor: CurrentActor) -> JobPresets:
    return JobPresets(db_session, actor)


def provide_operators(db_session: DbSession, actor: CurrentActor) -> OperatorService:
    return OperatorService(db_session, actor)


def provide_runs(db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> RunService:
    return RunService(db_session, actor, calendar)


def provide_totals(db_session: DbSession) -> ProductionTotals:
    return ProductionTotals(db_session)


def provide_shop_settings(db_session: DbSession) -> SettingsService:
    return SettingsService(db_session)


def provide_auth_service(db_session: DbSession, state: State) -> AuthService:
    return AuthService(db_session, state.settings.session_days, state.settings.login_failure_delay_s)


def provide_drafts(db_session: DbSession, actor: CurrentActor) -> DraftService:
    return DraftService(db_session, actor)


def provide_comms(db_session: DbSession, actor: CurrentActor) -> CommsService:
    return CommsService(db_session, actor)


def provide_templates(db_session: DbSession, actor: CurrentActor) -> TemplateService:
    return TemplateService(db_session, actor)


def provide_inbound(state: State, db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> InboundMail:
    settings = state.settings
    return InboundMail(db_session, actor, calendar, settings.data_dir, attachment_filer(db_session, actor, settings))


def provide_notifications(db_session: DbSession, actor: CurrentActor) -> NotificationService:
    return NotificationService(db_session, actor)


def provide_quotes(db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> QuoteService:
    return QuoteService(db_session, actor, calendar)


def provide_invoices(db_session: DbSession, actor: CurrentActor, calendar: Calendar) -> InvoiceService:
    return InvoiceService(db_session, actor, calendar)


def provide_sage(state: State, actor: CurrentActor) -> SageConnections:
    """The Sage connection; it opens its own short transactions (no lock is held while Sage answers)."""
    return SageConnections(state.db, state.settings.sage, state.settings.secret_key, actor)
