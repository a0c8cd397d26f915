"""CSV exports streamed row by row, so a 50 000-row list never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from litestar import Request
from litestar.response import Stream

from laseros.db import Database
from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.paging import Export
from laseros.web.guards import refuse_unless

# A text cell a spreadsheet could evaluate as a formula starts (after any spaces) with one of these
# (OWASP's CSV-injection list). Such a cell is written with a leading apostrophe, which the
# spreadsheet shows as text. Numbers are never text here, so a negative amount stays a number.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def cell(value: Any) -> Any:
    """One value as the CSV writes it: dates ISO, decimals exact, text that could run as a formula neutralised."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, Decimal, int, float)):
        return str(value)
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


async def _encode(header: Sequence[str], rows: AsyncIterator[Sequence[Any]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # spreadsheet programs read UTF-8 reliably with a BOM
    writer.writerow(header)
    count = 0
    async for row in rows:
        writer.writerow([cell(v) for v in row])
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_export(request: Request, db: Database, export: Export) -> Stream:
    """Stream a list's export as a CSV download (admins and managers only: 403 for anyone else).

    The stream is sent after the handler returns and its request session is closed, so the rows
    are read through a read-only session of their own.
    """

    refuse_unless(request, Permission.DATA_EXPORT)

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async with db.session(write=False) as session:
            async for row in export.rows(session):
                yield row

    return Stream(
        _encode(export.header, rows()),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
