"""The project lifecycle (SPEC §3): stages, the one manual transition table, and the queue mapping.

Everything that changes or shows a stage reads these structures; ``docs/project_stages.md`` is
checked against them by the test suite.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    REQUEST = "request"
    QUOTE = "quote"
    WAITING_MATERIAL = "waiting_material"
    QUEUED = "queued"
    CUTTING = "cutting"
    READY = "ready"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS: dict[Stage, str] = {
    Stage.REQUEST: "Request",
    Stage.QUOTE: "Quote & Approval",
    Stage.WAITING_MATERIAL: "Waiting on material",
    Stage.QUEUED: "Queued (ready to cut)",
    Stage.CUTTING: "Cutting",
    Stage.READY: "Ready for pickup",
    Stage.DELIVERED: "Delivered",
    Stage.CANCELLED: "Cancelled",
}

# Manual stage changes a manager may make (POST /projects/{id}/status). Moves made by the
# system — POP received, queue status sync, runs — go through ``set_stage`` without this table.
TRANSITIONS: dict[Stage, tuple[Stage, ...]] = {
    Stage.REQUEST: (Stage.QUOTE, Stage.CANCELLED),
    Stage.QUOTE: (Stage.REQUEST, Stage.CANCELLED),
    Stage.WAITING_MATERIAL: (Stage.QUEUED, Stage.CANCELLED),
    Stage.QUEUED: (Stage.WAITING_MATERIAL, Stage.CUTTING, Stage.CANCELLED),
    Stage.CUTTING: (Stage.QUEUED, Stage.READY, Stage.CANCELLED),
    Stage.READY: (Stage.DELIVERED, Stage.CUTTING),
    Stage.DELIVERED: (Stage.READY,),
    Stage.CANCELLED: (Stage.REQUEST,),
}

# Stages from which "POP received" may be marked.
POP_FROM: tuple[Stage, ...] = (Stage.REQUEST, Stage.QUOTE)

# Stages that count as open work (dashboard "active projects").
ACTIVE_STAGES: tuple[Stage, ...] = (Stage.WAITING_MATERIAL, Stage.QUEUED, Stage.CUTTING, Stage.READY)
# Jobs whose preset still matters (a preset (de)activated follows them): not yet delivered or cancelled.
OPEN_STAGES: tuple[Stage, ...] = tuple(s for s in Stage if s not in (Stage.DELIVERED, Stage.CANCELLED))
# Stages whose projects the notification evaluator looks at; any other stage clears a project's notifications.
WATCHED_STAGES: tuple[Stage, ...] = (Stage.QUOTE, Stage.WAITING_MATERIAL, Stage.QUEUED, Stage.CUTTING, Stage.READY)
# A job about to be cut needs its machine settings (without a preset it raises preset_missing).
PRESET_STAGES: tuple[Stage, ...] = (Stage.QUEUED, Stage.CUTTING)
# Jobs whose sheets are spoken for: queued and cutting jobs claim stock before waiting ones.
CLAIMING_STAGES: tuple[Stage, ...] = (Stage.QUEUED, Stage.CUTTING)


class QueueStatus(StrEnum):
    QUEUED = "Queued"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


ACTIVE_QUEUE_STATUSES: tuple[QueueStatus, ...] = (QueueStatus.QUEUED, QueueStatus.IN_PROGRESS)

# Queue status buttons: which moves exist, and what each button is called.
QUEUE_TRANSITIONS: dict[QueueStatus, tuple[QueueStatus, ...]] = {
    QueueStatus.QUEUED: (QueueStatus.IN_PROGRESS, QueueStatus.CANCELLED),
    QueueStatus.IN_PROGRESS: (QueueStatus.COMPLETED, QueueStatus.QUEUED, QueueStatus.CANCELLED),
    QueueStatus.COMPLETED: (QueueStatus.QUEUED,),
    QueueStatus.CANCELLED: (QueueStatus.QUEUED,),
}

QUEUE_ACTION_LABELS: dict[QueueStatus, str] = {
    QueueStatus.IN_PROGRESS: "Start",
    QueueStatus.COMPLETED: "Complete",
    QueueStatus.CANCELLED: "Cancel",
    QueueStatus.QUEUED: "Re-queue",
}

# Queue ↔ project sync: the project stage that follows each queue status, and its inverse.
QUEUE_STATUS_TO_STAGE: dict[QueueStatus, Stage] = {
    QueueStatus.QUEUED: Stage.QUEUED,
    QueueStatus.IN_PROGRESS: Stage.CUTTING,
    QueueStatus.COMPLETED: Stage.READY,
    QueueStatus.CANCELLED: Stage.CANCELLED,
}
STAGE_TO_QUEUE_STATUS: dict[Stage, QueueStatus] = {stage: status for status, stage in QUEUE_STATUS_TO_STAGE.items()}


def can_move(current: Stage, target: Stage) -> bool:
    return target in TRANSITIONS[current]


def refusal(current: Stage, target: Stage) -> str:
    allowed = ", ".join(s.label for s in TRANSITIONS[current]) or "nothing"
    return f"A project in {current.label} cannot move to {target.label}. From here it can go to: {allowed}."


def transition_table_markdown() -> str:
    """The manual transition table as Markdown (docs/project_stages.md embeds exactly this)."""
    lines = ["| from | may move to (manually) |", "| --- | --- |"]
    for stage in Stage:
        targets = ", ".join(f"`{t.value}`" for t in TRANSITIONS[stage]) or "—"
        lines.append(f"| `{stage.value}` ({stage.label}) | {targets} |")
    lines += ["", "| queue status | project stage |", "| --- | --- |"]
    lines += [f"| {status.value} | `{stage.value}` |" for status, stage in QUEUE_STATUS_TO_STAGE.items()]
    return "\n".join(lines)
