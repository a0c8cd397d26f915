"""The daily report: one stored brief per shop date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laseros.db import Base, UTCDateTime, utcnow


class DailyReport(Base):
    __tablename__ = "daily_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One report per shop date: regenerating the date replaces it.
    report_date: Mapped[date] = mapped_column(Date, unique=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    generated_by: Mapped[str] = mapped_column(String(120))
    # The report's sections as JSON (``reports.daily.data.ReportData``); the .txt and the page are
    # rendered from it. Reports stored before migration 0004 have none, only their text.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    body_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Counts per section and a few headline lines, for the dashboard.
    highlights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
