"""The sales-lines xlsx streams (the first bytes leave before a line is read), is a real workbook
(typed cells, bold frozen header, totals), and a period too large for a request becomes a background
export automatically."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from pos.reports import exports, xlsx
from tests.reports.conftest import D1, D

pytestmark = pytest.mark.django_db

BOTH_DAYS = {"period": "custom", "start": str(D), "end": str(D1)}
EXPORT = "/api/reports/sales-lines/export/"


def test_the_first_bytes_leave_before_any_line_is_read(api, bookkeeper, shop):
    response = api(bookkeeper).get(EXPORT, BOTH_DAYS)
    assert response.status_code == 200 and response.streaming
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(chunks)
    assert first.startswith(b"PK") and not [q for q in queries if "sales_saleitem" in q["sql"]]
    rest = b"".join(chunks)
    ws = load_workbook(io.BytesIO(first + rest)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert len(rows) == 8 and rows[-1][0] == "Total"
    assert rows[-1][header.index("Total")] == pytest.approx(695.59)
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    assert ws.cell(row=2, column=header.index("Date") + 1).is_date
    assert ws.cell(row=2, column=header.index("Total") + 1).number_format == "#,##0.00"


def test_a_period_too_large_for_a_request_becomes_a_background_export(api, bookkeeper, shop, settings, tmp_path,
                                                                       django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.EXPORT_INLINE_MAX_LINES = 4  # the two days hold 5 lines
    with django_capture_on_commit_callbacks(execute=True):
        response = api(bookkeeper).get(EXPORT, {**BOTH_DAYS, "format": "xlsx"})
    assert response.status_code == 202
    job = response.json()
    assert job["status_url"].endswith(f"/jobs/{job['id']}/")
    status = api(bookkeeper).get(job["status_url"]).json()
    assert status["status"] == "done" and status["rows"] == 6
    download = api(bookkeeper).get(status["download_url"])
    ws = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert ws.max_row == 8


def test_the_writer_types_every_cell(tmp_path):
    sheet = exports.Sheet("Odd: [title]/?", [
        exports.Column("Name", "name"), exports.Column("When", "when", "datetime"),
        exports.Column("Day", "day", "date"), exports.Column("Amount", "amount", "money"),
        exports.Column("Qty", "qty", "quantity")],
        [{"name": "=HYPERLINK(\"x\")", "when": datetime(2026, 3, 10, 23, 59), "day": date(2026, 3, 10),
          "amount": Decimal("12.50"), "qty": Decimal("1.250")},
         {"name": " <tag> & \x01 ", "when": None, "day": None, "amount": Decimal("-2.50"), "qty": None}])
    path = tmp_path / "out.xlsx"
    exports.write_xlsx([sheet], path)
    wb = load_workbook(path)
    ws = wb.active
    assert ws.title == "Odd   title   "  # characters a sheet name may not hold become spaces
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1] == ("'=HYPERLINK(\"x\")", datetime(2026, 3, 10, 23, 59), datetime(2026, 3, 10), 12.5, 1.25)
    assert rows[2][0] == " <tag> &  " and rows[2][3] == -2.5
    assert rows[3] == ("Total", None, None, 10.0, 1.25)
    assert ws["D4"].font.b and ws["D2"].number_format == "#,##0.00"


def test_memory_stays_flat_the_zip_is_written_chunk_by_chunk():
    rows = ({"n": n, "text": f"row {n}"} for n in range(3 * xlsx.ROWS_PER_CHUNK))
    sheet = exports.Sheet("Many", [exports.Column("N", "n", "integer"), exports.Column("Text", "text")], rows)
    chunks = list(exports.xlsx_chunks([sheet]))
    assert len([c for c in chunks if c]) >= 4  # header parts, then the rows in several pieces
    ws = load_workbook(io.BytesIO(b"".join(chunks))).active
    assert ws.max_row == 3 * xlsx.ROWS_PER_CHUNK + 2
