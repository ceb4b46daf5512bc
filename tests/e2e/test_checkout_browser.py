"""The cashier's day on the checkout page, in a real (headless) chromium."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import cancel_sale

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cashier_scans_changes_a_quantity_and_pays_cash(live_server, browser_page, login, cashier, shop,
                                                        artifacts_dir):
    page = browser_page
    login(page, "cashier")
    page.wait_for_url(f"{live_server.url}/admin/checkout/")

    expect(page.locator("#co-float")).to_be_focused()
    page.keyboard.type("1000")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=shift-info]")).to_contain_text("1,000.00")
    scanner = page.locator("#co-scan")
    expect(scanner).to_be_focused()

    for product in (shop["sugar"], shop["milk"]):
        page.keyboard.type(product.barcode)
        page.keyboard.press("Enter")
    lines = page.locator("[data-test=cart-line]")
    expect(lines).to_have_count(2)
    expect(page.locator("[data-test=total]")).to_have_text("KES 245.00")
    expect(scanner).to_be_focused()

    page.keyboard.type("6160000000019")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text("Unknown barcode 6160000000019")
    expect(lines).to_have_count(2)

    quantity = lines.nth(1).locator("[data-test=qty]")
    quantity.fill("3")
    quantity.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 375.00")
    expect(page.locator("[data-test=tax]")).to_have_text("KES 24.83")
    expect(scanner).to_be_focused()
    page.screenshot(path=f"{artifacts_dir}/checkout.png", full_page=True)

    page.keyboard.press("F4")
    expect(page.locator("[data-test=cash-dialog]")).to_be_visible()
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("500")
    expect(page.locator("[data-test=cash-dialog]")).to_contain_text("KES 125.00")
    page.keyboard.press("Enter")

    expect(page.locator("[data-test=change-due]")).to_have_text("KES 125.00")
    sale = Sale.objects.get()
    receipt = page.locator("[data-test=receipt]")
    expect(receipt).to_contain_text(sale.receipt_number)
    expect(receipt).to_contain_text("Milk 500ml")
    expect(scanner).to_be_focused()
    page.screenshot(path=f"{artifacts_dir}/checkout-paid.png", full_page=True)

    assert sale.status == "paid" and sale.total == Decimal("375.00") and sale.change_due == Decimal("125.00")
    assert Payment.objects.get().amount_tendered == Decimal("500.00")
    shop["milk"].refresh_from_db()
    assert shop["milk"].stock_quantity == Decimal(17)

    page.keyboard.press("Enter")
    expect(lines).to_have_count(0)
    expect(page.locator("[data-test=total]")).to_have_text("KES 0.00")


def test_split_tender_cash_then_mpesa_through_the_sandbox(sandbox, browser_page, login, cashier, shop,
                                                          artifacts_dir):
    page = browser_page
    login(page, "cashier")
    page.wait_for_url(f"{sandbox.url}/admin/checkout/")
    page.keyboard.type("1000")
    page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.type(shop["sugar"].barcode)
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 180.00")

    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("100")
    page.fill("#co-cash-amount", "100")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=balance-due]")).to_have_text("KES 80.00")

    page.keyboard.press("F8")
    expect(page.locator("#co-pay-phone")).to_be_focused()
    expect(page.locator("#co-pay-amount")).to_have_value("80.00")
    page.keyboard.type("254708374149")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=pay-waiting]")).to_contain_text("Waiting for the customer")
    page.screenshot(path=f"{artifacts_dir}/checkout-mpesa-waiting.png")

    expect(page.locator("[data-test=done]")).to_contain_text("Paid", timeout=20000)
    receipt = page.locator("[data-test=receipt]")
    expect(receipt).to_contain_text("M-Pesa")
    expect(receipt).to_contain_text("Cash")
    page.screenshot(path=f"{artifacts_dir}/checkout-mpesa-paid.png", full_page=True)

    mpesa = Payment.objects.get(method="mpesa")
    assert mpesa.status == "completed" and mpesa.amount == Decimal("80.00") and mpesa.receipt
    assert mpesa.phone_number == "254708374149"
    assert Sale.objects.get().status == "paid"


def test_keyboard_only_search_quantities_discount_limit_and_closing_the_shift(live_server, browser_page, login,
                                                                             cashier, shop):
    page = browser_page
    login(page, "cashier")
    page.wait_for_url(f"{live_server.url}/admin/checkout/")
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    scanner = page.locator("#co-scan")
    expect(scanner).to_be_focused()
    lines = page.locator("[data-test=cart-line]")
    total = page.locator("[data-test=total]")

    page.keyboard.press("F2")
    expect(page.locator("[data-test=search-input]")).to_be_focused()
    page.keyboard.type("sug")
    expect(page.locator("[data-test=search-dialog] .co-result")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(lines).to_have_count(1)
    expect(scanner).to_be_focused()

    page.keyboard.type("milk")  # letters in the scanner: a search by name
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=search-dialog] .co-result")).to_contain_text("Milk 500ml")
    page.keyboard.press("Enter")
    expect(total).to_have_text("KES 245.00")

    page.keyboard.press("+")
    expect(total).to_have_text("KES 310.00")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("-")
    expect(lines).to_have_count(1)
    expect(total).to_have_text("KES 130.00")

    discount = lines.first.locator("input[aria-label^='Discount']")
    discount.fill("15")
    discount.press("Enter")
    # beyond the cashier's cap the till asks for a manager's PIN; Esc keeps the cart as it was
    expect(page.locator("[data-test=pin-dialog]")).to_contain_text("at most 10%")
    expect(page.locator("#co-pin-user")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("[data-test=pin-dialog]")).to_be_hidden()
    expect(discount).to_have_value("0")
    expect(total).to_have_text("KES 130.00")
    expect(scanner).to_be_focused()

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip().startswith("search")
    page.mouse.click(700, 700)  # a click on nothing gives the focus back to the scanner
    expect(scanner).to_be_focused()

    page.keyboard.press("F8")
    expect(page.locator("[data-test=pay-dialog]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("[data-test=pay-dialog]")).to_be_hidden()
    expect(scanner).to_be_focused()

    page.keyboard.press("Delete")
    expect(lines).to_have_count(0)

    page.locator("[data-test=close-shift]").click()
    expect(page.locator("[data-test=counted-cash]")).to_be_focused()
    page.keyboard.type("480")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=variance]")).to_have_text("KES -20.00")
    expect(page.locator("#co-close-done")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#co-float")).to_be_focused()


def test_a_sale_cancelled_behind_the_tills_back_frees_the_cart(live_server, browser_page, login, cashier, manager,
                                                               shop):
    page = browser_page
    login(page, "cashier")
    page.wait_for_url(f"{live_server.url}/admin/checkout/")
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.type(shop["sugar"].barcode)
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 180.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("100")  # not enough: the sale is confirmed, the cash refused
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=cash-dialog]")).to_contain_text("less than the amount to pay")
    page.keyboard.press("Escape")
    expect(page.locator("[data-test=sale-status]")).to_contain_text("Pending payment")

    sale = Sale.objects.get()
    cancel_sale(sale, user=manager, reason="expired")  # what the expiry task does after SALE_PAYMENT_TIMEOUT

    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("200")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=cash-dialog]")).to_contain_text(f"Sale {sale.receipt_number} was cancelled")
    expect(page.locator("[data-test=cash-submit]")).to_be_enabled()  # the refused payment has finished
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 20.00")
    assert [s.status for s in Sale.objects.order_by("pk")] == ["cancelled", "paid"]


def test_lines_appear_in_scan_order_even_when_the_first_lookup_answers_last(live_server, browser_page, login,
                                                                             cashier, shop):
    page = browser_page
    sugar, milk = shop["sugar"], shop["milk"]

    def slow_sugar(route):
        if sugar.barcode in route.request.url:
            page.wait_for_timeout(800)  # the network is slow for the first scan only
        route.continue_()

    login(page, "cashier")
    page.wait_for_url(f"{live_server.url}/admin/checkout/")
    page.keyboard.type("1000")
    page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()
    page.route("**/api/products/barcode/**", slow_sugar)
    for product in (sugar, milk):
        page.keyboard.type(product.barcode)
        page.keyboard.press("Enter")
    lines = page.locator("[data-test=cart-line]")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text(sugar.name)
    expect(lines.nth(1)).to_contain_text(milk.name)
