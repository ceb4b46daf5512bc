"""The reports API: periods and their errors, role limits, money as strings, xlsx/csv files."""

import csv
import io
from datetime import datetime
from decimal import Decimal as Dec

import pytest
from openpyxl import load_workbook

from tests.reports.conftest import D1, D

pytestmark = pytest.mark.django_db

BOTH_DAYS = {"period": "custom", "start": str(D), "end": str(D1)}


def workbook(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return load_workbook(io.BytesIO(content))


def test_sales_report_gives_money_as_decimal_strings(api, manager, shop):
    response = api(manager).get("/api/reports/sales/", BOTH_DAYS)
    assert response.status_code == 200
    totals = response.json()["totals"]
    assert totals["net_sales"] == "696.00" and totals["vat"] == "60.60" and totals["sales_count"] == 3
    assert response.json()["period"] == {"name": "custom", "start": "2026-03-10", "end": "2026-03-11",
                                         "time_zone": "Africa/Nairobi"}


@pytest.mark.parametrize("params, field, words", [
    ({"period": "fortnight"}, "period", "Unknown period"),
    ({"period": "custom", "end": "2026-03-10"}, "start", "Required"),
    ({"period": "custom", "start": "2026-02-30", "end": "2026-03-10"}, "start", "not a date"),
    ({"period": "custom", "start": "2026-03-11", "end": "2026-03-10"}, "start", "on or before"),
    ({"period": "custom", "start": "2025-01-01", "end": "2026-01-02"}, "start", "at most 366 days"),
])
def test_bad_periods_are_400_with_the_field_at_fault(api, manager, params, field, words):
    for url in ("/api/reports/sales/", "/api/reports/profit/", "/api/reports/inventory/",
                "/api/reports/sales-lines/export/"):
        response = api(manager).get(url, {**params, "format": "xlsx"})
        assert response.status_code == 400, url
        assert words in response.json()[field][0]


def test_a_full_leap_year_is_accepted(api, manager):
    assert api(manager).get("/api/reports/sales/", {"period": "custom", "start": "2028-01-01",
                                                    "end": "2028-12-31"}).status_code == 200


def test_bad_slow_mover_days_is_400(api, manager):
    response = api(manager).get("/api/reports/inventory/", {"days": "ten"})
    assert response.status_code == 400 and "days" in response.json()


@pytest.mark.parametrize("url", ["/api/reports/profit/", "/api/reports/inventory/", "/api/reports/dashboard/",
                                 "/api/reports/sales-lines/export/", "/api/reports/sales-lines/export/jobs/"])
def test_cashiers_are_refused_profit_stock_value_dashboard_and_ledger(api, cashier, bookkeeper, url):
    assert api(cashier).get(url).status_code == 403
    assert api(None).get(url).status_code == 401


@pytest.mark.parametrize("url", ["/api/reports/sales/", "/api/reports/profit/?period=month",
                                 "/api/reports/inventory/", "/api/reports/dashboard/"])
def test_bookkeepers_and_managers_see_every_report(api, bookkeeper, manager, admin_user, url):
    for user in (bookkeeper, manager, admin_user):
        assert api(user).get(url).status_code == 200


def test_a_cashier_sees_the_sales_report_of_their_own_sales_only(api, other_cashier, shop):
    body = api(other_cashier).get("/api/reports/sales/", BOTH_DAYS).json()
    assert body["cashier"] == "cashier2"
    assert body["totals"]["sales_total"] == "195.00" and [r["cashier"] for r in body["by_cashier"]] == ["cashier2"]


def test_sales_xlsx_holds_the_same_numbers_as_real_number_cells(api, manager, shop):
    response = api(manager).get("/api/reports/sales/", {**BOTH_DAYS, "format": "xlsx"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    wb = workbook(response)
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Net sales (VAT incl.)"] == pytest.approx(696.00)
    assert summary["Number of sales"] == 3 and isinstance(summary["VAT"], float)
    days = wb["By day"]
    assert days.freeze_panes == "A2"
    header = [c.value for c in days[1]]
    assert days[1][0].font.b
    rows = list(days.iter_rows(min_row=2))
    assert isinstance(rows[0][0].value, datetime) and rows[0][0].number_format == "yyyy-mm-dd"
    net = header.index("Net sales")
    assert rows[0][net].number_format == "#,##0.00" and rows[0][net].data_type == "n"
    assert [r[net].value for r in rows] == [pytest.approx(670.0), pytest.approx(26.0), pytest.approx(696.0)]
    assert rows[-1][0].value == "Total"
    assert days.column_dimensions["A"].width == 12
    products = wb["By product"]
    total_row = list(products.iter_rows(values_only=True))[-1]
    assert total_row[0] == "Total" and total_row[[c.value for c in products[1]].index("Gross sales")] == 900
    methods = {r[0]: r[2] for r in wb["By payment method"].iter_rows(min_row=2, values_only=True)}
    assert methods == {"Cash": 695, "M-Pesa": 170, "Total": 865}


def test_sales_csv_has_every_section(api, manager, shop):
    response = api(manager).get("/api/reports/sales/", {**BOTH_DAYS, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming  # the figures are computed, then the rows go out as they are written
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert ["By day"] in rows and ["By payment method"] in rows
    assert ["Net sales (VAT incl.)", "696.00"] in rows


@pytest.mark.parametrize("url, sheet, label, value", [
    ("/api/reports/profit/", "Summary", "Gross margin", 75.40),
    ("/api/reports/inventory/", "Summary", "Stock value at cost", 1980.0),
])
def test_profit_and_inventory_xlsx(api, bookkeeper, shop, url, sheet, label, value):
    response = api(bookkeeper).get(url, {**BOTH_DAYS, "format": "xlsx"})
    summary = {r[0]: r[1] for r in workbook(response)[sheet].iter_rows(min_row=2, values_only=True)}
    assert summary[label] == pytest.approx(value)


def test_dashboard_xlsx_and_json(api, manager):
    assert api(manager).get("/api/reports/dashboard/", {"format": "xlsx"}).status_code == 200
    assert "today" in api(manager).get("/api/reports/dashboard/").json()


def test_sales_lines_csv_streams_every_line_and_adds_up_to_net_sales(api, bookkeeper, shop):
    response = api(bookkeeper).get("/api/reports/sales-lines/export/", {**BOTH_DAYS, "format": "csv"})
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    lines, total = rows[:-1], rows[-1]
    assert [r["Type"] for r in lines] == ["sale"] * 5 + ["return"]
    assert sum(Dec(r["Total"]) for r in lines) == Dec("695.59") == Dec(total["Total"])
    assert sum(Dec(r["VAT"]) for r in lines) == Dec("60.60")
    assert [r["Date"] for r in lines[:5]] == ["2026-03-10"] * 4 + ["2026-03-11"]
    assert lines[2]["Time"] == "2026-03-10 23:59:00"
    assert lines[-1]["Quantity"] == "-1.000" and lines[-1]["Total"] == "-169.41"


def test_sales_lines_xlsx_is_a_file_with_totals(api, manager, shop):
    response = api(manager).get("/api/reports/sales-lines/export/", BOTH_DAYS)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    ws = workbook(response).active
    rows = list(ws.iter_rows(values_only=True))
    header, total = rows[0], rows[-1]
    assert len(rows) == 8 and total[0] == "Total"
    assert total[header.index("Total")] == pytest.approx(695.59)
    assert total[header.index("Cost")] == pytest.approx(560.0)
    assert isinstance(rows[1][header.index("Quantity")], (int, float))


def test_background_export_leaves_the_file_for_download(api, bookkeeper, shop, settings, tmp_path,
                                                        django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(bookkeeper).post("/api/reports/sales-lines/export/jobs/",
                                        {**BOTH_DAYS, "format": "csv"}, format="json")
    assert response.status_code == 202
    status = api(bookkeeper).get(response.json()["status_url"]).json()
    assert status["status"] == "done" and status["rows"] == 6
    assert list((tmp_path / "exports").iterdir())
    download = api(bookkeeper).get(status["download_url"])
    assert download.status_code == 200
    assert b"-169.41" in b"".join(download.streaming_content)


def test_background_export_refuses_a_bad_period(api, bookkeeper):
    response = api(bookkeeper).post("/api/reports/sales-lines/export/jobs/", {"period": "custom"}, format="json")
    assert response.status_code == 400 and "start" in response.json()


def test_the_schema_documents_the_report_endpoints(api, manager):
    schema = api(manager).get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/reports/sales/", "/api/reports/profit/", "/api/reports/inventory/",
                 "/api/reports/dashboard/", "/api/reports/sales-lines/export/"):
        assert path in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/reports/sales/"]["get"]["parameters"]}
    assert {"period", "start", "end", "format"} <= params
