"""indexes for the reports' revenue: quotes sent, invoices issued in a period

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:00:00.000000

The clients report and the reports index sum the quotes sent, the invoices issued and the payments
dated in a period (domain/reports/analytics/revenue.py). Without these, SQLite walked every quote
by client and, for each, every quote again to see whether a sent revision replaced it (3.7 s for a
month at ten years of data). The first two hold every column their sum reads; the third answers
"was this quote revised and the revision sent" with one seek. Payments already have their
``paid_on`` index (0009). Figures: docs/performance.md ("Reports").
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_invoices_report_issued", "invoices", ["issued_on", "status", "client_id", "total"]),
    ("ix_quotes_report_sent", "quotes", ["sent_at", "client_id", "total"]),
    ("ix_quotes_revision_of_sent", "quotes", ["revision_of_id", "sent_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
