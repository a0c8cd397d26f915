"""The daily report (SPEC §6): a brief of the shop's day, stored one per shop date.

Three seams, one module each:

- ``gather`` reads (a handful of set-based queries, rows read by column label) and fills a
  ``ReportData``: the five sections as dataclasses (``data``).
- ``store`` keeps that structure as JSON in ``daily_reports.data``, with the highlights the
  dashboard reads, in one upsert on ``report_date`` in a short write transaction: two generators
  racing for the same date (two workers at 07:30, a worker restarted mid-report, "Generate now"
  at the same moment) still leave exactly one row.
- rendering is the web layer's: ``templates/reports/daily.txt`` (the download, autoescape off)
  and the sections of ``templates/reports/daily.html`` are both rendered from the stored
  structure. Nothing is built as text and parsed back.

The text is rendered on demand, not stored (new rows leave ``body_text`` NULL): the structure is
the one record, so the page and the download cannot disagree. A report keeps saying what it said
when it was generated, because the structure holds everything the text says (the company name
and the shop's time zone included); only a change to the templates' wording changes how older
reports read. Reports stored before the structure existed (migration 0004) have only
``body_text`` and nothing to rebuild their structure from, so the page and the download show
that stored text as it is (``report_data`` is None for them).
"""

from __future__ import annotations

from laseros.domain.reports.daily.data import (
    BLOCKED_AND_STALLED,
    CLIENTS_TO_CONTACT,
    CUT_LIST_MAX,
    CUT_TODAY,
    MATERIAL_TO_ORDER,
    NOTHING,
    SECTIONS,
    YESTERDAYS_PRODUCTION,
    BlockedLine,
    ContactLine,
    CutLine,
    LowStockLine,
    ProductionLine,
    ReportData,
    WaitingLine,
    highlights,
    section_count,
)
from laseros.domain.reports.daily.gather import gather
from laseros.domain.reports.daily.store import (
    DailyReports,
    generate_daily_report,
    history_page,
    report_data,
)
from laseros.domain.reports.models import DailyReport

__all__ = [
    "BLOCKED_AND_STALLED",
    "CLIENTS_TO_CONTACT",
    "CUT_LIST_MAX",
    "CUT_TODAY",
    "MATERIAL_TO_ORDER",
    "NOTHING",
    "SECTIONS",
    "YESTERDAYS_PRODUCTION",
    "BlockedLine",
    "ContactLine",
    "CutLine",
    "DailyReport",
    "DailyReports",
    "LowStockLine",
    "ProductionLine",
    "ReportData",
    "WaitingLine",
    "gather",
    "generate_daily_report",
    "highlights",
    "history_page",
    "report_data",
    "section_count",
]
