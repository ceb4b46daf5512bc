"""The daily rollups the reports read: equal to the lines after every sale and return (check_books proves
it), and giving the same figures as the lines for any period (days, whole months, whole years)."""

from datetime import date
from decimal import Decimal

import pytest

from pos.core.books import check_books
from pos.reports import queries, rollups
from pos.reports.models import SalesRollup
from pos.sales.services import return_items
from tests.reports.conftest import D1, D, pay_mpesa, sell

pytestmark = pytest.mark.django_db


def period(start, end):
    return queries.Period("custom", start, end)


def test_a_paid_sale_and_a_return_are_in_the_rollups_at_once(cashier, manager, products):
    from pos.payments.services import pay_cash
    from pos.sales.services import open_shift

    sugar, milk, _ = products
    open_shift(cashier, Decimal(0))
    sale = sell(cashier, [(sugar, "2", "0"), (milk, "1", "0")])
    assert not SalesRollup.objects.exists()  # waiting for payment: not counted yet
    pay_cash(sale, amount_tendered=Decimal(500), user=cashier)
    day = SalesRollup.objects.get(dim="d")
    assert (day.total, day.sales_count, day.lines, day.sold_quantity) == (Decimal("425.00"), 1, 2, Decimal("3.000"))
    assert rollups.mismatches() == []
    return_items(sale, [(sale.items.get(product=sugar).pk, Decimal(1))], manager)
    day.refresh_from_db()
    assert (day.returned_amount, day.returns_count) == (Decimal("180.00"), 1)
    year = SalesRollup.objects.get(dim="y", key_id=sugar.pk)
    assert year.returned_quantity == Decimal("1.000")
    assert year.last_day == queries.shop_today()  # the day of its last sale: a return leaves it
    assert [p for p in check_books() if p.startswith("rollups")] == []


def test_check_books_finds_a_rollup_that_differs_from_the_lines(shop):
    SalesRollup.objects.filter(dim="p", key_id=shop["products"][0].pk, day=D).update(total=Decimal("1.00"))
    problems = [p for p in check_books() if p.startswith("rollups")]
    assert len(problems) == 1 and problems[0].startswith(f"rollups: product {shop['products'][0].pk} of 2026-03-10")
    assert "total 1.0" in problems[0] and "total 518.82" in problems[0]
    rollups.rebuild(D, D)  # a day's repair: its whole year is recomputed (month and year rows)
    assert [p for p in check_books() if p.startswith("rollups")] == []


def test_check_books_finds_a_product_years_last_day_of_sales_that_differs_from_the_lines(shop):
    sugar = shop["products"][0]
    assert SalesRollup.objects.get(dim="y", key_id=sugar.pk).last_day == D  # sales A and B; the return is D+1
    SalesRollup.objects.filter(dim="y", key_id=sugar.pk).update(last_day=D1)
    problems = [p for p in check_books() if p.startswith("rollups")]
    assert len(problems) == 1 and "last_day 2026-03-11" in problems[0] and "last_day 2026-03-10" in problems[0]


@pytest.mark.parametrize("start,end", [
    (D, D1),                                  # days
    (date(2026, 3, 1), date(2026, 3, 31)),    # a whole month
    (date(2026, 1, 1), date(2026, 12, 31)),   # a whole year (up to today)
    (date(2025, 12, 20), date(2026, 3, 10)),  # days, a whole month, days
    (D1, D1),                                 # the day after: returns only, and sale C
])
def test_rollups_give_the_lines_figures_for_any_period(shop, start, end):
    p = period(start, end)
    for by in [("product",), ("category",), ("day", "cashier"), ()]:
        live = queries.grouped(p.since, p.until, by)
        if "day" in by:
            live = {(queries._local_date(k[0]), k[1]): v for k, v in live.items()}
        rolled = queries.rolled(p, by)
        assert set(rolled) == set(live), by
        for key, figures in live.items():
            for name in queries.ADDITIVE:
                assert Decimal(rolled[key][name]) == Decimal(figures[name]), (by, key, name)


@pytest.mark.parametrize("start,end", [(D, D1), (date(2026, 1, 1), date(2026, 12, 31))])
def test_a_cashiers_own_figures_come_from_the_rollups_too(shop, cashier, start, end):
    p = period(start, end)
    for by in [("product",), ("category",), ("day", "cashier")]:
        live = queries.grouped(p.since, p.until, by, cashier=cashier)
        if "day" in by:
            live = {(queries._local_date(k[0]), k[1]): v for k, v in live.items()}
        rolled = queries.rolled(p, by, cashier=cashier)
        assert {k: Decimal(v["total"]) for k, v in rolled.items()} == {k: Decimal(v["total"]) for k, v in live.items()}
        assert {k: v["sales_count"] for k, v in rolled.items()} == {k: v["sales_count"] for k, v in live.items()}


def test_a_year_of_products_reads_one_row_per_product_and_whole_year():
    today = date(2026, 11, 26)
    assert queries.product_spans(period(date(2026, 1, 1), today), today) == [("y", date(2026, 1, 1),
                                                                                date(2026, 1, 1))]
    assert queries.product_spans(period(date(2025, 11, 15), date(2026, 2, 3)), today) == [
        ("p", date(2025, 11, 15), date(2025, 11, 30)), ("m", date(2025, 12, 1), date(2025, 12, 1)),
        ("m", date(2026, 1, 1), date(2026, 1, 1)), ("p", date(2026, 2, 1), date(2026, 2, 3))]
    assert queries.product_spans(period(date(2026, 11, 1), today), today) == [("m", date(2026, 11, 1),
                                                                              date(2026, 11, 1))]


def test_the_page_of_products_is_ranked_and_counted_in_the_database(shop):
    report = queries.sales_report(period(D, D1), products=queries.Page(1))
    full = queries.sales_report(period(D, D1))
    assert report["product_count"] == full["product_count"] == 3
    assert report["by_product"] == full["by_product"][:1]
    second = queries.sales_report(period(D, D1), products=queries.Page(1, 1))
    assert second["by_product"] == full["by_product"][1:2]


def test_mpesa_paid_sale_is_rolled_up_when_the_callback_completes_it(cashier, products):
    from pos.sales.services import open_shift

    sugar, _, _ = products
    open_shift(cashier, Decimal(0))
    sale = sell(cashier, [(sugar, "1", "0")])
    pay_mpesa(sale, "180.00", "QKR0000009")
    assert SalesRollup.objects.get(dim="p", key_id=sugar.pk).total == Decimal("180.00")
    assert rollups.mismatches() == []


def test_a_till_checkout_adds_the_rows_the_lines_give(cashier, products):
    """The checkout sums its own lines (rollups.sale_rows): the same rows as the lines give, with a product
    sold on two lines, line and order discounts and a cash rounding line."""
    from pos.sales.paying import Tender, checkout
    from pos.sales.services import LineRequest, open_shift

    sugar, milk, soap = products
    open_shift(cashier, Decimal(0))
    items = [LineRequest(Decimal(1), product=sugar.pk, discount=Decimal("7.25")),
             LineRequest(Decimal(1), product=milk.pk), LineRequest(Decimal(2), product=sugar.pk),
             LineRequest(Decimal(1), product=soap.pk)]
    sale, _, (paid,) = checkout(cashier=cashier, items=items, tenders=[Tender("cash", amount_tendered=Decimal(1000))],
                                discount=Decimal("10.30"))
    assert sale.status == "paid" and paid.error is None and sale.rounding != 0
    assert rollups.mismatches() == []
    day = SalesRollup.objects.get(dim="d")
    assert (day.total + day.rounding, day.lines, day.sales_count) == (sale.total, 4, 1)
    assert (day.discounts, day.rounding) == (Decimal("17.55"), sale.rounding)
    sugar_year = SalesRollup.objects.get(dim="y", key_id=sugar.pk)
    assert (sugar_year.sold_quantity, sugar_year.lines, sugar_year.sales_count) == (Decimal("3.000"), 2, 1)
    assert sugar_year.last_day == queries.shop_today()
    assert SalesRollup.objects.get(dim="c", key_id=soap.category_id).gross == Decimal("100.00")
