"""Demo data for a first start: a small shop with users, clients, projects over every stage and a queue."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import Database, utcnow
from laseros.domain.admin.models import User
from laseros.domain.admin.services import UserService
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.clients.services import ClientService
from laseros.domain.inventory.schemas import ItemInput
from laseros.domain.inventory.services import InventoryService
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.shop import DEFAULT_MATERIALS, DEFAULT_SHEET_SIZES, ShopCalendar
from laseros.domain.notifications.evaluate import evaluate
from laseros.domain.notifications.models import OutboundDraft
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.operators.schemas import ExtraOperatorInput
from laseros.domain.operators.services import OperatorService
from laseros.domain.presets.schemas import PresetInput
from laseros.domain.projects.models import Project
from laseros.domain.projects.presets import JobPresets
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.services import ProjectService
from laseros.domain.projects.stages import Stage
from laseros.domain.runs.schemas import RunEnd, RunLog
from laseros.domain.runs.services import RunService


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

# The sheet rack: (material, thickness, size, opening stock, minimum, unit cost). The last one is
# nearly empty, so a job that needs it waits on material and the list shows it as low.
SHEETS = [
    ("Mild Steel", "1.00", "2500x1250", 60, 15, "520.00"),
    ("Mild Steel", "2.00", "3000x1500", 80, 20, "1150.00"),
    ("Mild Steel", "3.00", "3000x1500", 90, 20, "1680.00"),
    ("Mild Steel", "5.00", "3000x1500", 40, 10, "2790.00"),
    ("Stainless Steel", "1.20", "2500x1250", 45, 10, "2350.00"),
    ("Galvanised", "1.00", "2500x1250", 50, 12, "690.00"),
    ("Aluminium", "2.00", "2500x1250", 35, 8, "1980.00"),
    ("Stainless Steel", "3.00", "3000x1500", 2, 6, "6100.00"),
]
STOCKED = SHEETS[:-1]
SHORT_SHEET = SHEETS[-1]
CONSUMABLES = [
    ("Consumable", "Nozzle 1.5 mm single", "each", 24, 10, "85.00"),
    ("Consumable", "Protective lens", "each", 6, 4, "420.00"),
    ("Spare Part", "Ceramic ring", "each", 3, 2, "650.00"),
    ("Tool", "Nozzle centring kit", "each", 1, 0, "1200.00"),
]
# Presets for the common sheets: (material, thickness, power W, speed mm/min, gas, bar, nozzle mm, focus mm).
PRESETS = [
    ("Mild Steel", "1.00", 1500, 9000, "N2", "12.00", "1.50", "0.00"),
    ("Mild Steel", "2.00", 2000, 5200, "O2", "0.80", "1.20", "1.00"),
    ("Mild Steel", "3.00", 3000, 3200, "O2", "0.60", "1.20", "1.50"),
    ("Stainless Steel", "1.20", 2000, 8000, "N2", "14.00", "2.00", "-1.00"),
    ("Galvanised", "1.00", 1500, 8500, "Air", "10.00", "1.50", "0.00"),
]
HISTORY_JOBS = 14  # delivered jobs cut over the past three weeks, for the run log and operator totals

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

    async with db.session(write=True) as session:
        operator = Actor.of(await _user(session, "operator"))
        admin_user = await _user(session, "admin")
        admin = Actor.of(admin_user)
    await _stock_the_shop(db, calendar, admin, rng)
    async with db.session(write=True) as session:
        extra = await OperatorService(session, admin).create_extra(
            ExtraOperatorInput(display_name="Themba (night shift)", notes="Runs the machine on night shifts; no login.")
        )

    # Three weeks of finished work first, so the run log, stock ledger and operator totals have a history.
    today = calendar.today()
    for number in range(HISTORY_JOBS):
        spec = rng.choice(STOCKED)
        project_id = await _new_project(db, calendar, manager, rng, client_ids, f"{rng.choice(JOBS)} (earlier)", spec)
        await _pay(db, calendar, manager, project_id)
        runs = rng.randint(1, 3)
        for part in range(runs):
            day = today - timedelta(days=21 - number - part)
            who = extra if rng.random() < 0.25 else None
            await _log_run(db, calendar, manager, operator, project_id, rng, day, who, finished=part == runs - 1)
        async with db.session(write=True) as session:
            await ProjectService(session, manager, calendar).change_stage(project_id, Stage.DELIVERED)

    stages = [stage for stage, count in STAGE_PLAN for _ in range(count)]
    rng.shuffle(stages)
    running_started = False
    for number, target in enumerate(stages):
        spec = rng.choice(STOCKED)
        project_id = await _new_project(
            db, calendar, manager, rng, client_ids, f"{rng.choice(JOBS)} #{number + 1}", spec
        )
        live_run = await _advance(
            db, calendar, manager, operator, project_id, target, rng, start_live_run=not running_started
        )
        running_started = running_started or live_run
    # One job needs a sheet the rack is short of: it waits on material until stock is bought.
    project_id = await _new_project(
        db, calendar, manager, rng, client_ids, "Balustrade infill (316)", SHORT_SHEET, sheets=8
    )
    await _pay(db, calendar, manager, project_id)
    await _let_time_pass(db)
    return True


async def _let_time_pass(db: Database) -> None:
    """Back-date some stages so the demo shows what a real week leaves behind, then let the rules look.

    Half the quotes have waited 5–8 days, every other ready job 3 days, the blocked job 3 days: the
    bell, the drafts and the daily report then have something to say on first start.
    """
    now = utcnow()
    async with db.session(write=True) as session:
        for stage, every, days in (
            (Stage.QUOTE, 2, (5, 8)),
            (Stage.READY, 2, (3, 3)),
            (Stage.WAITING_MATERIAL, 1, (3, 3)),
        ):
            ids = list(
                await session.scalars(select(Project.id).where(Project.stage == stage.value).order_by(Project.id))
            )
            for position, project_id in enumerate(ids[::every]):
                age = timedelta(days=days[0] + position % (days[1] - days[0] + 1), hours=2)
                entered = now - age
                await session.execute(update(Project).where(Project.id == project_id).values(stage_changed_at=entered))
                # The message drafted when the job entered the stage moves back in time with it.
                await session.execute(
                    update(OutboundDraft)
                    .where(OutboundDraft.project_id == project_id)
                    .values(event_key=entered.isoformat(timespec="seconds"), created_at=entered)
                )
        await evaluate(session)
        await session.commit()


async def _user(session: AsyncSession, username: str) -> User:
    return (await session.scalars(select(User).where(User.username == username))).one()


async def _stock_the_shop(db: Database, calendar: ShopCalendar, admin: Actor, rng: random.Random) -> None:
    materials, sizes = list(DEFAULT_MATERIALS), list(DEFAULT_SHEET_SIZES)
    for number, (material, thickness, size, on_hand, minimum, cost) in enumerate(SHEETS, start=1):
        values = {"item_code": f"SH-{number:03d}", "name": f"{material} {thickness} mm {size}", "category": "Sheet",
                  "material_type": material, "thickness_mm": thickness, "sheet_size": size, "unit": "sheets",
                  "quantity_on_hand": str(on_hand), "min_required": str(minimum), "reorder_quantity": str(minimum * 2),
                  "unit_cost": cost, "supplier_name": rng.choice(["Macsteel", "Steelbuild", "Allied Metals"]),
                  "location": f"Rack {chr(64 + number)}"}  # fmt: skip
        async with db.session(write=True) as session:
            item = ItemInput.parse(values, materials=materials, sheet_sizes=sizes, creating=True)
            await InventoryService(session, admin, calendar).create(item)
    for number, (category, name, unit, on_hand, minimum, cost) in enumerate(CONSUMABLES, start=1):
        values = {"item_code": f"CS-{number:03d}", "name": name, "category": category, "unit": unit,
                  "quantity_on_hand": str(on_hand), "min_required": str(minimum), "reorder_quantity": str(minimum or 1),
                  "unit_cost": cost, "supplier_name": "Laser Parts SA", "location": "Store room"}  # fmt: skip
        async with db.session(write=True) as session:
            item = ItemInput.parse(values, materials=materials, sheet_sizes=sizes, creating=True)
            await InventoryService(session, admin, calendar).create(item)
    for material, thickness, power, speed, gas, bar, nozzle, focus in PRESETS:
        values = {"name": f"{material} {thickness} mm {gas}", "material_type": material, "thickness_mm": thickness,
                  "power_w": str(power), "speed_mm_min": str(speed), "frequency_hz": "5000", "gas": gas,
                  "pressure_bar": bar, "nozzle_mm": nozzle, "focus_mm": focus, "pierce_time_s": "0.50",
                  "is_active": "1", "notes": "Checked on the machine in the last service."}  # fmt: skip
        async with db.session(write=True) as session:
            await JobPresets(session, admin).create(PresetInput.parse(values, materials=materials))


async def _new_project(
    db: Database,
    calendar: ShopCalendar,
    manager: Actor,
    rng: random.Random,
    client_ids: list[int],
    name: str,
    spec: tuple[Any, ...],
    sheets: int | None = None,
) -> int:
    material, thickness, size = spec[:3]
    sheets = sheets or rng.randint(1, 8)
    data = ProjectInput(
        client_id=rng.choice(client_ids),
        name=name,
        description="Demo job: cut to the client's DXF.",
        material_type=material,
        thickness_mm=Decimal(thickness),
        sheet_size=size,
        sheets_required=sheets,
        parts_quantity=sheets * rng.randint(4, 40),
        estimated_cut_time=sheets * rng.randint(10, 35),
        quoted_price=Decimal(sheets * rng.randint(900, 2400)),
        due_date=calendar.today() + timedelta(days=rng.randint(3, 30)),
    )
    async with db.session(write=True) as session:
        return (await ProjectService(session, manager, calendar).create(data)).id


async def _pay(db: Database, calendar: ShopCalendar, manager: Actor, project_id: int) -> None:
    async with db.session(write=True) as session:
        await ProjectService(session, manager, calendar).mark_pop_received(project_id)


async def _log_run(
    db: Database,
    calendar: ShopCalendar,
    manager: Actor,
    operator: Actor,
    project_id: int,
    rng: random.Random,
    day: date,
    extra: ExtraOperator | None,
    *,
    finished: bool,
) -> None:
    async with db.session(write=True) as session:
        sheets = rng.randint(1, 3)
        data = RunLog(
            operator_id=operator.user_id or 0,
            extra_operator_id=extra.id if extra else None,
            preset_id=None,
            cut_time_minutes=Decimal(rng.randint(20, 150)),
            run_date=day,
            report=RunEnd(
                sheets_used=sheets, parts_produced=sheets * rng.randint(5, 30), notes="", job_finished=finished
            ),
        )
        await RunService(session, manager, calendar).log(project_id, data)


async def _advance(
    db: Database,
    calendar: ShopCalendar,
    manager: Actor,
    operator: Actor,
    project_id: int,
    target: Stage,
    rng: random.Random,
    *,
    start_live_run: bool,
) -> bool:
    """Walk a new project through the real workflow until it reaches ``target``.

    Returns True when it left a run going on the operator's phone (there can be one per operator).
    """
    if target == Stage.REQUEST:
        return False
    async with db.session(write=True) as session:
        projects = ProjectService(session, manager, calendar)
        await projects.change_stage(project_id, Stage.QUOTE)
        if target == Stage.CANCELLED:
            await projects.change_stage(project_id, Stage.CANCELLED)
    if target in (Stage.QUOTE, Stage.CANCELLED):
        return False
    await _pay(db, calendar, manager, project_id)
    if target == Stage.QUEUED:
        return False
    yesterday = calendar.today() - timedelta(days=1)
    if target == Stage.CUTTING:
        if start_live_run:
            async with db.session(write=True) as session:
                await RunService(session, operator, calendar).start(project_id)
            return True
        await _log_run(db, calendar, manager, operator, project_id, rng, yesterday, None, finished=False)
        return False
    await _log_run(db, calendar, manager, operator, project_id, rng, yesterday, None, finished=True)
    if target == Stage.DELIVERED:
        async with db.session(write=True) as session:
            await ProjectService(session, manager, calendar).change_stage(project_id, Stage.DELIVERED)
    return False
