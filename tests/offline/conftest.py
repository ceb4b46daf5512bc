import uuid
from decimal import Decimal

import pytest

from pos.inventory.services import adjust_stock
from pos.sales.services import open_shift
from pos.tills import services as tills
from tests.factories import ProductFactory


@pytest.fixture
def stocked(manager):
    """Sugar (16% VAT) and milk (exempt), 20 of each."""
    sugar = ProductFactory(name="Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    milk = ProductFactory(name="Milk 500ml", price=Decimal("65.00"), cost_price=Decimal("50.00"), tax_rate=Decimal(0))
    for product in (sugar, milk):
        adjust_stock(product, Decimal(20), user=manager, reason="opening stock")
    return {"sugar": sugar, "milk": milk}


@pytest.fixture
def shift(cashier):
    return open_shift(cashier, Decimal("1000.00"))


@pytest.fixture
def till(cashier):
    return tills.register_till(uuid.uuid4(), user=cashier, name="Front")


def offline_body(till, number, lines, payments, *, shift=None, discount="0.00", total=None, client_uuid=None):
    """What the till's outbox sends: `lines` [(product, quantity, unit_price, discount)]."""
    return {
        "client_uuid": str(client_uuid or uuid.uuid4()), "till": str(till.device_id), "number": number,
        "sold_at": "2026-11-26T10:15:00+03:00", "shift": shift.pk if shift else None, "discount": discount,
        "total": total,
        "items": [{"product": p.pk, "quantity": str(q), "unit_price": str(price), "tax_rate": str(p.tax_rate),
                   "discount": str(d)} for p, q, price, d in lines],
        "payments": payments,
    }
