"""Cash rounding, the receipt and the Z report: properties that hold for any cart, discounts and rounding
setting (hypothesis, against the real database and services)."""

import contextlib
from decimal import Decimal as D

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pos.core.books import check_books
from pos.core.errors import ServiceError
from pos.inventory.services import StockChange, post_movements
from pos.payments.services import pay_cash
from pos.reports.queries import resolve_period, sales_report
from pos.sales.models import SaleReturn
from pos.sales.receipts import receipt_data, receipt_text
from pos.sales.services import (
    LineRequest,
    close_shift,
    create_sale,
    open_shift,
    return_items,
    round_cash,
)
from tests.factories import ProductFactory

prices = st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2)
rates = st.sampled_from([D("0"), D("8"), D("16")])
steps = st.sampled_from([D("1"), D("5"), D("10")])
rules = st.sampled_from(["nearest", "down"])


@st.composite
def carts(draw):
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        weighed = draw(st.booleans())
        quantity = draw(st.decimals(min_value=D("0.005"), max_value=D("9.999"), places=3)) if weighed \
            else D(draw(st.integers(min_value=1, max_value=6)))
        lines.append((draw(prices), draw(rates), weighed, quantity, draw(st.decimals(min_value=0, max_value=60, places=1))))
    assume(all(quantity * price >= D("0.005") for price, _, _, quantity, _ in lines))  # else refused: see below
    return lines, draw(st.decimals(min_value=0, max_value=60, places=1))


def _make_sale(cashier, manager, cart):
    lines, order_percent = cart
    products = [ProductFactory(price=price, tax_rate=rate, unit="kg" if weighed else "piece")
                for price, rate, weighed, _, _ in lines]
    post_movements([StockChange(p.pk, D(100)) for p in products], kind="adjustment", user=manager, note="stock")
    items = [LineRequest(quantity, product=p.pk, discount_percent=percent)
             for p, (_, _, _, quantity, percent) in zip(products, lines)]
    sale, _ = create_sale(cashier=manager, items=items, discount_percent=order_percent)
    return sale


@pytest.mark.django_db
@hsettings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cart=carts(), step=steps, rule=rules)
def test_receipt_total_is_the_lines_plus_the_rounding_line_and_vat_per_rate_adds_up(manager, settings, cart,
                                                                                    step, rule):
    with transaction.atomic():  # each example on a clean slate: rolled back at its end
        settings.CASH_ROUNDING_STEP, settings.CASH_ROUNDING_RULE = step, rule
        open_shift(manager, D("0"))
        sale = _make_sale(manager, manager, cart)
        items = list(sale.items.all())
        lines_total = sum(item.total for item in items)
        assert sale.total == lines_total + sale.rounding
        assert sale.total % step == 0, "the sale is payable in whole steps, by any method"
        assert abs(sale.rounding) < step
        if rule == "down" and sale.total > step:
            assert sale.rounding <= 0
        receipt = receipt_data(sale)
        # VAT per band (per rate) adds up to the lines: taxable + VAT of every band = sum of lines
        assert sum(taxable + tax for _, _, taxable, tax in receipt.bands) == lines_total
        assert sum(tax for _, _, _, tax in receipt.bands) == sale.tax == sum(item.tax for item in items)
        for rate in {item.tax_rate for item in items}:
            at_rate = [item for item in items if item.tax_rate == rate]
            assert sum(item.tax for item in at_rate) + sum(item.net for item in at_rate) == sum(i.total for i in at_rate)
        text = receipt_text(sale)
        if sale.rounding:
            assert f"Rounding {sale.rounding:,.2f}".replace(" ", "") in text.replace(" ", "")
        assert f"{sale.total:,.2f}" in text
        assert check_books() == []
        transaction.set_rollback(True)


@pytest.mark.django_db
@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cart=carts(), step=steps, rule=rules, back=st.lists(st.integers(min_value=0, max_value=2), max_size=5))
def test_the_z_reports_net_vat_is_the_sales_reports_vat_for_the_shift_returns_included(cashier, manager, settings,
                                                                                      cart, step, rule, back):
    with transaction.atomic():  # each example on a clean slate: rolled back at its end
        settings.CASH_ROUNDING_STEP, settings.CASH_ROUNDING_RULE = step, rule
        shift = open_shift(cashier, D("500"))
        lines, order_percent = cart
        products = [ProductFactory(price=price, tax_rate=rate, unit="kg" if weighed else "piece")
                    for price, rate, weighed, _, _ in lines]
        post_movements([StockChange(p.pk, D(100)) for p in products], kind="adjustment", user=manager, note="stock")
        items = [LineRequest(quantity, product=p.pk, discount_percent=min(percent, D(5)))
                 for p, (_, _, _, quantity, percent) in zip(products, lines)]
        sale, _ = create_sale(cashier=cashier, items=items, discount_percent=min(order_percent, D(5)))
        pay_cash(sale, amount_tendered=sale.total + 50, user=cashier)
        for item, units in zip(sale.items.all(), back):
            quantity = min(D(units), item.quantity - item.returned_quantity)
            if quantity > 0 and (quantity == quantity.to_integral_value() or item.product.unit != "piece"):
                with contextlib.suppress(ServiceError):  # e.g. a return of a line worth less than a cent
                    return_items(sale, [(item.pk, quantity)], manager, "back")
        report = close_shift(shift, D("0"), cashier)
        assert report.net_tax == sales_report(resolve_period("today"), cashier=cashier)["totals"]["vat"]
        assert sum(v.net_tax for v in report.vat) == report.net_tax
        assert sum(v.tax for v in report.vat) == report.tax_total
        assert sum(v.returned_tax for v in report.vat) == report.returns_tax
        returned = sum((r.amount for r in SaleReturn.objects.filter(shift=shift)), D(0))
        assert report.returns_total == returned
        cash = report.cash
        assert cash.change == D("50.00") and cash.payments == sale.total
        assert check_books() == []
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_weighed_line_worth_less_than_a_cent_is_refused_not_sold_for_nothing(cashier, manager):
    open_shift(cashier, D("0"))
    product = ProductFactory(price=D("0.01"), unit="kg")
    post_movements([StockChange(product.pk, D(1))], kind="adjustment", user=manager, note="stock")
    with pytest.raises(ServiceError, match="costs less than a cent") as refused:
        create_sale(cashier=cashier, items=[LineRequest(D("0.004"), product=product.pk)])
    assert refused.value.code == "worthless_line"
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D("0.5"), product=product.pk)])  # 0.005: one cent
    assert (sale.total, sale.rounding) == (D("1.00"), D("0.99"))


@pytest.mark.parametrize("amount, step, rule, expected", [
    ("928.15", "1", "nearest", "928.00"), ("928.50", "1", "nearest", "929.00"), ("928.99", "1", "down", "928.00"),
    ("927.40", "5", "nearest", "925.00"), ("927.50", "5", "nearest", "930.00"), ("0.40", "1", "down", "1.00"),
    ("14.99", "10", "down", "10.00"),
])
def test_round_cash_follows_the_step_and_the_rule(settings, amount, step, rule, expected):
    settings.CASH_ROUNDING_STEP, settings.CASH_ROUNDING_RULE = D(step), rule
    assert round_cash(D(amount)) == D(expected)
