"""eTIMS fixtures: the OSCU simulator served by a live server, a demo device pointing at it, a till."""

from decimal import Decimal

import pytest

from pos.fiscal import simulator
from pos.fiscal.models import Device, Mode
from pos.fiscal.services import forget_active_device, save_device
from pos.payments.services import pay_cash
from pos.sales.services import LineRequest, create_sale, open_shift, return_items
from tests.factories import ProductFactory
from tests.sales.conftest import give_stock

D = Decimal
PIN, BRANCH = "P051234567X", "00"


@pytest.fixture
def kra(live_server, settings):
    """The simulator on the live server, reset, with no faults."""
    settings.ETIMS_SIMULATOR_ENABLED = True
    settings.ETIMS_HTTP_TIMEOUT = 5
    simulator.reset()
    simulator.control()
    forget_active_device()
    yield live_server.url + "/sandbox/etims/"
    forget_active_device()


@pytest.fixture
def device(kra):
    """A demo device pointing at the simulator (it initialises itself on the first send)."""
    return save_device(Device(pin=PIN, branch_id=BRANCH, serial="TEST-SERIAL-1", mode=Mode.DEMO, base_url=kra))


@pytest.fixture
def shop_till(cashier):
    return open_shift(cashier, D("1000.00"))


@pytest.fixture
def goods(manager):
    """Sugar (16 %), milk (exempt) and rice sold by weight (16 %), 100 of each in stock."""
    sugar = ProductFactory(name="Sugar 1kg", price=D("180.00"))
    milk = ProductFactory(name="Milk 500ml", price=D("65.00"), tax_rate=D("0"))
    rice = ProductFactory(name="Rice loose", price=D("240.00"), unit="kg")
    give_stock([sugar, milk, rice], quantity="100", user=manager)
    return sugar, milk, rice


def sell(cashier, lines, tendered=None):
    """Confirm and pay cash: [(product, qty)] -> the paid sale."""
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D(str(q)), product=p.pk) for p, q in lines])
    pay_cash(sale, amount_tendered=tendered or sale.total, user=cashier)
    sale.refresh_from_db()
    return sale


def take_back(manager, sale, product, qty):
    item = sale.items.get(product=product)
    return return_items(sale, [(item.pk, str(qty))], manager, "damaged")
