"""create_app(): plugins, middleware, controllers and error pages."""

from __future__ import annotations

import gc

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from laseros.db import Database
from laseros.domain.comms.listener import InboundListener
from laseros.domain.kernel.shop import ShopCalendar
from laseros.jobs.runtime import JobRuntime
from laseros.services import attachment_filer
from laseros.settings import STATIC_DIR, TEMPLATES_DIR, Settings
from laseros.web import deps, live, security, templating
from laseros.web.auth import PUBLIC_PATHS, SessionAuthMiddleware
from laseros.web.controllers import (
    admin,
    analytics,
    auth,
    clients,
    comms,
    dashboard,
    files,
    health,
    inventory,
    invoices,
    logins,
    notifications,
    operators,
    phone,
    presets,
    pricing,
    products,
    projects,
    queue,
    quotes,
    reports,
    runs,
    sage,
    webhooks,
)
from laseros.web.errors import EXCEPTION_HANDLERS


def _freeze_startup_objects() -> None:
    # Start-up leaves ~100k long-lived objects (imports, templates); without freezing them every
    # full GC pass walks them all and adds 60–90 ms to an unlucky request (docs/performance.md).
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    calendar = ShopCalendar(settings.shop_timezone)
    db = Database.from_settings(settings)
    # Redis client, enqueue, /healthz and (LASEROS_WORKER=inline) the job worker in this process.
    jobs = JobRuntime(settings, db, calendar)
    # Email in over SMTP (LASEROS_INBOUND_SMTP_PORT; off when 0).
    inbound_smtp = InboundListener(
        db,
        calendar,
        settings.data_dir,
        settings.inbound_smtp_host,
        settings.inbound_smtp_port,
        lambda session, actor: attachment_filer(session, actor, settings),
    )

    def configure_templates(engine: JinjaTemplateEngine) -> None:
        templating.configure(engine.engine, calendar)

    return Litestar(
        route_handlers=[
            auth.root,
            auth.favicon,
            health.healthz,
            auth.AuthController,
            dashboard.DashboardController,
            clients.ClientController,
            projects.ProjectController,
            queue.QueueController,
            runs.RunController,
            inventory.InventoryController,
            presets.PresetController,
            operators.OperatorController,
            phone.PhoneController,
            notifications.NotificationController,
            reports.DailyReportController,
            analytics.ReportsController,
            comms.DraftController,
            comms.CommsController,
            comms.TemplateController,
            comms.InboxController,
            webhooks.email_webhook,
            admin.AdminController,
            admin.UserAdminController,
            logins.LoginLogController,
            quotes.QuoteController,
            invoices.InvoiceController,
            sage.SageController,
            products.ProductController,
            products.ProjectProductController,
            files.UploadController,
            files.FileController,
            files.RunPreviewController,
            pricing.PricingController,
            create_static_files_router(path="/static", directories=[STATIC_DIR], send_as_attachment=False),
        ],
        plugins=[HTMXPlugin()],
        middleware=[
            security.ControlCharacterPathMiddleware,
            # Every method is authenticated (Litestar skips OPTIONS and HEAD by default, which left
            # the guards without a user: a 500).
            DefineMiddleware(SessionAuthMiddleware, exclude=PUBLIC_PATHS, exclude_http_methods=[]),
        ],
        before_send=[security.add_security_headers],
        before_request=security.refuse_impossible_ids,
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="csrftoken",
            header_name="x-csrftoken",
            cookie_samesite="lax",
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=configure_templates
        ),
        dependencies={
            "db": Provide(deps.provide_db, sync_to_thread=False),
            "app_settings": Provide(deps.provide_app_settings, sync_to_thread=False),
            "page_size": Provide(deps.provide_page_size, sync_to_thread=False),
            "jobs": Provide(deps.provide_jobs, sync_to_thread=False),
            "bell_hub": Provide(deps.provide_bell_hub, sync_to_thread=False),
            "db_session": Provide(deps.provide_db_session),
            "actor": Provide(deps.provide_actor, sync_to_thread=False),
            "calendar": Provide(deps.provide_calendar, sync_to_thread=False),
            "clients": Provide(deps.provide_clients, sync_to_thread=False),
            "projects": Provide(deps.provide_projects, sync_to_thread=False),
            "queue": Provide(deps.provide_queue, sync_to_thread=False),
            "inventory": Provide(deps.provide_inventory, sync_to_thread=False),
            "presets": Provide(deps.provide_presets, sync_to_thread=False),
            "job_presets": Provide(deps.provide_job_presets, sync_to_thread=False),
            "operators": Provide(deps.provide_operators, sync_to_thread=False),
            "runs": Provide(deps.provide_runs, sync_to_thread=False),
            "totals": Provide(deps.provide_totals, sync_to_thread=False),
            "shop_settings": Provide(deps.provide_shop_settings, sync_to_thread=False),
            "auth_service": Provide(deps.provide_auth_service, sync_to_thread=False),
            "notifications": Provide(deps.provide_notifications, sync_to_thread=False),
            "drafts": Provide(deps.provide_drafts, sync_to_thread=False),
            "quotes": Provide(deps.provide_quotes, sync_to_thread=False),
            "invoices": Provide(deps.provide_invoices, sync_to_thread=False),
            "sage": Provide(deps.provide_sage, sync_to_thread=False),
            "comms": Provide(deps.provide_comms, sync_to_thread=False),
            "templates": Provide(deps.provide_templates, sync_to_thread=False),
            "inbound": Provide(deps.provide_inbound, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]  # each handler takes its own exception class
        state=State(
            {"settings": settings, "db": db, "calendar": calendar, "jobs": jobs, "redis_url": settings.redis_url}
        ),
        on_startup=[db.refresh_statistics, jobs.start, live.start, inbound_smtp.start, _freeze_startup_objects],
        on_shutdown=[inbound_smtp.stop, jobs.stop, live.stop, db.dispose],
        openapi_config=None,
        debug=settings.debug,
    )
