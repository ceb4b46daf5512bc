"""Inventory report against hand-computed stock (see conftest.py): after the shop's sales,
Sugar 10 - 2 - 1 - 1 + 1 (cancel) + 1 (return) = 8, Milk 10 - 1 - 3 = 6, Soap 10 - 1 - 1 (unpaid) = 8."""

from datetime import date, timedelta
from decimal import Decimal as Dec

import pytest

from pos.inventory.services import adjust_stock
from pos.payments.services import pay_cash
from pos.reports import rollups
from pos.reports.queries import Period, inventory_report, resolve_period
from tests.factories import ProductFactory
from tests.reports.conftest import D1, at, dated, sell

pytestmark = pytest.mark.django_db


def test_stock_value_at_cost_and_retail_per_product_and_category(shop):
    report = inventory_report(resolve_period("today"))
    products = {r["name"]: r for r in report["by_product"]}
    assert (products["Sugar"]["stock_quantity"], products["Sugar"]["value_at_cost"],
            products["Sugar"]["value_at_retail"]) == (Dec("8.000"), Dec("1200.00"), Dec("1440.00"))
    assert (products["Milk"]["value_at_cost"], products["Milk"]["value_at_retail"]) == (Dec("300.00"), Dec("390.00"))
    assert report["totals"] == {"quantity": Dec("22.000"), "value_at_cost": Dec("1980.00"),
                                "value_at_retail": Dec("2630.00"), "products": 3}
    categories = {r["category"]: r for r in report["by_category"]}
    assert categories["Household"]["value_at_retail"] == Dec("800.00")
    for figure in ("quantity", "value_at_cost", "value_at_retail"):
        assert sum(r[figure] for r in report["by_category"]) == report["totals"][figure]
        assert sum(r["stock_quantity" if figure == "quantity" else figure] for r in report["by_product"]) == \
            report["totals"][figure]


def test_weighed_goods_are_valued_to_the_cent(manager):
    rice = ProductFactory(name="Rice", unit="kg", price=Dec("139.99"), cost_price=Dec("101.10"))
    adjust_stock(rice, Dec("2.750"), user=manager, reason="delivery")
    row = inventory_report(resolve_period("today"))["by_product"][0]
    assert (row["value_at_cost"], row["value_at_retail"]) == (Dec("278.03"), Dec("384.97"))  # 278.025 / 384.9725


def test_low_stock_lists_products_at_or_below_their_reorder_level(shop, manager):
    sugar = shop["products"][0]
    adjust_stock(sugar, Dec(-3), user=manager, reason="spoilt")  # 8 - 3 = 5 = reorder level
    low = inventory_report(resolve_period("today"))["low_stock"]
    assert [(r["name"], r["stock_quantity"], r["category"]) for r in low] == [("Sugar", Dec("5.000"), "Groceries")]


def test_slow_movers_have_had_no_sale_in_n_days(shop, manager):
    salt = ProductFactory(name="Salt")
    adjust_stock(salt, Dec(4), user=manager, reason="opening")
    month_later = Period("custom", D1 + timedelta(days=30), D1 + timedelta(days=30))
    slow = {r["name"]: r for r in inventory_report(month_later, slow_days=30)["slow_movers"]}
    # Sugar and Soap last sold on D at 23:59, Milk on D+1 at 00:01: the cut-off is D+1 00:00.
    assert set(slow) == {"Salt", "Sugar", "Soap"}
    assert slow["Salt"]["last_sold_on"] is None and slow["Sugar"]["value_at_cost"] == Dec("1200.00")
    assert {r["name"] for r in inventory_report(month_later, slow_days=31)["slow_movers"]} == {"Salt"}


def test_a_slow_mover_last_sold_in_an_earlier_year_shows_that_day(shop, cashier, manager):
    salt = ProductFactory(name="Salt", price=Dec("30.00"))
    adjust_stock(salt, Dec(4), user=manager, reason="opening")
    sale = sell(cashier, [(salt, "1", "0")])
    pay_cash(sale, amount_tendered=Dec(30), user=cashier)
    dated(sale, at(date(2025, 12, 30), 12))
    rollups.rebuild()  # back-dated behind the services' back
    month_later = Period("custom", D1 + timedelta(days=30), D1 + timedelta(days=30))
    slow = {r["name"]: r["last_sold_on"] for r in inventory_report(month_later, slow_days=30)["slow_movers"]}
    assert slow == {"Salt": date(2025, 12, 30), "Sugar": date(2026, 3, 10), "Soap": date(2026, 3, 10)}


def test_movement_summary_by_kind(shop):
    moves = {r["kind"]: r for r in inventory_report(resolve_period("today"))["movements"]}
    assert (moves["adjustment"]["movements"], moves["adjustment"]["quantity_in"]) == (3, Dec("30.000"))
    sale = moves["sale"]
    assert (sale["movements"], sale["quantity_out"], sale["net_quantity"]) == (7, Dec("-10.000"), Dec("-10.000"))
    assert sale["value_at_cost"] == Dec("-920.00")  # Sugar 4 x 150 + Milk 4 x 50 + Soap 2 x 60
    assert moves["cancel"]["quantity_in"] == Dec("1.000") and moves["return"]["quantity_in"] == Dec("1.000")
    assert moves["return"]["label"] == "Customer return"
