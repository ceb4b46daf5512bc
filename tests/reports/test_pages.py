"""Long per-product lists come in pages (JSON and admin pages); the xlsx and csv files hold every row.
Figures of the shop in conftest.py: net sales Sugar 349.41, Milk 256.18, Soap 90.00; gross margin
Milk 56.18, Soap 17.59, Sugar 1.22; stock at cost Sugar 8 x 150, Soap 8 x 60, Milk 6 x 50."""

from datetime import timedelta
from decimal import Decimal as Dec

import pytest

from pos.inventory.services import adjust_stock
from pos.reports.queries import (
    STREAM,
    Page,
    Period,
    inventory_report,
    profit_report,
    resolve_period,
    sales_report,
    stock_on_hand,
)
from tests.factories import CategoryFactory, ProductFactory
from tests.reports.conftest import D1, D, login
from tests.reports.test_api import workbook

pytestmark = pytest.mark.django_db

BOTH_DAYS = Period("custom", D, D1)
QUERY = {"period": "custom", "start": str(D), "end": str(D1)}


def names(rows):
    return [r["name"] for r in rows]


def test_a_page_of_products_is_a_slice_of_the_whole_ranking(shop):
    whole = sales_report(BOTH_DAYS)
    assert names(whole["by_product"]) == ["Sugar", "Milk", "Soap"] and whole["product_count"] == 3
    page = sales_report(BOTH_DAYS, products=Page(limit=1, offset=1))
    assert page["by_product"] == whole["by_product"][1:2] and page["product_count"] == 3
    assert page["totals"] == whole["totals"] and page["by_category"] == whole["by_category"]
    profit = profit_report(BOTH_DAYS, products=Page(limit=2))
    assert names(profit["by_product"]) == ["Milk", "Soap"] and profit["product_count"] == 3
    assert profit["totals"]["gross_margin"] == Dec("75.40")


def test_profit_categories_add_up_their_products(shop):
    report = profit_report(BOTH_DAYS)
    categories = {r["category"]: r for r in report["by_category"]}
    assert (categories["Groceries"]["revenue"], categories["Groceries"]["gross_margin"]) == (Dec("301.22"),
                                                                                            Dec("1.22"))
    assert categories["Household"]["margin_percent"] == Dec("22.67")
    assert [r["category"] for r in report["by_category"]] == ["Dairy", "Household", "Groceries", "Cash rounding"]


@pytest.fixture
def salt(manager):
    salt = ProductFactory(name="Salt", cost_price=Dec("10.00"))
    adjust_stock(salt, Dec(4), user=manager, reason="opening")
    return salt


def test_slow_movers_most_money_tied_up_first_with_the_count_and_value_of_all(shop, salt):
    month_later = Period("custom", D1 + timedelta(days=30), D1 + timedelta(days=30))
    report = inventory_report(month_later, slow_days=30)
    assert [(r["name"], r["value_at_cost"]) for r in report["slow_movers"]] == [
        ("Sugar", Dec("1200.00")), ("Soap", Dec("480.00")), ("Salt", Dec("40.00"))]
    assert report["slow_movers"][0]["last_sold_on"] is not None and report["slow_movers"][2]["last_sold_on"] is None
    assert (report["slow_movers_count"], report["slow_movers_value"]) == (3, Dec("1720.00"))
    page = inventory_report(month_later, slow_days=30, products=Page(limit=1, offset=1))
    assert names(page["slow_movers"]) == ["Soap"] and page["slow_movers_count"] == 3


def test_every_stock_row_is_in_the_order_of_the_pages_and_the_file(db):
    # Text by code points, as Python compares it (upper case before lower case, accented letters after z).
    for category, name in [("dairy", "eggs"), ("Dairy", "Milk"), ("Dairy", "milk"), ("Dairy", "Éclair"),
                           ("Dairy", "Zebra cake"), ("Épicerie", "Sel"), ("Bakery", "bread"), ("Bakery", "Bread")]:
        ProductFactory(name=name, category=CategoryFactory(name=category))
    whole = stock_on_hand()
    assert [(r["category"], r["name"]) for r in whole] == [
        ("Bakery", "Bread"), ("Bakery", "bread"), ("Dairy", "Milk"), ("Dairy", "Zebra cake"), ("Dairy", "milk"),
        ("Dairy", "Éclair"), ("dairy", "eggs"), ("Épicerie", "Sel")]
    assert [stock_on_hand(Page(limit=3, offset=n)) for n in (0, 3, 6)] == [whole[:3], whole[3:6], whole[6:]]
    assert list(stock_on_hand(STREAM)) == whole
    # The report's every-row list (read a category at a time on PostgreSQL) and its categories, summed
    # from those rows, are the pages' rows and the categories a page is given, in the same order.
    report, page = inventory_report(resolve_period("today")), inventory_report(resolve_period("today"), products=Page(limit=1))
    assert report["by_product"] == whole
    assert [r["category"] for r in report["by_category"]] == ["Bakery", "Dairy", "dairy", "Épicerie"]
    assert (report["by_category"], report["totals"]) == (page["by_category"], page["totals"])
    assert [r["products"] for r in report["by_category"]] == [2, 4, 1, 1] and report["totals"]["products"] == 8


def test_stock_on_hand_pages_by_category_and_name_with_totals_of_every_product(shop, manager):
    adjust_stock(shop["products"][0], Dec(-3), user=manager, reason="spoilt")  # Sugar 5 = its reorder level
    whole = inventory_report(resolve_period("today"))
    assert names(whole["by_product"]) == ["Milk", "Sugar", "Soap"]  # Dairy, Groceries, Household
    page = inventory_report(resolve_period("today"), products=Page(limit=1, offset=1))
    assert names(page["by_product"]) == ["Sugar"] and page["product_count"] == 3
    assert page["totals"] == whole["totals"] and page["totals"]["value_at_cost"] == Dec("1530.00")
    assert (names(page["low_stock"]), page["low_stock_count"]) == ([], 1)
    assert names(inventory_report(resolve_period("today"), products=Page(limit=1))["low_stock"]) == ["Sugar"]


def test_the_api_answers_the_asked_rows_and_the_xlsx_every_row(api, manager, shop):
    body = api(manager).get("/api/reports/sales/", {**QUERY, "limit": 1, "offset": 1}).json()
    assert names(body["by_product"]) == ["Milk"] and body["product_count"] == 3
    assert body["totals"]["net_sales"] == "696.00"
    assert len(api(manager).get("/api/reports/sales/", QUERY).json()["by_product"]) == 3  # default: 100 rows
    profit = api(manager).get("/api/reports/profit/", {**QUERY, "limit": 1}).json()
    assert names(profit["by_product"]) == ["Milk"] and profit["product_count"] == 3
    sheet = workbook(api(manager).get("/api/reports/sales/", {**QUERY, "limit": 1, "format": "xlsx"}))["By product"]
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["Sugar", "Milk", "Soap", None]


@pytest.mark.parametrize("params, field", [
    ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": "-1"}, "offset"),
])
def test_bad_limit_or_offset_is_400(api, manager, params, field):
    for url in ("/api/reports/sales/", "/api/reports/profit/", "/api/reports/inventory/"):
        response = api(manager).get(url, params)
        assert response.status_code == 400 and field in response.json(), url


def test_the_admin_page_says_which_rows_it_shows(client, manager, shop):
    login(client, manager)
    html = client.get("/admin/reports/sales/", {**QUERY, "limit": 2}).content.decode()
    assert "By product (1-2 of 3; the downloads hold all)" in html and "Soap" not in html.split("By category")[0]
    inventory = client.get("/admin/reports/inventory/", {"limit": 1}).content.decode()
    assert "Stock on hand (1-1 of 3; the downloads hold all)" in inventory
