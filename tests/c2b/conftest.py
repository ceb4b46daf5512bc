"""C2B fixtures: real sales through the sales services, the Daraja simulator on the live server with the
shop's C2B URLs registered there, and helpers to post Daraja-shaped confirmations."""

import json
import time
from decimal import Decimal

import pytest
from django.test import Client

from pos.c2b import services
from pos.inventory.services import adjust_stock
from pos.payments.models import ProviderToken
from pos.payments.sandbox import state as sandbox_state
from pos.sales.services import LineRequest, create_sale, open_shift
from tests.factories import ProductFactory

TOKEN = "test-c2b-token-5f1e"


@pytest.fixture(autouse=True)
def c2b_settings(settings, unused_port):
    # Nothing reaches a real server by accident: M-Pesa is a closed port unless a test starts the simulator.
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{unused_port}/sandbox"
    settings.C2B_URL_TOKEN = TOKEN
    settings.C2B_SHORTCODE = "174379"
    settings.C2B_VALIDATE_ACCOUNT = False
    settings.C2B_MATCH_WINDOW_MINUTES = 15
    return settings


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def shift(cashier):
    return open_shift(cashier, Decimal("0"))


@pytest.fixture
def sell(db, cashier, manager, shift):
    """sell(total) -> a real sale of one product at `total`, waiting for payment (pending_payment)."""
    def make(total, user=None):
        product = ProductFactory(price=Decimal(total), tax_rate=Decimal(0))
        adjust_stock(product, Decimal(5), user=manager, reason="stock")
        sale, _ = create_sale(cashier=user or cashier, items=[LineRequest(quantity=Decimal(1), product=product.pk)])
        return sale
    return make


def c2b_body(trans_id="SKL1A2B3C4", amount="500.00", bill_ref="", kind="Buy Goods", msisdn=None, **extra):
    return {"TransactionType": kind, "TransID": trans_id, "TransTime": time.strftime("%Y%m%d%H%M%S"),
            "TransAmount": amount, "BusinessShortCode": "174379", "BillRefNumber": bill_ref, "InvoiceNumber": "",
            "OrgAccountBalance": "1200.00", "ThirdPartyTransID": "",
            "MSISDN": msisdn or "2d8e4c3f0b5a1c6e9f7d2b4a8c0e1f3a5b7d9c2e4f6a8b0c1d3e5f7a9b2c4d6e",
            "FirstName": "WANJIKU", "MiddleName": "", "LastName": "KAMAU", **extra}


@pytest.fixture
def post_c2b():
    """post_c2b(kind, body, token=TOKEN) -> the HTTP response of our C2B URL (a real request through Django)."""
    client = Client()

    def post(kind, body, token=TOKEN, raw=None):
        data = raw if raw is not None else json.dumps(body)
        return client.post(f"/api/c2b/notify/{token}/{kind}/", data=data, content_type="application/json")
    return post


@pytest.fixture
def daraja(live_server, settings):
    """The Daraja simulator on the live server as M-Pesa, our C2B URLs registered with it, calling back soon."""
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_CALLBACK_DELAY = 0.1
    settings.MPESA_CONSUMER_KEY = settings.MPESA_CONSUMER_SECRET = ""
    settings.MPESA_TRANSACTION_TYPE = "CustomerPayBillOnline"
    sandbox_state.reset()
    ProviderToken.objects.all().delete()
    services.register_urls()
    return live_server


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")
