"""Helpers for the payments tests: sales built through pos.sales.services, stock through
pos.inventory.services, and polling for what the sandbox's callbacks do."""

import time
from decimal import Decimal

from pos.inventory.services import adjust_stock
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import LineRequest, create_sale, get_open_shift, open_shift
from tests.factories import ProductFactory


def make_sale(cashier, price="500.00", quantity="1", manager=None):
    """A confirmed sale (pending_payment) of one product at `price`, by `cashier` in their open shift."""
    if get_open_shift(cashier) is None:
        open_shift(cashier, Decimal(0))
    product = ProductFactory(price=Decimal(price), cost_price=Decimal("1.00"))
    adjust_stock(product, Decimal(100), user=manager or cashier, reason="test")
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal(quantity), product=product.pk)])
    return sale


def wait_for(predicate, timeout=15.0, interval=0.1):
    """Poll until `predicate()` is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def settled(payment, timeout=15.0):
    """Wait until the payment leaves pending/processing; return it fresh."""
    wait_for(lambda: Payment.objects.get(pk=payment.pk).is_final, timeout)
    return Payment.objects.get(pk=payment.pk)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def sale_of(payment) -> Sale:
    return Sale.objects.get(pk=payment.sale_id)
