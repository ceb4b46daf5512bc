from decimal import Decimal

import pytest

from pos.inventory.services import adjust_stock
from tests.factories import CategoryFactory, ProductFactory, ean13


@pytest.fixture
def dairy(db):
    return CategoryFactory(name="Dairy")


@pytest.fixture
def milk(dairy):
    return ProductFactory(name="Brookside Milk 500ml", sku="DAI-001", barcode=ean13(9001), category=dairy,
                          price=Decimal("65.00"), cost_price=Decimal("52.00"), tax_rate=Decimal("0.00"),
                          reorder_level=Decimal(10))


@pytest.fixture
def stock():
    """stock(product, qty, user): put stock in through the inventory service, like the shop does."""
    def put(product, quantity, user):
        adjust_stock(product, Decimal(quantity), user=user, reason="test")
        product.refresh_from_db()
        return product
    return put
