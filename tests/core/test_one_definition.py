"""One definition of each shared business notion, used everywhere (DESIGN.md, "One way to do each thing"):
the sale statuses that count as sold, low stock, the default VAT rate."""

import ast
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from import_export.formats.base_formats import CSV

from pos.catalog.admin import stock_state
from pos.catalog.models import Product
from pos.catalog.resources import ProductResource
from pos.inventory.models import AlertStatus, StockAlert
from pos.inventory.services import adjust_stock, scan_low_stock
from pos.reports import queries
from pos.sales.models import SOLD_STATUSES, SaleStatus
from tests.conftest import api_client_for, client_for
from tests.factories import CategoryFactory, ProductFactory

ROOT = Path(__file__).resolve().parents[2]


def _sources():
    for path in sorted(ROOT.glob("pos/**/*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text())


def _element_name(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def test_sold_statuses_are_paid_and_whatever_came_back_after():
    assert set(SOLD_STATUSES) == {SaleStatus.PAID, SaleStatus.PARTIALLY_RETURNED, SaleStatus.RETURNED}


def test_no_module_keeps_its_own_list_of_the_statuses_that_count_as_sold():
    copies = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                names = {_element_name(e) for e in node.elts}
                if {"paid", "partially_returned", "returned"} <= {str(n).lower() for n in names if n}:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert copies == ["pos/sales/models.py:" + str(_definition_line())]


def _definition_line():
    tree = ast.parse((ROOT / "pos/sales/models.py").read_text())
    return next(node.value.lineno for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SOLD_STATUSES")


@pytest.mark.django_db
def test_low_stock_is_the_same_products_on_every_surface(manager):
    """Active and at or below the reorder level (out of stock included): the API filter and list, the alerts,
    the stock report and the admin's stock state agree. A deactivated product is never low."""
    level = Decimal(5)
    products = {name: ProductFactory(name=name, reorder_level=level)
                for name in ("Below", "Out", "At", "Plenty", "Deactivated")}
    for name, quantity in {"Below": 3, "At": 5, "Plenty": 20, "Deactivated": 2}.items():
        adjust_stock(products[name], Decimal(quantity), user=manager, reason="opening")
    Product.objects.filter(name="Deactivated").update(is_active=False)
    scan_low_stock()
    low = {"Below", "Out", "At"}

    assert set(Product.objects.low_stock().values_list("name", flat=True)) == low
    assert {p.name for p in Product.objects.all() if p.low_on_stock} == low
    client = api_client_for(manager)
    assert {p["name"] for p in client.get("/api/products/", {"low_stock": "true"}).json()["results"]} == low
    assert {p["name"] for p in client.get("/api/products/", {"low_stock": "false"}).json()["results"]} == {
        "Plenty", "Deactivated"}
    assert {p["name"] for p in client.get("/api/products/low_stock/").json()["results"]} == low
    assert {r["name"] for r in queries.low_stock()[0]} == low
    assert set(StockAlert.objects.filter(status=AlertStatus.ACTIVE).values_list("product__name", flat=True)) == low
    assert {p.name: stock_state(p) for p in Product.objects.all()} == {
        "Below": "Low", "Out": "Out", "At": "Low", "Plenty": "OK", "Deactivated": "OK"}
    admin_client = client_for(manager)
    page = admin_client.get(reverse("admin:catalog_product_changelist"), {"stock": "low"})
    assert {p.name for p in page.context["cl"].result_list} == {"Below", "At"}


@pytest.fixture
def vat_8(settings):
    """A shop whose standard VAT rate is 8 % (DEFAULT_TAX_RATE), as Kenya's rate on fuel is."""
    settings.DEFAULT_TAX_RATE = Decimal("8.00")
    return settings


@pytest.mark.django_db
def test_a_product_given_no_vat_rate_gets_the_shops_default_rate_everywhere(vat_8, manager):
    category = CategoryFactory(name="Fuel")
    assert Product(name="Unsaved").tax_rate == Decimal("8.00")

    client = api_client_for(manager)
    answer = client.post("/api/products/", {"name": "Paraffin 1L", "sku": "FUEL-1", "category": category.pk,
                                            "price": "180.00"}, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["tax_rate"] == "8.00" and Product.objects.get(sku="FUEL-1").tax_rate == Decimal("8.00")

    form = client_for(manager).get(reverse("admin:catalog_product_add")).context["adminform"].form
    assert form["tax_rate"].value() == Decimal("8.00")

    dataset = CSV().create_dataset("sku,name,category,price,tax_rate\nFUEL-2,Diesel 1L,Fuel,190.00,\n")
    result = ProductResource().import_data(dataset, dry_run=False, user=manager)
    assert not result.has_errors() and not result.has_validation_errors()
    assert Product.objects.get(sku="FUEL-2").tax_rate == Decimal("8.00")


@pytest.mark.django_db
def test_the_demo_shop_takes_its_standard_rate_from_the_setting(vat_8):
    call_command("load_demo", stdout=StringIO())
    rates = dict(Product.objects.values_list("sku", "tax_rate"))
    assert set(rates.values()) == {Decimal("0.00"), Decimal("8.00")}
    assert rates["BEV-001"] == Decimal("8.00")  # Coca-Cola 500ml: standard rate
    assert Product.objects.get(name="Tomatoes").tax_rate == 0  # exempt produce stays exempt
