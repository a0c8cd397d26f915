"""CSV exports streamed row by row, so a 50 000-row list never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from litestar.response import Stream

from laseros.db import Database
from laseros.domain.kernel.paging import Export


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not value[1:2].isdigit():
        return "'" + value  # keep spreadsheets from running a cell as a formula
    return value


async def _encode(header: Sequence[str], rows: AsyncIterator[Sequence[Any]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # spreadsheet programs read UTF-8 reliably with a BOM
    writer.writerow(header)
    count = 0
    async for row in rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_export(db: Database, export: Export) -> Stream:
    """Stream a list's export as a CSV download.

    The stream is sent after the handler returns and its request session is closed, so the rows
    are read through a read-only session of their own.
    """

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async with db.session(write=False) as session:
            async for row in export.rows(session):
                yield row

    return Stream(
        _encode(export.header, rows()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
