from decimal import Decimal

import pytest
from django.db.models import Sum

from pos.inventory.models import StockMovement
from pos.inventory.services import adjust_stock
from tests.factories import ProductFactory


def ledger_sum(product):
    return StockMovement.objects.filter(product=product).aggregate(s=Sum("quantity"))["s"] or Decimal(0)


def assert_ledger(*products):
    """The invariant: each product's stock equals the sum of its movements."""
    for p in products:
        p.refresh_from_db()
        assert p.stock_quantity == ledger_sum(p), p.name


@pytest.fixture
def stocked(manager):
    """stocked(qty, **product fields) -> a product given `qty` through the ledger."""

    def make(quantity, **fields):
        product = ProductFactory(**fields)
        if Decimal(quantity):
            adjust_stock(product, Decimal(quantity), user=manager, reason="opening stock")
        product.refresh_from_db()
        return product

    return make
