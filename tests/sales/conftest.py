from decimal import Decimal

import pytest

from pos.inventory.services import StockChange, post_movements
from pos.sales.services import open_shift
from tests.factories import ProductFactory


def give_stock(products, quantity="10", user=None):
    post_movements([StockChange(p.pk, Decimal(quantity)) for p in products], kind="adjustment", user=user,
                   note="test stock")
    for p in products:
        p.refresh_from_db()


@pytest.fixture
def till(cashier):
    """The cashier's open shift with a 1000.00 float."""
    return open_shift(cashier, Decimal("1000.00"))


@pytest.fixture
def goods(manager):
    """Sugar (16% VAT) and milk (VAT exempt), 10 of each in stock."""
    sugar = ProductFactory(name="Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    milk = ProductFactory(name="Milk 500ml", price=Decimal("65.00"), cost_price=Decimal("50.00"),
                          tax_rate=Decimal("0"))
    give_stock([sugar, milk], user=manager)
    return sugar, milk
