"""Demo data for a first start: a small shop with users, clients, projects over every stage and a queue."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from laseros.db import Database
from laseros.domain.admin.models import User
from laseros.domain.admin.services import Actor, UserService
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.clients.services import ClientService
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.services import ProjectService
from laseros.domain.projects.stages import QueueStatus, Stage
from laseros.domain.queue.services import QueueService
from laseros.domain.shop import DEFAULT_MATERIALS, DEFAULT_SHEET_SIZES, THICKNESSES_MM, ShopCalendar


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    display_name: str


DEMO_LOGINS = (
    DemoLogin("admin", "laser-admin", "admin", "Thandi Admin"),
    DemoLogin("manager", "laser-manager", "manager", "Pieter Manager"),
    DemoLogin("operator", "laser-operator", "operator", "Sipho Operator"),
    DemoLogin("viewer", "laser-viewer", "viewer", "Lerato Viewer"),
)

CLIENTS = [
    ("Karoo Steelworks", "Johan van Wyk", "johan@karoosteel.co.za", "+27 82 555 0101"),
    ("Cape Signage Co", "Aisha Daniels", "aisha@capesignage.co.za", "+27 83 555 0102"),
    ("Highveld Agri Parts", "Bongani Mokoena", "orders@highveldagri.co.za", "+27 72 555 0103"),
    ("Durban Marine Fabrication", "Priya Naidoo", "priya@dbnmarine.co.za", "+27 84 555 0104"),
    ("Joburg Shopfitters", "Mark Botha", "mark@jhbshopfit.co.za", "+27 61 555 0105"),
    ("Garden Route Gates", "Elna Fourie", "elna@grgates.co.za", "+27 79 555 0106"),
    ("Kalahari Trailers", "Tumelo Sebego", "tumelo@kalaharitrailers.co.za", "+27 71 555 0107"),
    ("Pretoria Art Studio", "Nomvula Dlamini", "studio@ptaart.co.za", "+27 82 555 0108"),
]

JOBS = ["Bracket set", "Gate panels", "Sign letters", "Trailer ribs", "Gusset plates", "Base plates",
        "Shelf brackets", "Decorative screen", "Flange rings", "Machine guards", "Name plates",
        "Pump mounts", "Balustrade infill", "Chassis plates", "Enclosure parts"]  # fmt: skip

# How many demo projects end in each stage (30 in all).
STAGE_PLAN = [
    (Stage.REQUEST, 5), (Stage.QUOTE, 6), (Stage.QUEUED, 7), (Stage.CUTTING, 2),
    (Stage.READY, 4), (Stage.DELIVERED, 4), (Stage.CANCELLED, 2),
]  # fmt: skip


async def has_users(db: Database) -> bool:
    async with db.session(write=False) as session:
        return bool(await session.scalar(select(func.count(User.id))))


async def load_demo(db: Database, calendar: ShopCalendar) -> bool:
    """Fill an empty database with the demo shop; returns False (and does nothing) if it has users."""
    if await has_users(db):
        return False
    rng = random.Random(2026)
    manager: Actor | None = None
    for login in DEMO_LOGINS:
        async with db.session(write=True) as session:
            user = await UserService(session).create(login.username, login.password, login.role, login.display_name)
            if login.role == "manager":
                manager = Actor.of(user)
    assert manager is not None

    client_ids = []
    for name, contact, email, phone in CLIENTS:
        async with db.session(write=True) as session:
            data = ClientInput(name=name, contact_person=contact, email=email, phone=phone,
                               address=f"{rng.randint(1, 200)} Industrial Road", notes="")  # fmt: skip
            client_ids.append((await ClientService(session, manager).create(data)).id)

    stages = [stage for stage, count in STAGE_PLAN for _ in range(count)]
    rng.shuffle(stages)
    for number, target in enumerate(stages):
        async with db.session(write=True) as session:
            projects = ProjectService(session, manager, calendar)
            sheets = rng.randint(1, 12)
            data = ProjectInput(
                client_id=rng.choice(client_ids),
                name=f"{rng.choice(JOBS)} #{number + 1}",
                description="Demo job: cut to the client's DXF.",
                material_type=rng.choice(DEFAULT_MATERIALS),
                thickness_mm=rng.choice(THICKNESSES_MM[2:10]),
                sheet_size=rng.choice(DEFAULT_SHEET_SIZES),
                sheets_required=sheets,
                parts_quantity=sheets * rng.randint(4, 40),
                estimated_cut_time=sheets * rng.randint(10, 35),
                quoted_price=Decimal(sheets * rng.randint(900, 2400)),
                due_date=calendar.today() + timedelta(days=rng.randint(3, 30)),
            )
            project = await projects.create(data)
            await _advance(projects, QueueService(session, manager, calendar), project.id, target)
    return True


async def _advance(projects: ProjectService, queue: QueueService, project_id: int, target: Stage) -> None:
    """Walk a new project through the real workflow until it reaches ``target``."""
    if target == Stage.REQUEST:
        return
    await projects.change_stage(project_id, Stage.QUOTE)
    if target == Stage.QUOTE:
        return
    if target == Stage.CANCELLED:
        await projects.change_stage(project_id, Stage.CANCELLED)
        return
    project = await projects.mark_pop_received(project_id)
    assert project.queue_item is not None
    item_id = project.queue_item.id
    if target == Stage.QUEUED:
        return
    await queue.set_status(item_id, QueueStatus.IN_PROGRESS)
    if target == Stage.CUTTING:
        return
    await queue.set_status(item_id, QueueStatus.COMPLETED)
    if target == Stage.DELIVERED:
        await projects.change_stage(project_id, Stage.DELIVERED)
