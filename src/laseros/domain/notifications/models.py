"""A notification: one condition on one project or stock item that needs someone's attention;
and the client messages the same rules draft (sent by a person)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import TimestampedBase, UTCDateTime

if TYPE_CHECKING:
    from laseros.domain.clients.models import Client
    from laseros.domain.projects.models import Project


class NotificationType(StrEnum):
    APPROVAL_WAIT = "approval_wait"
    MATERIAL_BLOCK = "material_block"
    CUTTING_STALL = "cutting_stall"
    PICKUP_WAIT = "pickup_wait"
    LOW_STOCK = "low_stock"
    PRESET_MISSING = "preset_missing"
    # Raised by an inbound email with a proof-of-payment-looking file (comms.inbound); a manager
    # confirms POP by hand and resolves it. The evaluator leaves it alone.
    POP_CANDIDATE = "pop_candidate"
    QUOTE_EXPIRING = "quote_expiring"  # a sent quote with few days left (billing raises it)
    INVOICE_OVERDUE = "invoice_overdue"  # an unpaid invoice past its due date (billing raises it)

    @property
    def label(self) -> str:
        return TYPE_LABELS[self]


TYPE_LABELS: dict[NotificationType, str] = {
    NotificationType.APPROVAL_WAIT: "Waiting on client approval",
    NotificationType.MATERIAL_BLOCK: "Blocked by material",
    NotificationType.CUTTING_STALL: "Cutting stalled",
    NotificationType.PICKUP_WAIT: "Waiting for pickup",
    NotificationType.LOW_STOCK: "Low stock",
    NotificationType.PRESET_MISSING: "No preset",
    NotificationType.POP_CANDIDATE: "Confirm POP",
    NotificationType.QUOTE_EXPIRING: "Quote expiring",
    NotificationType.INVOICE_OVERDUE: "Invoice overdue",
}


class Severity(StrEnum):
    WARNING = "warning"
    URGENT = "urgent"  # an emergency buy, or a job blocked past its stage limit


class Notification(TimestampedBase):
    """Open while ``resolved_at`` is empty; live while ``closed_at`` is empty.

    A condition has at most one live notification (the partial unique index): re-evaluation
    updates its message. Resolving by hand stamps ``resolved_at`` but keeps it live, so the same
    condition is not raised again until it has ended; when the condition ends the notification is
    closed (and, if nobody resolved it, marked ``auto_cleared``).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "uq_notifications_live_subject",
            "notif_type",
            "subject_key",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # The bell: open ones, newest first.
        Index(
            "ix_notifications_open",
            "created_at",
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    notif_type: Mapped[str] = mapped_column(String(30))
    # "project:12" or "item:3": one key per subject, so uniqueness needs no nullable columns.
    subject_key: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    inventory_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("inventory_items.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(10), default=Severity.WARNING.value)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    auto_cleared: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def link(self) -> str:
        kind, _, subject = self.subject_key.partition(":")
        if kind in ("quote", "invoice"):  # billing's notifications are about a document
            return f"/{kind}s/{subject}"
        if self.project_id is not None:
            return f"/projects/{self.project_id}"
        return f"/inventory/{self.inventory_item_id}"

    @property
    def type_label(self) -> str:
        return NotificationType(self.notif_type).label


class DraftKind(StrEnum):
    APPROVAL_FOLLOWUP = "approval_followup"
    READY_FOR_COLLECTION = "ready_for_collection"
    MATERIAL_DELAY = "material_delay"
    # Drafted by billing when a sent quote raises quote_expiring; its event key is "quote:<id>".
    QUOTE_REMINDER = "quote_reminder"

    @property
    def label(self) -> str:
        return DRAFT_LABELS[self]


DRAFT_LABELS: dict[DraftKind, str] = {
    DraftKind.APPROVAL_FOLLOWUP: "Approval follow-up",
    DraftKind.READY_FOR_COLLECTION: "Ready for collection",
    DraftKind.MATERIAL_DELAY: "Material delay",
    DraftKind.QUOTE_REMINDER: "Quote reminder",
}


class DraftStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELETED = "deleted"  # kept (hidden) so the same event never drafts the message again
    WITHDRAWN = "withdrawn"  # never sent and no longer true (the job moved on): hidden, kept likewise


class OutboundDraft(TimestampedBase):
    __tablename__ = "outbound_drafts"
    __table_args__ = (
        # One draft per kind per project per event (the stage entry it is about): no duplicates.
        Index("uq_outbound_drafts_event", "kind", "project_id", "event_key", unique=True),
        Index("ix_outbound_drafts_status_created", "status", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(30))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    # Which occurrence of the event this draft is for: the stage entry time, as ISO text.
    event_key: Mapped[str] = mapped_column(String(40))
    channel_hint: Mapped[str] = mapped_column(String(20), default="whatsapp")
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=DraftStatus.PENDING.value)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    project: Mapped[Project] = relationship(lazy="raise")
    client: Mapped[Client] = relationship(lazy="raise")

    @property
    def kind_label(self) -> str:
        return DraftKind(self.kind).label
