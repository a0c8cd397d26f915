"""indexes for the business reports' aggregates

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02 03:30:00.000000

The reports (docs/reports.md) group ten years of runs, jobs and stock ledger rows by period;
these indexes let each report read only its period, most of them without touching the tables
(they hold every column the aggregate sums). Figures: docs/performance.md ("Reports").
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = (
    # Production, the clients' cut hours and the index: completed runs started in the period.
    (
        "ix_laser_runs_report_started",
        "laser_runs",
        [
            "started_at",
            "status",
            "project_id",
            "operator_id",
            "extra_operator_id",
            "material_type",
            "thickness_mm",
            "cut_minutes",
            "sheets_used",
            "parts_produced",
        ],
    ),
    # Efficiency and calibration: a job's cut minutes over its completed runs, per operator.
    (
        "ix_laser_runs_report_project",
        "laser_runs",
        ["project_id", "status", "extra_operator_id", "operator_id", "cut_minutes"],
    ),
    # Jobs completed in a period; a sheet's newest completed jobs.
    ("ix_queue_items_status_completed", "queue_items", ["status", "completed_at"]),
    # The sheets the shop's estimated jobs use (calibration).
    ("ix_projects_material_thickness", "projects", ["material_type", "thickness_mm", "estimated_cut_time"]),
    # Stock usage and purchases in a period, per item and type.
    (
        "ix_inventory_transactions_report_created",
        "inventory_transactions",
        ["created_at", "item_id", "transaction_type", "quantity", "unit_cost"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
