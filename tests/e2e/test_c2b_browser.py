"""Lipa na M-Pesa at the till, in a real (headless) chromium: the customer pays from the sandbox's phone page,
the till shows the money and matches it; by the SMS code; and half by M-Pesa, half cash."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.c2b import services as c2b
from pos.c2b.models import ReceivedPayment
from pos.core.books import check_books
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import LineRequest, create_sale, open_shift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def registered(sandbox, settings):
    settings.C2B_URL_TOKEN = "browser-c2b-token"
    settings.C2B_SHORTCODE = "174379"
    c2b.register_urls()
    return sandbox


def customer_pays(phone_page, url, amount, command="CustomerBuyGoodsOnline"):
    """The customer's phone (the sandbox page): send `amount` to the shop; returns the code of the SMS."""
    phone_page.goto(f"{url}/sandbox/mpesa/c2b/phone/")
    phone_page.select_option("#command", command)
    phone_page.fill("#amount", str(amount))
    phone_page.fill("#name", "Achieng")
    phone_page.click("#pay")
    expect(phone_page.locator("#sms")).to_contain_text("Confirmed")
    return phone_page.locator("#trans-id").inner_text()


def ring_up(page, *barcodes):
    for code in barcodes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(page.locator("[data-test=cart-line]")).to_have_count(len(barcodes))


def test_customer_pays_the_till_from_a_phone(registered, browser_page, login, cashier, other_cashier, manager, shop,
                                             artifacts_dir):
    page = browser_page
    phone = page.context.browser.new_page()  # another "device": the customer's phone
    polls = []  # the panel's poll may write a match: always a POST, never a GET
    page.on("request", lambda r: polls.append(r.method) if re.search(r"/api/c2b/till/\d+/$", r.url) else None)
    login(page, "cashier")
    page.wait_for_url(f"{registered.url}/admin/checkout/")
    page.keyboard.type("1000")
    page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()
    sugar, milk = shop["sugar"].barcode, shop["milk"].barcode

    # 1. The customer pays the till; the till shows it and matches it without a key press.
    ring_up(page, sugar)
    page.keyboard.press("Alt+m")
    panel = page.locator("[data-test=c2b-panel]")
    expect(panel.locator("[data-test=c2b-due]")).to_have_text("KES 180.00")
    first = Sale.objects.get()
    expect(panel.locator("[data-test=c2b-account]")).to_have_text(c2b.sale_reference(first))
    page.screenshot(path=f"{artifacts_dir}/c2b-waiting.png", full_page=True)
    code = customer_pays(phone, registered.url, 180)
    expect(page.locator("[data-test=done]")).to_be_visible(timeout=15000)
    expect(page.locator("[data-test=done]")).to_contain_text(code)  # the M-Pesa receipt, on the receipt screen
    page.screenshot(path=f"{artifacts_dir}/c2b-matched.png", full_page=True)
    first.refresh_from_db()
    assert first.status == "paid"
    assert Payment.objects.get(sale=first).receipt == code
    assert ReceivedPayment.objects.get(trans_id=code).match_rule == "amount"
    assert polls and set(polls) == {"POST"}

    # 2. Another till waits for the same amount: nothing is matched automatically; the cashier types the SMS code.
    open_shift(other_cashier, Decimal(0))
    other, _ = create_sale(cashier=other_cashier, items=[LineRequest(quantity=Decimal(1), product=shop["sugar"].pk)])
    expect(page.locator("#co-scan")).to_be_focused()  # the cursor is back in the scanner
    page.keyboard.press("Enter")  # new sale
    ring_up(page, sugar)
    page.keyboard.press("Alt+m")
    expect(panel.locator("[data-test=c2b-due]")).to_have_text("KES 180.00")
    code = customer_pays(phone, registered.url, 180)
    row = panel.locator("[data-test=c2b-row]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-test=c2b-row-code]")).to_have_text(code)
    page.wait_for_timeout(2500)  # a poll or two later: still not matched (two waiting sales of 180)
    expect(page.locator("[data-test=done]")).to_be_hidden()
    # A code M-Pesa never reported: the cashier is told in the panel, next to the code typed.
    page.set_viewport_size({"width": 1024, "height": 600})
    panel.locator("[data-test=c2b-code]").fill("SGH3K7Q2LX")
    panel.locator("[data-test=c2b-code]").press("Enter")
    refused = panel.locator("[data-test=c2b-refused]")
    expect(refused).to_contain_text("M-Pesa has not told the shop about SGH3K7Q2LX yet")
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-c2b-unknown-code.png")
    page.set_viewport_size({"width": 1400, "height": 900})
    panel.locator("[data-test=c2b-code]").fill(code.lower())
    panel.locator("[data-test=c2b-code]").press("Enter")
    expect(page.locator("[data-test=done]")).to_be_visible()
    second = Sale.objects.filter(cashier=cashier).order_by("-pk").first()
    assert second.status == "paid" and Payment.objects.get(sale=second).receipt == code
    other.refresh_from_db()
    assert other.status == "pending_payment"

    # 3. Half by M-Pesa (picked from the list), the rest in cash.
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.press("Enter")
    ring_up(page, milk)
    quantity = page.locator("[data-test=cart-line]").nth(0).locator("[data-test=qty]")
    quantity.fill("2")
    quantity.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 130.00")
    page.keyboard.press("Alt+m")
    expect(panel.locator("[data-test=c2b-due]")).to_have_text("KES 130.00")
    code = customer_pays(phone, registered.url, 65)
    expect(panel.locator("[data-test=c2b-row-code]")).to_have_text(code)
    panel.locator("[data-test=c2b-pick]").click()
    expect(panel.locator("[data-test=c2b-due]")).to_have_text("KES 65.00")
    expect(page.locator("[data-test=balance-due]")).to_have_text("KES 65.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("100")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 35.00")
    page.screenshot(path=f"{artifacts_dir}/c2b-split.png", full_page=True)
    third = Sale.objects.filter(cashier=cashier).order_by("-pk").first()
    methods = sorted(Payment.objects.filter(sale=third).values_list("method", "amount"))
    assert methods == [("cash", Decimal("65.00")), ("mpesa", Decimal("65.00"))]
    assert third.status == "paid"
    assert [p for p in check_books() if p.startswith(("payment", "c2b"))] == []
