"""The cash rounding lines (README "Cash rounding") are in the sales report, the profit report and the
daily rollups: the report's net sales are the money received less the money paid back, to the cent, and a
shift's sales equal its Z report.

Today, one cashier, one shift (CASH_ROUNDING_STEP 1, nearest):
  S1  1 Bread 57.60            -> 58.00  (rounding +0.40)  cash 100
  S2  2 Bread 115.20           -> 115.00 (rounding -0.20)  M-Pesa 115
  S3  3 Eggs 69.90             -> 70.00  (rounding +0.10)  cash 70
  R   1 Egg of S3: line 23.30  -> refund 23.00 (rounding -0.30), paid back in cash
"""

from datetime import timedelta
from decimal import Decimal as Dec

import pytest

from pos.core.books import check_books
from pos.inventory.services import adjust_stock
from pos.payments.models import Payment
from pos.payments.services import pay_cash
from pos.payments.services.refunds import request_refund
from pos.reports import queries
from pos.reports.models import SalesRollup
from pos.sales.services import open_shift, return_items, shift_report
from tests.factories import CategoryFactory, ProductFactory
from tests.reports.conftest import pay_mpesa, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def rounded_day(cashier, manager):
    bread = ProductFactory(name="Bread", price=Dec("57.60"), cost_price=Dec("40.00"),
                           category=CategoryFactory(name="Bakery"))
    eggs = ProductFactory(name="Eggs", price=Dec("23.30"), cost_price=Dec("18.00"), tax_rate=Dec(0),
                          category=CategoryFactory(name="Dairy"))
    for product in (bread, eggs):
        adjust_stock(product, Dec(20), user=manager, reason="opening stock")
    shift = open_shift(cashier, Dec(1000))
    s1 = sell(cashier, [(bread, "1", "0")])
    pay_cash(s1, amount_tendered=Dec(100), user=cashier)
    s2 = sell(cashier, [(bread, "2", "0")])
    pay_mpesa(s2, "115.00", "QKR0000101")
    s3 = sell(cashier, [(eggs, "3", "0")])
    pay_cash(s3, amount_tendered=Dec(70), user=cashier)
    assert [(s.total, s.rounding) for s in (s1, s2, s3)] == [(Dec("58.00"), Dec("0.40")), (Dec("115.00"), Dec("-0.20")),
                                                            (Dec("70.00"), Dec("0.10"))]
    back = return_items(s3, [(s3.items.get().pk, Dec(1))], manager, reason="cracked")
    assert (back.amount, back.rounding) == (Dec("23.00"), Dec("-0.30"))
    request_refund(Payment.objects.get(sale=s3), Dec("23.00"), "cracked egg", manager, sale_return=back)
    return shift


def _money_in_and_out(report):
    return (sum(r["amount"] for r in report["by_payment_method"]),
            sum(r["refunds"] for r in report["by_payment_method"]))


@pytest.mark.parametrize("days", [0, 1], ids=["today by hour (lines)", "two days (rollups)"])
def test_net_sales_are_the_payments_received_less_the_refunds_to_the_cent(rounded_day, days):
    today = queries.shop_today()
    report = queries.sales_report(queries.Period("custom", today - timedelta(days=days), today))
    totals = report["totals"]
    received, paid_back = _money_in_and_out(report)
    assert (received, paid_back) == (Dec("243.00"), Dec("23.00"))
    assert totals["net_sales"] == received - paid_back == Dec("220.00")
    assert (totals["rounding"], totals["sales_total"], totals["refunds"]) == (Dec("0.30"), Dec("243.00"), Dec("23.00"))
    assert totals["gross_sales"] - totals["discounts"] + totals["rounding"] == totals["sales_total"]
    rounding_row = report["by_category"][-1]
    assert (rounding_row["category"], rounding_row["net_sales"]) == ("Cash rounding", Dec("0.60"))
    assert sum(r["net_sales"] for r in report["by_category"]) == totals["net_sales"]
    assert sum(r["net_sales"] for r in report["by_day"]) == totals["net_sales"]
    profit = queries.profit_report(queries.Period("custom", today - timedelta(days=days), today))["totals"]
    assert profit["rounding"] == Dec("0.60") and profit["revenue"] == totals["net_sales_ex_vat"]


def test_a_shift_s_sales_in_the_report_equal_its_z_report(rounded_day, cashier):
    today = queries.shop_today()
    totals = queries.sales_report(queries.Period("custom", today, today), cashier=cashier)["totals"]
    z = shift_report(rounded_day)
    assert (totals["sales_total"], totals["refunds"], totals["net_sales"], totals["vat"], totals["sales_count"]) == (
        z.sales_total, z.returns_total, z.net_sales, z.net_tax, z.sales_count)
    assert totals["rounding"] == z.rounding_total == Dec("0.30")


def test_the_rollups_hold_the_rounding_lines_and_check_books_proves_it(rounded_day):
    day = SalesRollup.objects.get(dim="d")
    assert (day.total, day.rounding, day.returned_amount, day.returned_rounding) == (
        Dec("242.70"), Dec("0.30"), Dec("23.30"), Dec("-0.30"))
    assert not SalesRollup.objects.exclude(dim="d").exclude(rounding=0, returned_rounding=0).exists()
    assert check_books() == []
    SalesRollup.objects.filter(pk=day.pk).update(rounding=Dec("0.00"))
    problems = check_books()
    assert len(problems) == 1 and problems[0].startswith("rollups: day 0 of")
    assert "rounding 0.3" in problems[0].split("the lines give")[1]  # 0.3 on SQLite, 0.30 on PostgreSQL
