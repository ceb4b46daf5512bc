"""Every figure of the sales and profit reports against values computed by hand (see conftest.py).

Sale A: Sugar 2 x 180 = 360.00, Milk 65.00; order discount 25.00 spread 21.18 / 3.82 (largest
remainder); Sugar total 338.82, VAT 338.82 x 16/116 = 46.73; Milk total 61.18, VAT 0. Total 400.00.
Sale B: Soap 100.00 - 10.00 = 90.00, VAT 12.41; Sugar 180.00, VAT 24.83. Total 270.00.
Sale C: Milk 3 x 65 = 195.00, VAT 0.
Return of 1 Sugar of A: amount 338.82 / 2 = 169.41, VAT 46.73 / 2 = 23.365 -> 23.37, cost 150.00;
refunded in whole shillings: 169.00, its rounding line -0.41 (the sales are whole shillings already).
"""

from decimal import Decimal as Dec

import pytest

from pos.reports.queries import Period, profit_report, resolve_period, sales_report
from tests.reports.conftest import D1, D

pytestmark = pytest.mark.django_db

BOTH_DAYS = Period("custom", D, D1)
ADDITIVE = ["gross_sales", "discounts", "rounding", "sales_total", "refunds", "net_sales", "vat", "net_sales_ex_vat", "quantity"]


def test_sales_totals_match_the_hand_computed_values(shop):
    totals = sales_report(BOTH_DAYS)["totals"]
    assert totals == {
        "gross_sales": Dec("900.00"), "discounts": Dec("35.00"), "rounding": Dec("0.00"), "sales_total": Dec("865.00"),
        "refunds": Dec("169.00"), "net_sales": Dec("696.00"), "vat": Dec("60.60"),
        "net_sales_ex_vat": Dec("635.40"), "sales_count": 3, "returns_count": 1, "quantity": Dec("7.000"),
        "average_basket": Dec("288.33"),
    }


def test_cancelled_and_unpaid_sales_are_not_counted(shop):
    report = sales_report(Period("custom", D, D))
    assert report["totals"]["sales_count"] == 2
    assert report["totals"]["sales_total"] == Dec("670.00")
    names = {row["name"]: row for row in report["by_product"]}
    assert names["Soap"]["quantity"] == Dec("1.000")  # sale P (1 Soap, unpaid) not counted
    assert names["Sugar"]["quantity"] == Dec("3.000")  # sale X (1 Sugar, cancelled) not counted


def test_breakdowns_by_product_category_and_cashier(shop):
    report = sales_report(BOTH_DAYS)
    sugar = next(r for r in report["by_product"] if r["name"] == "Sugar")
    assert (sugar["gross_sales"], sugar["discounts"], sugar["refunds"], sugar["net_sales"], sugar["vat"]) == (
        Dec("540.00"), Dec("21.18"), Dec("169.41"), Dec("349.41"), Dec("48.19"))
    dairy = next(r for r in report["by_category"] if r["category"] == "Dairy")
    assert (dairy["gross_sales"], dairy["discounts"], dairy["net_sales"], dairy["vat"], dairy["quantity"]) == (
        Dec("260.00"), Dec("3.82"), Dec("256.18"), Dec("0.00"), Dec("4.000"))
    cashiers = {r["cashier"]: r for r in report["by_cashier"]}
    assert cashiers["cashier"]["sales_total"] == Dec("670.00") and cashiers["cashier"]["refunds"] == Dec("169.00")
    assert report["by_category"][-1]["category"] == "Cash rounding"
    assert (report["by_category"][-1]["refunds"], report["by_category"][-1]["net_sales"]) == (Dec("-0.41"), Dec("0.41"))
    assert cashiers["cashier2"]["sales_total"] == Dec("195.00") and cashiers["cashier2"]["sales_count"] == 1


def test_split_payment_shows_under_each_method(shop):
    methods = {r["method"]: r for r in sales_report(BOTH_DAYS)["by_payment_method"]}
    assert methods["cash"]["amount"] == Dec("695.00") and methods["cash"]["payments"] == 3
    assert methods["mpesa"]["amount"] == Dec("170.00") and methods["mpesa"]["payments"] == 1


@pytest.mark.parametrize("breakdown", ["by_day", "by_product", "by_category", "by_cashier"])
def test_totals_equal_the_sum_of_each_breakdown(shop, breakdown):
    report = sales_report(BOTH_DAYS)
    rows = report[breakdown]
    if breakdown == "by_product":  # products hold lines; the rounding lines are the category breakdown's last row
        rows = [*rows, report["by_category"][-1]]
    for figure in ADDITIVE:
        assert sum(row[figure] for row in rows) == report["totals"][figure], figure
    if breakdown in ("by_day", "by_cashier"):
        assert sum(row["sales_count"] for row in report[breakdown]) == report["totals"]["sales_count"]
    assert sum(r["amount"] for r in report["by_payment_method"]) == report["totals"]["sales_total"]


def test_time_zone_boundaries_a_sale_at_2359_and_one_at_0001_fall_on_different_days(shop):
    days = {row["date"]: row for row in sales_report(BOTH_DAYS)["by_day"]}
    assert days[D]["sales_count"] == 2 and days[D]["sales_total"] == Dec("670.00")  # A at 10:00, B at 23:59
    assert days[D1]["sales_count"] == 1 and days[D1]["sales_total"] == Dec("195.00")  # C at 00:01
    assert days[D]["refunds"] == 0 and days[D1]["refunds"] == Dec("169.00")  # dated by the return
    hours = {row["hour"].hour: row for row in sales_report(Period("custom", D, D))["by_hour"]}
    assert hours[23]["sales_total"] == Dec("270.00") and hours[10]["sales_total"] == Dec("400.00")
    assert hours[0]["sales_count"] == 0


def test_a_return_is_netted_in_its_own_period_not_the_sale_s(shop):
    first_day = sales_report(Period("custom", D, D))["totals"]
    assert first_day["refunds"] == 0 and first_day["net_sales"] == Dec("670.00")
    second_day = sales_report(Period("custom", D1, D1))["totals"]
    assert second_day["refunds"] == Dec("169.00") and second_day["net_sales"] == Dec("26.00")
    assert second_day["vat"] == Dec("-23.37")


def test_profit_and_loss_by_hand(shop):
    report = profit_report(BOTH_DAYS)
    assert report["totals"] == {"revenue": Dec("635.40"), "rounding": Dec("0.41"), "cogs": Dec("560.00"),
                                "gross_margin": Dec("75.40"), "margin_percent": Dec("11.87"), "quantity": Dec("7.000")}
    products = {r["name"]: r for r in report["by_product"]}
    assert (products["Sugar"]["revenue"], products["Sugar"]["cogs"], products["Sugar"]["gross_margin"]) == (
        Dec("301.22"), Dec("300.00"), Dec("1.22"))
    assert (products["Milk"]["revenue"], products["Milk"]["gross_margin"]) == (Dec("256.18"), Dec("56.18"))
    assert products["Soap"]["margin_percent"] == Dec("22.67")  # 17.59 / 77.59
    assert report["by_category"][-1]["category"] == "Cash rounding" and report["by_category"][-1]["revenue"] == Dec("0.41")
    for breakdown in ("by_day", "by_product", "by_category"):
        rows = report[breakdown] + ([report["by_category"][-1]] if breakdown == "by_product" else [])
        for figure in ("revenue", "cogs", "gross_margin"):
            assert sum(r[figure] for r in rows) == report["totals"][figure]


def test_profit_revenue_equals_net_sales_ex_vat(shop):
    assert profit_report(BOTH_DAYS)["totals"]["revenue"] == sales_report(BOTH_DAYS)["totals"]["net_sales_ex_vat"]


def test_a_cashier_scope_sees_only_their_sales(shop, other_cashier):
    report = sales_report(BOTH_DAYS, cashier=other_cashier)
    assert report["totals"]["sales_count"] == 1 and report["totals"]["sales_total"] == Dec("195.00")
    assert [r["cashier"] for r in report["by_cashier"]] == ["cashier2"]
    assert [r["method"] for r in report["by_payment_method"]] == ["cash"]


@pytest.mark.parametrize("today, name, start, end", [
    ("2026-03-11", "week", "2026-03-09", "2026-03-11"),
    ("2026-03-11", "month", "2026-03-01", "2026-03-11"),
    ("2026-03-11", "year", "2026-01-01", "2026-03-11"),
    ("2026-03-11", "today", "2026-03-11", "2026-03-11"),
])
def test_named_periods_are_whole_days_to_today(today, name, start, end):
    from datetime import date

    period = resolve_period(name, today=date.fromisoformat(today))
    assert (str(period.start), str(period.end)) == (start, end)
