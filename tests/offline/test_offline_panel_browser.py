"""The offline panel in Debian's chromium with Playwright's network emulation: a cart the cashier was
scanning online carries into the offline sale when the network drops, and a Swahili cashier's panel speaks
Swahili."""

import shutil
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.core.books import check_books
from pos.inventory.services import adjust_stock
from pos.sales.models import Sale
from pos.sales.services import open_shift
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def goods(manager):
    sugar = ProductFactory(name="Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    beef = ProductFactory(name="Beef", price=Decimal("749.00"), cost_price=Decimal("500.00"), unit="kg")
    milk = ProductFactory(name="Milk 500ml", price=Decimal("65.00"), cost_price=Decimal("50.00"), tax_rate=Decimal(0))
    for product in (sugar, beef, milk):
        adjust_stock(product, Decimal(50), user=manager, reason="opening stock")
    return {"sugar": sugar, "beef": beef, "milk": milk}


@pytest.fixture
def context(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.OFFLINE_HEARTBEAT_SECONDS = 1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(15000)
        yield context
        browser.close()


def open_till(context, base, username):
    page = context.new_page()
    page.goto(f"{base}/admin/login/?next=/admin/checkout/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass12345")
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{base}/admin/checkout/")
    page.wait_for_function("() => { const s = window.dukaTill && window.dukaTill.state; "
                           "return s && s.till && s.numbersLeft > 0 && s.catalogueDone; }")
    return page


def values(inputs):
    return inputs.evaluate_all("(fields) => fields.map((field) => field.value)")


def scan_online(page, code):
    page.fill("#co-scan", code)
    page.press("#co-scan", "Enter")


def test_a_cart_in_progress_carries_into_the_offline_sale(live_server, context, cashier, goods):
    sugar, beef, milk = goods["sugar"], goods["beef"], goods["milk"]
    open_shift(cashier, Decimal("1000.00"))
    page = open_till(context, live_server.url, "cashier")
    for code in (sugar.barcode, sugar.barcode, beef.barcode, milk.barcode):
        scan_online(page, code)
    lines = page.locator("[data-test=cart-line]")
    expect(lines).to_have_count(3)
    page.fill("[aria-label='Quantity of Beef']", "1.234")
    page.press("[aria-label='Quantity of Beef']", "Enter")
    page.fill("[aria-label='Discount % on Sugar 1kg']", "5")
    page.press("[aria-label='Discount % on Sugar 1kg']", "Enter")
    page.fill("#co-order-discount", "2")
    page.press("#co-order-discount", "Enter")
    # 342.00 + 924.27 + 65.00 = 1331.27, less 2% (26.62) = 1304.65, rounded to 1305
    total = page.locator("[data-test=total]")
    expect(total).to_have_text("KES 1,305.00")

    context.set_offline(True)  # the network drops with the cart on the screen
    panel = page.locator("[data-test=offline-panel]")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-test=off-line]")).to_have_count(3)
    assert values(panel.locator("[data-test=off-qty]")) == ["2", "1.234", "1"]
    assert values(panel.locator("[data-test=off-line-discount]")) == ["5", "0", "0"]
    expect(panel.locator("[data-test=off-order-discount]")).to_have_value("2")
    expect(panel.locator("[data-test=off-total]")).to_have_text("KES 1,305.00")  # the server's figure
    expect(panel.locator("[data-test=off-rounding]")).to_have_text("KES 0.35")
    page.keyboard.press("F4")
    expect(page.locator("#till-cash-given")).to_be_focused()
    page.fill("#till-cash-given", "1500")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=off-receipt-change]")).to_have_text("195.00")

    context.set_offline(False)
    expect(page.locator("[data-test=till-unsynced]")).to_have_text("0", timeout=30000)
    sale = Sale.objects.get()
    assert sale.total == Decimal("1305.00") and sale.rounding == Decimal("0.35") and sale.status == "paid"
    assert [(i.product_id, i.quantity, i.discount) for i in sale.items.order_by("pk")] == [
        (sugar.pk, Decimal("2.000"), Decimal("18.00")), (beef.pk, Decimal("1.234"), Decimal("0.00")),
        (milk.pk, Decimal("1.000"), Decimal("0.00"))]
    assert sale.order_discount == Decimal("26.62")
    assert not sale.offline.needs_attention
    # the online checkout does not offer the same cart again: it was sold offline
    page.reload()
    expect(page.locator("[data-test=till-online]")).to_have_text("Online")
    expect(page.locator("[data-test=cart-line]")).to_have_count(0)
    assert Sale.objects.count() == 1
    assert check_books() == []


def test_a_swahili_cashier_sees_the_offline_panel_in_swahili(live_server, context, cashier, goods):
    open_shift(cashier, Decimal("0"))
    page = open_till(context, live_server.url, "cashier")
    page.select_option("[data-test=language]", "sw")  # the cashier's own language, kept in their session
    page.wait_for_function("() => { const s = window.dukaTill && window.dukaTill.state; return s && s.catalogueDone "
                           "&& s.cached && navigator.serviceWorker.controller; }")
    expect(page.locator("[data-test=till-online]")).to_have_text("Mtandaoni")

    context.set_offline(True)
    panel = page.locator("[data-test=offline-panel]")
    expect(panel).to_be_visible()
    expect(page.locator("[data-test=till-online]")).to_have_text("Nje ya mtandao")
    expect(page.locator("[data-test=off-title]")).to_have_text("Till bila mtandao")
    expect(panel).to_contain_text("Mauzo yanahifadhiwa kwenye till hii na kutumwa intaneti ikirudi.")
    expect(panel).to_contain_text("bidhaa 3 zimehifadhiwa")
    expect(page.locator("[data-test=off-disabled]")).to_have_text("M-Pesa push (STK): inahitaji intaneti")
    expect(page.locator("[data-test=off-cash]")).to_contain_text("Pesa taslimu")
    page.fill("#till-scan", "999")
    page.press("#till-scan", "Enter")
    expect(page.locator("[data-test=off-message]")).to_have_text(
        "Msimbo 999 haupo kwenye orodha ya bidhaa ya till hii (bidhaa 3 zimehifadhiwa).")
    page.fill("#till-scan", goods["sugar"].barcode)
    page.press("#till-scan", "Enter")
    page.fill("[aria-label='Punguzo % kwa Sugar 1kg']", "20")
    page.press("[aria-label='Punguzo % kwa Sugar 1kg']", "Enter")
    expect(panel.locator("p.co-message-error")).to_contain_text("Mhudumu anaweza kutoa punguzo la hadi 10%")
    expect(panel.locator("[data-test=off-totals]")).to_contain_text("VAT imejumuishwa")

    page.reload()  # offline: the page, the panel and its words come from the service worker's cache
    expect(panel).to_be_visible()
    expect(page.locator("[data-test=till-online]")).to_have_text("Nje ya mtandao")
    expect(page.locator("[data-test=off-title]")).to_have_text("Till bila mtandao")
