"""Tables as downloads: CSV (UTF-8 with the BOM spreadsheets expect) or xlsx (openpyxl write-only), answered as
an attachment that is never cached. For exports whose rows are already in memory (a region's IDM table);
the register's export streams its own rows (:func:`service.penduduk.impor.export_register`).

Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is kept as text: a leading
``'`` in CSV, a string cell in xlsx.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, send_file

MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}
FORMATS = tuple(MIME)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One table as CSV: comma separated, empty cells for ``None``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """``(sheet name, header, rows)`` each as a worksheet of a write-only workbook (constant memory per row).
    Pass numbers as numbers (``Decimal``/``int``/``float``) to get numeric cells; strings stay text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for name, header, rows in sheets:
        sheet = workbook.create_sheet(name[:31])  # Excel's limit on sheet names
        sheet.append(list(header))
        for row in rows:
            cells = []
            for value in row:
                if isinstance(value, str) and value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # text, never a formula
                    value = cell
                cells.append(value)
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def unduhan(content: bytes, fmt: str, name: str) -> Response:
    """``content`` as the attachment ``<name>.<fmt>``, ``Cache-Control: no-store``."""
    response = send_file(io.BytesIO(content), mimetype=MIME[fmt], as_attachment=True, download_name=f"{name}.{fmt}",
                         max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
