"""Report PDFs (sales, profit, inventory) carry the page's figures; cashiers appear by their full names in
the reports and the Z PDF; the bookkeeper's sales-lines export is linked from the admin."""

import io
import subprocess
from decimal import Decimal

import pytest

from pos.accounts.models import Role
from pos.inventory.services import adjust_stock
from pos.payments.services import pay_cash
from pos.sales.services import LineRequest, create_sale, open_shift
from tests.conftest import client_for
from tests.factories import ProductFactory, UserFactory


def pdf_text(content):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def sold(manager):
    wanjiku = UserFactory(role=Role.CASHIER, username="wanjiku", first_name="Wanjiku", last_name="Kamau")
    sugar = ProductFactory(name="Mumias Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    adjust_stock(sugar, Decimal(10), user=manager, reason="opening")
    shift = open_shift(wanjiku, opening_float=Decimal("1000.00"))
    sale, _ = create_sale(cashier=wanjiku, items=[LineRequest(Decimal(2), product=sugar.pk)])
    pay_cash(sale, amount_tendered=Decimal("400.00"), user=wanjiku)
    return {"cashier": wanjiku, "shift": shift, "sugar": sugar}


@pytest.mark.django_db
@pytest.mark.parametrize("page, heading", [("sales", "Sales report"), ("profit", "Profit and loss"),
                                           ("inventory", "Inventory report")])
def test_each_report_downloads_as_a_pdf_with_its_figures(page, heading, sold, manager):
    client = client_for(manager)
    html = client.get(f"/admin/reports/{page}/", {"period": "today"}).content.decode()
    assert f"/admin/reports/{page}/?period=today&amp;pdf=1" in html  # the PDF button
    answer = client.get(f"/admin/reports/{page}/", {"period": "today", "pdf": "1"})
    assert answer["Content-Type"] == "application/pdf" and answer.content.startswith(b"%PDF")
    text = pdf_text(answer.content)
    assert heading in text and "Mumias Sugar 1kg" in text
    if page == "sales":
        assert "360.00" in text and "Wanjiku Kamau" in text  # net sales and the cashier by name


@pytest.mark.django_db
def test_cashiers_full_names_in_reports_and_the_z_pdf(sold, manager):
    from pos.reports.queries import open_shifts, resolve_period, sales_report

    report = sales_report(resolve_period("today"))
    assert [row["cashier"] for row in report["by_cashier"]] == ["Wanjiku Kamau"]
    assert [row["cashier"] for row in open_shifts()] == ["Wanjiku Kamau"]
    answer = client_for(manager).get(f"/admin/reports/shift/{sold['shift'].pk}/pdf/")
    assert "Cashier: Wanjiku Kamau" in pdf_text(answer.content)


@pytest.mark.django_db
def test_the_sales_lines_export_is_linked_and_names_the_cashier(sold, bookkeeper):
    from openpyxl import load_workbook

    client = client_for(bookkeeper)
    page = client.get("/admin/reports/sales/", {"period": "today"}).content.decode()
    assert "/api/reports/sales-lines/export/?period=today" in page
    sidebar = client.get("/admin/").content.decode()
    assert "/api/reports/sales-lines/export/" in sidebar
    answer = client.get("/api/reports/sales-lines/export/", {"period": "today"})
    rows = list(load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active.values)
    assert any("Wanjiku Kamau" in row for row in rows[1:])
