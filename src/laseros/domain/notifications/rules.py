"""The notification rules (SPEC §6): which conditions raise what, as pure functions over facts.

One table says which stage raises which notification after how long; the evaluator
(``evaluate.evaluate``) gathers the facts, these functions decide, and the evaluator reconciles
the answer with what is already live. Days are whole days in the stage; a limit is passed only
when the age is strictly greater than it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from laseros.domain.kernel.money import format_rand
from laseros.domain.kernel.registry import (
    LIMIT_CUTTING_DAYS,
    LIMIT_QUOTE_DAYS,
    LIMIT_READY_DAYS,
    LIMIT_WAITING_MATERIAL_DAYS,
)
from laseros.domain.kernel.settings import Setting
from laseros.domain.kernel.shop import sheet_label, thickness_label
from laseros.domain.notifications.models import DraftKind, NotificationType, Severity
from laseros.domain.projects.stages import PRESET_STAGES, Stage


@dataclass(frozen=True)
class StageAlert:
    notif_type: NotificationType
    setting: Setting[timedelta]  # the shop setting holding the limit in days (its default: SPEC §3)
    # The client message drafted when the limit passes (None: the shop acts, not the client).
    draft: DraftKind | None

    @property
    def default_days(self) -> float:
        return self.setting.read(None).total_seconds() / 86400


# The one stage-alert table; the limits are settings.
STAGE_ALERTS: dict[Stage, StageAlert] = {
    Stage.QUOTE: StageAlert(NotificationType.APPROVAL_WAIT, LIMIT_QUOTE_DAYS, DraftKind.APPROVAL_FOLLOWUP),
    Stage.WAITING_MATERIAL: StageAlert(
        NotificationType.MATERIAL_BLOCK, LIMIT_WAITING_MATERIAL_DAYS, DraftKind.MATERIAL_DELAY
    ),
    Stage.CUTTING: StageAlert(NotificationType.CUTTING_STALL, LIMIT_CUTTING_DAYS, None),
    Stage.READY: StageAlert(NotificationType.PICKUP_WAIT, LIMIT_READY_DAYS, None),
}
# The limit settings, in the order of the table.
LIMIT_SETTINGS: tuple[Setting[timedelta], ...] = tuple(alert.setting for alert in STAGE_ALERTS.values())

Limits = dict[Stage, timedelta]


def limits_from(stored: dict[str, str | None]) -> Limits:
    """The stage limits from the stored setting texts (absent or unreadable: the default)."""
    return {stage: alert.setting.read(stored.get(alert.setting.key)) for stage, alert in STAGE_ALERTS.items()}


@dataclass(frozen=True)
class ProjectFacts:
    id: int
    project_code: str
    name: str
    client_id: int
    client_name: str
    stage: Stage
    stage_changed_at: datetime
    material_type: str
    thickness_mm: Decimal | None
    sheet_size: str
    sheets_required: int | None
    preset_id: int | None
    pop_deadline: date | None
    due_date: date | None
    last_run_ended_at: datetime | None = None  # the latest completed run (cutting jobs only)
    cut_short: int = 0  # sheets a run going now lacked when it was started anyway (cutting jobs only)

    @property
    def subject_key(self) -> str:
        return f"project:{self.id}"

    @property
    def event_key(self) -> str:
        """This stay in the current stage: drafts are made once per stay."""
        return self.stage_changed_at.isoformat(timespec="seconds")

    @property
    def material(self) -> str:
        return sheet_label(self.material_type, self.thickness_mm, self.sheet_size)


@dataclass(frozen=True)
class ItemFacts:
    id: int
    item_code: str
    name: str
    unit: str
    quantity_on_hand: int
    min_required: int
    reorder_quantity: int
    last_shortfall: int  # the shortfall of the item's latest ledger row (a run used more than was there)

    @property
    def subject_key(self) -> str:
        return f"item:{self.id}"


@dataclass(frozen=True)
class Raised:
    notif_type: NotificationType
    subject_key: str
    message: str
    severity: Severity = Severity.WARNING
    project_id: int | None = None
    inventory_item_id: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.notif_type.value, self.subject_key)


@dataclass(frozen=True)
class DraftNeed:
    kind: DraftKind
    project: ProjectFacts


def _days(age: timedelta) -> str:
    days = int(age.total_seconds() // 86400)
    return "1 day" if days == 1 else f"{days} days"


def _who(p: ProjectFacts) -> str:
    return f"{p.project_code} {p.name} ({p.client_name})"


def _past_limit_draft(p: ProjectFacts) -> list[DraftNeed]:
    kind = STAGE_ALERTS[p.stage].draft
    return [DraftNeed(kind, p)] if kind else []


def project_alerts(p: ProjectFacts, limits: Limits, now: datetime) -> tuple[list[Raised], list[DraftNeed]]:
    """What one project raises now, and which client drafts it calls for."""
    raised: list[Raised] = []
    drafts: list[DraftNeed] = []
    age = now - p.stage_changed_at
    limit = limits.get(p.stage)

    def raise_(kind: NotificationType, message: str, severity: Severity = Severity.WARNING) -> None:
        raised.append(Raised(kind, p.subject_key, message[:500], severity, project_id=p.id))

    if p.stage == Stage.QUOTE and limit is not None and age > limit:
        raise_(NotificationType.APPROVAL_WAIT, f"{_who(p)}: quote waiting on approval for {_days(age)} — follow up.")
        drafts += _past_limit_draft(p)
    elif p.stage == Stage.WAITING_MATERIAL:
        # Raised at once (the sheets must be ordered); past the limit it is urgent and the client is told.
        sheets = f"{p.sheets_required} × " if p.sheets_required else ""
        overdue = limit is not None and age > limit
        raise_(
            NotificationType.MATERIAL_BLOCK,
            f"{_who(p)} is waiting on material: {sheets}{p.material} sheets"
            + (f" — blocked for {_days(age)}." if overdue else "."),
            Severity.URGENT if overdue else Severity.WARNING,
        )
        if overdue:
            drafts += _past_limit_draft(p)
    elif p.stage == Stage.CUTTING and p.cut_short > 0:
        # Cut anyway without the sheets: the shop has to buy them now, whatever the stall clock says.
        raise_(
            NotificationType.MATERIAL_BLOCK,
            f"{_who(p)} is being cut without its sheets: stock was {p.cut_short} short of {p.material} when the "
            "run started — order them.",
            Severity.URGENT,
        )
    elif p.stage == Stage.CUTTING and limit is not None:
        since = max(p.stage_changed_at, p.last_run_ended_at or p.stage_changed_at)
        if now - since > limit:
            raise_(
                NotificationType.CUTTING_STALL,
                f"{_who(p)} has been cutting for {_days(age)} with no run completed in the last {_days(now - since)}.",
            )
    elif p.stage == Stage.READY:
        # The collection message is drafted as soon as the job is ready.
        drafts.append(DraftNeed(DraftKind.READY_FOR_COLLECTION, p))
        if limit is not None and age > limit:
            raise_(
                NotificationType.PICKUP_WAIT,
                f"{_who(p)} has been ready for pickup for {_days(age)} — remind the client.",
            )
    if p.stage in PRESET_STAGES and p.preset_id is None and p.material_type and p.thickness_mm is not None:
        raise_(
            NotificationType.PRESET_MISSING,
            f"No preset for {thickness_label(p.thickness_mm)} mm {p.material_type} — "
            f"check the machine settings manually ({p.project_code}).",
        )
    return raised, drafts


def next_check(p: ProjectFacts, limits: Limits, now: datetime) -> datetime | None:
    """When this project's stage limit will pass, if it has not yet: the moment to look again.

    Waking the evaluator then makes an alert appear at its limit, not up to an hour later.
    """
    limit = limits.get(p.stage)
    if limit is None:
        return None
    since = p.stage_changed_at
    if p.stage == Stage.CUTTING and p.last_run_ended_at is not None:
        since = max(since, p.last_run_ended_at)
    due = since + limit + timedelta(seconds=1)  # strictly past the limit
    return due if due > now else None


def item_alerts(item: ItemFacts) -> list[Raised]:
    """Low stock for one item: below its minimum; an emergency buy when a run used more than was there."""
    if item.quantity_on_hand >= item.min_required:
        return []
    order = f" Order {item.reorder_quantity}." if item.reorder_quantity else ""
    level = f"{item.quantity_on_hand} {item.unit} on hand, minimum {item.min_required}."
    if item.last_shortfall > 0:
        return [
            Raised(
                NotificationType.LOW_STOCK,
                item.subject_key,
                f"Emergency buy: {item.item_code} {item.name} ran out — a run used {item.last_shortfall} more "
                f"than was on hand. {level}{order}"[:500],
                Severity.URGENT,
                inventory_item_id=item.id,
            )
        ]
    return [
        Raised(
            NotificationType.LOW_STOCK,
            item.subject_key,
            f"Low stock: {item.item_code} {item.name} — {level}{order}"[:500],
            inventory_item_id=item.id,
        )
    ]


def alert_table_markdown() -> str:
    """The stage-alert table as Markdown (docs/project_stages_and_alerts.md embeds exactly this)."""
    lines = [
        "| stage | notification | default limit (setting) | client draft past the limit |",
        "| --- | --- | --- | --- |",
    ]
    for stage, alert in STAGE_ALERTS.items():
        draft = alert.draft.label if alert.draft else "—"
        days = f"{alert.default_days:g} day" + ("" if alert.default_days == 1 else "s")
        setting = f"`{alert.setting.key}`"
        lines.append(
            f"| `{stage.value}` ({stage.label}) | `{alert.notif_type.value}` | > {days} ({setting}) | {draft} |"
        )
    return "\n".join(lines)


# -- quotes and invoices (raised by billing.alerts; the evaluator leaves them alone) ---------------------

# The types the evaluator reconciles (project and stock conditions); billing reconciles its own two.
EVALUATED_TYPES: tuple[NotificationType, ...] = (
    NotificationType.APPROVAL_WAIT,
    NotificationType.MATERIAL_BLOCK,
    NotificationType.CUTTING_STALL,
    NotificationType.PICKUP_WAIT,
    NotificationType.LOW_STOCK,
    NotificationType.PRESET_MISSING,
)
BILLING_TYPES: tuple[NotificationType, ...] = (NotificationType.QUOTE_EXPIRING, NotificationType.INVOICE_OVERDUE)
QUOTE_EXPIRING_DAYS = 3  # a sent quote with this many days or fewer left raises quote_expiring


@dataclass(frozen=True)
class QuoteFacts:
    id: int
    quote_number: str
    project_code: str
    client_name: str
    valid_until: date
    total: Decimal

    @property
    def subject_key(self) -> str:
        return f"quote:{self.id}"


@dataclass(frozen=True)
class InvoiceFacts:
    id: int
    invoice_number: str
    project_code: str
    client_name: str
    due_date: date
    balance: Decimal

    @property
    def subject_key(self) -> str:
        return f"invoice:{self.id}"


def quote_alerts(q: QuoteFacts, today: date) -> list[Raised]:
    """quote_expiring while a sent quote has ``QUOTE_EXPIRING_DAYS`` days or fewer left (urgent on its last day)."""
    left = (q.valid_until - today).days
    if not 0 <= left <= QUOTE_EXPIRING_DAYS:
        return []
    when = "today" if left == 0 else "tomorrow" if left == 1 else f"in {left} days"
    return [
        Raised(
            NotificationType.QUOTE_EXPIRING,
            q.subject_key,
            f"Quote {q.quote_number} for {q.client_name} ({q.project_code}, {format_rand(q.total)}) expires {when} "
            f"({q.valid_until.isoformat()}) — follow up or revise it."[:500],
            Severity.URGENT if left == 0 else Severity.WARNING,
        )
    ]


def invoice_alerts(i: InvoiceFacts, today: date) -> list[Raised]:
    """invoice_overdue while an issued invoice is unpaid past its due date (urgent after 30 days)."""
    late = (today - i.due_date).days
    if late <= 0 or i.balance <= 0:
        return []
    return [
        Raised(
            NotificationType.INVOICE_OVERDUE,
            i.subject_key,
            f"Invoice {i.invoice_number} for {i.client_name} ({i.project_code}) is {_days(timedelta(days=late))} "
            f"overdue: {format_rand(i.balance)} unpaid (due {i.due_date.isoformat()})."[:500],
            Severity.URGENT if late > 30 else Severity.WARNING,
        )
    ]
