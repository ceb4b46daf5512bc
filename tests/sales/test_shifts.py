"""Shifts: one open per cashier, X report mid-shift (read-only), Z report at close with per-method
figures computed by hand below, and a closed shift sells nothing."""

from decimal import Decimal

import pytest

from pos.core.errors import ServiceError
from pos.payments.models import Payment, Refund
from pos.payments.services import pay_cash
from pos.sales.models import ShiftTotal
from pos.sales.services import (
    LineRequest,
    cancel_sale,
    close_shift,
    create_sale,
    open_shift,
    return_items,
    settle_sale,
    shift_report,
)

D = Decimal


def sell(cashier, *lines, **kwargs):
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D(q), product=p.pk) for p, q in lines], **kwargs)
    return sale


@pytest.fixture
def busy_shift(cashier, manager, till, goods):
    """A: 2 sugar (360.00) cash 500 -> change 140, then 1 sugar returned with 180.00 cash paid back.
    B: 1 sugar + 1 milk (245.00) by M-Pesa. C: cancelled."""
    sugar, milk = goods
    a = sell(cashier, (sugar, "2"))
    cash = pay_cash(a, amount_tendered=D("500"), user=cashier)
    b = sell(cashier, (sugar, "1"), (milk, "1"))
    Payment.objects.create(sale=b, method="mpesa", amount=D("245.00"), status="completed", receipt="QKX1")
    settle_sale(b)
    cancel_sale(sell(cashier, (milk, "3")), user=cashier, reason="customer left")
    sale_return = return_items(a, [(a.items.get().pk, "1")], manager, "torn bag")
    Refund.objects.create(payment=cash, sale_return=sale_return, amount=sale_return.amount, reason="torn bag",
                          status="completed", requested_by=manager)
    return till


@pytest.mark.django_db
def test_x_report_mid_shift_has_the_hand_computed_figures_and_writes_nothing(busy_shift):
    report = shift_report(busy_shift)
    assert report.kind == "X"
    assert (report.sales_count, report.cancelled_count, report.pending_count) == (2, 1, 0)
    assert report.sales_total == D("605.00") and report.returns_total == D("180.00")
    assert report.net_sales == D("425.00")
    # 16%: 360.00 + 180.00 of sugar -> 49.66 + 24.83 VAT; milk is exempt.
    assert [(v.rate, v.total, v.tax) for v in report.vat] == [(D("16.00"), D("540.00"), D("74.49")),
                                                             (D("0.00"), D("65.00"), D("0.00"))]
    assert report.tax_total == D("74.49")
    cash = report.cash
    assert (cash.opening, cash.payments, cash.tendered, cash.change, cash.refunds) == (
        D("1000.00"), D("360.00"), D("500.00"), D("140.00"), D("180.00"))
    assert cash.expected == D("1180.00")  # 1000 + 500 - 140 - 180
    assert cash.counted is None
    mpesa = next(m for m in report.methods if m.method == "mpesa")
    assert (mpesa.payments, mpesa.expected) == (D("245.00"), D("245.00"))
    assert ShiftTotal.objects.count() == 0
    busy_shift.refresh_from_db()
    assert busy_shift.status == "open"


@pytest.mark.django_db
def test_close_stores_the_z_figures_per_method_and_the_cash_variance(busy_shift, cashier):
    report = close_shift(busy_shift, "1175.00", cashier)
    assert report.kind == "Z"
    assert (report.cash.expected, report.cash.counted, report.cash.difference) == (
        D("1180.00"), D("1175.00"), D("-5.00"))
    stored = {t.method: (t.opening, t.expected, t.counted, t.difference) for t in busy_shift.totals.all()}
    assert stored == {"cash": (D("1000.00"), D("1180.00"), D("1175.00"), D("-5.00")),
                      "mpesa": (D("0.00"), D("245.00"), D("245.00"), D("0.00"))}
    busy_shift.refresh_from_db()
    assert busy_shift.status == "closed" and busy_shift.closed_by == cashier
    assert (busy_shift.expected_cash, busy_shift.counted_cash, busy_shift.cash_variance) == (
        D("1180.00"), D("1175.00"), D("-5.00"))
    again = shift_report(busy_shift)
    assert again.kind == "Z" and again.cash.difference == D("-5.00")


@pytest.mark.django_db
def test_a_closed_shift_refuses_sales_even_when_passed_explicitly(cashier, till, goods):
    sugar, _ = goods
    close_shift(till, "1000.00", cashier)
    with pytest.raises(ServiceError, match="closed"):
        sell(cashier, (sugar, "1"), shift=till)
    with pytest.raises(ServiceError, match="Open a shift"):
        sell(cashier, (sugar, "1"))
    with pytest.raises(ServiceError, match="already closed"):
        close_shift(till, "1000.00", cashier)
    sugar.refresh_from_db()
    assert sugar.stock_quantity == D("10")


@pytest.mark.django_db
def test_one_open_shift_per_cashier_and_only_on_ones_own_shift(cashier, other_cashier, till, goods):
    with pytest.raises(ServiceError) as refused:
        open_shift(cashier, "500")
    assert refused.value.code == "shift_already_open"
    with pytest.raises(ServiceError, match="another cashier"):
        sell(other_cashier, (goods[0], "1"), shift=till)
    with pytest.raises(ServiceError, match="own shift"):
        close_shift(till, "1000", other_cashier)
    with pytest.raises(ServiceError, match="zero or more"):
        open_shift(other_cashier, "-5")


@pytest.mark.django_db
def test_a_shift_with_a_sale_waiting_for_payment_does_not_close(cashier, till, goods):
    sale = sell(cashier, (goods[0], "1"))
    with pytest.raises(ServiceError, match=sale.receipt_number):
        close_shift(till, "1000", cashier)
    cancel_sale(sale, user=cashier)
    assert close_shift(till, "1000", cashier).cash.difference == D("0.00")
