from decimal import Decimal

import pytest
from django.test import Client

from pos.inventory.services import adjust_stock
from pos.sales.services import open_shift
from tests.factories import ProductFactory


@pytest.fixture
def shop(manager):
    """Three products with stock: sugar (16% VAT), milk (VAT exempt), rice sold by the kilogram."""
    sugar = ProductFactory(name="Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    milk = ProductFactory(name="Milk 500ml", price=Decimal("65.00"), cost_price=Decimal("50.00"),
                          tax_rate=Decimal(0))
    rice = ProductFactory(name="Rice (loose)", price=Decimal("140.00"), unit="kg")
    for product in (sugar, milk, rice):
        adjust_stock(product, Decimal(20), user=manager, reason="opening stock")
    return {"sugar": sugar, "milk": milk, "rice": rice}


@pytest.fixture
def open_shift_for(db):
    def open_for(user):
        return open_shift(user, Decimal("1000.00"))
    return open_for


@pytest.fixture
def till(cashier, open_shift_for):
    """A logged-in cashier's browser session with an open shift."""
    open_shift_for(cashier)
    client = Client()
    client.force_login(cashier)
    return client


@pytest.fixture
def sandbox(live_server, settings):
    """Every provider answered by the simulators on the live server, calling back our webhooks there soon."""
    from pos.payments.sandbox import state

    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_CALLBACK_DELAY = 0.2
    settings.MPESA_CONSUMER_KEY = settings.MPESA_CONSUMER_SECRET = ""
    settings.AIRTEL_CLIENT_ID = settings.AIRTEL_CLIENT_SECRET = ""
    settings.FLUTTERWAVE_SECRET_KEY = ""
    state.reset()
    return live_server
