"""Browser tests: Playwright's Python API driving Debian's chromium (never a downloaded browser) against
pytest-django's live server."""

import os
import shutil
from decimal import Decimal

import pytest

from pos.inventory.services import adjust_stock
from tests.factories import ProductFactory

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable from the test.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def shop(manager):
    sugar = ProductFactory(name="Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    milk = ProductFactory(name="Milk 500ml", price=Decimal("65.00"), cost_price=Decimal("50.00"), tax_rate=Decimal(0))
    for product in (sugar, milk):
        adjust_stock(product, Decimal(20), user=manager, reason="opening stock")
    return {"sugar": sugar, "milk": milk}


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(15000)
        yield page
        browser.close()


@pytest.fixture
def login(live_server):
    """Log in through the admin login form, as a person would."""
    def log_in(page, username, password="pass12345"):
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("#login-form [type=submit]")
    return log_in


@pytest.fixture
def sandbox(live_server, settings):
    """Every provider answered by the simulators on the live server, calling back our webhooks there soon."""
    from pos.payments.sandbox import state

    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_CALLBACK_DELAY = 0.5
    settings.MPESA_CONSUMER_KEY = settings.MPESA_CONSUMER_SECRET = ""
    settings.AIRTEL_CLIENT_ID = settings.AIRTEL_CLIENT_SECRET = ""
    settings.FLUTTERWAVE_SECRET_KEY = ""
    state.reset()
    return live_server
