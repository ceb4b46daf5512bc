"""The till's money in a real (headless) Debian chromium at 1024x600, keyboard only: whole shillings
by M-Pesa in one go, the change of the last tender, a cash refund with a manager's PIN in the Z report,
a partly paid sale resumed in another browser, a lost answer followed by a cart edit."""

import shutil
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.accounts.pins import set_pin
from pos.payments.models import Payment
from pos.payments.services import pay_cash
from pos.sales.models import Sale
from pos.sales.services import LineRequest, create_sale, open_shift
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SMALL = {"width": 1024, "height": 600}


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def small_page(chromium):
    context = chromium.new_context(viewport=SMALL)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


@pytest.fixture
def rice(manager, shop):
    from pos.inventory.services import adjust_stock

    product = ProductFactory(name="Rice (loose)", price=Decimal("140.00"), unit="kg")
    adjust_stock(product, Decimal(20), user=manager, reason="opening stock")
    return product


def start(page, live_server, login, opening="1000"):
    login(page, "cashier")
    page.wait_for_url(f"{live_server.url}/admin/checkout/")
    if opening is not None:
        expect(page.locator("#co-float")).to_be_focused()
        page.keyboard.type(opening)
        page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()


def scan(page, product):
    page.keyboard.type(product.barcode)
    page.keyboard.press("Enter")


def tab_to(page, is_there, most=8):
    """Press Tab until the focused element is the one wanted (keyboard only, whatever sits in between)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(is_there):
            return
    raise AssertionError(f"Tab never reached {is_there}")


AMOUNT = "document.activeElement.id === 'co-cash-amount'"


def line_discount(name):
    """The focused element is the discount field of the line `name` (whichever way Tab went there)."""
    return f"(document.activeElement.getAttribute('aria-label') || '') === 'Discount % on {name}'"


def in_view(page, selector):
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= SMALL["height"]


def test_discounts_and_weighed_goods_paid_by_mpesa_in_one_go_with_no_cents_left(sandbox, small_page, login, cashier,
                                                                               shop, rice, artifacts_dir):
    page = small_page
    start(page, sandbox, login)
    scan(page, shop["sugar"])
    scan(page, rice)
    lines = page.locator("[data-test=cart-line]")
    expect(lines).to_have_count(2)
    rice_total = lines.nth(1).locator("[data-test=line-total]")
    expect(rice_total).to_contain_text("140.00")  # priced by the server: the cashier sees it, then edits
    page.keyboard.press("F3")  # the selected line: rice
    page.keyboard.type("0,333")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text("not a comma")
    page.keyboard.press("F3")
    page.keyboard.type("0.333")
    tab_to(page, line_discount("Rice (loose)"), most=16)  # past "+", to the line's discount
    expect(rice_total).to_contain_text("46.62")  # the cashier sees the weighed price before typing on
    page.keyboard.type("10")
    page.keyboard.press("Enter")
    expect(rice_total).to_contain_text("41.96")
    page.keyboard.press("ArrowUp")  # sugar
    page.keyboard.press("F3")
    tab_to(page, line_discount("Sugar 1kg"), most=16)
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    # rice 0.333 kg = 46.62 - 10% (4.66) = 41.96; sugar 180 - 5% (9.00) = 171.00: 212.96 of lines
    expect(page.locator("[data-test=rounding]")).to_have_text("KES 0.04")
    expect(page.locator("[data-test=total]")).to_have_text("KES 213.00")
    assert in_view(page, "[data-test=total]") and in_view(page, "[data-test=pay-cash]")
    assert in_view(page, "[data-test=pay-mpesa]")
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-cart.png")

    page.keyboard.press("F8")
    expect(page.locator("#co-pay-phone")).to_be_focused()
    expect(page.locator("#co-pay-amount")).to_have_value("213.00")
    page.keyboard.type("0708374149")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=done]")).to_be_visible(timeout=20000)
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-mpesa-paid.png")
    sale = Sale.objects.get()
    assert sale.status == "paid" and sale.total == Decimal("213.00") and sale.rounding == Decimal("0.04")
    assert sale.paid_amount == sale.total and sale.balance_due == 0
    assert [(p.method, p.amount) for p in Payment.objects.all()] == [("mpesa", Decimal("213.00"))]


def test_split_with_cash_first_shows_only_the_last_change(live_server, small_page, login, cashier, shop,
                                                         artifacts_dir):
    page = small_page
    start(page, live_server, login)
    for _ in range(5):
        scan(page, shop["sugar"])
    expect(page.locator("[data-test=total]")).to_have_text("KES 900.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("1000")
    tab_to(page, AMOUNT)
    page.keyboard.press("Control+a")
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text("give KES 500.00 change now")
    expect(page.locator("[data-test=balance-due]")).to_have_text("KES 400.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("410")
    page.keyboard.press("Enter")
    done = page.locator("[data-test=done]")
    expect(done).to_be_visible()
    expect(page.locator("[data-test=change-label]")).to_have_text("Change of the last cash tender")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 10.00")
    expect(done).not_to_contain_text("510")
    expect(page.locator("[data-test=receipt]")).to_contain_text("Change (last cash tender)")
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-split-paid.png")
    assert Sale.objects.get().change_due == Decimal("510.00")  # the books hold all the change


def test_a_return_refunded_in_cash_with_a_managers_pin_at_a_cashiers_till_is_in_the_z(live_server, small_page, login,
                                                                                     cashier, manager, shop,
                                                                                     artifacts_dir):
    manager.set_password("pass12345")
    manager.save()
    set_pin(manager, password="pass12345", pin="4826")
    open_shift(cashier, Decimal("1000"))
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal(2), product=shop["sugar"].pk)])
    pay_cash(sale, amount_tendered=Decimal("400"), user=cashier)
    page = small_page
    start(page, live_server, login, opening=None)

    page.keyboard.press("F10")
    expect(page.locator("#co-return-receipt")).to_be_focused()
    page.keyboard.type(sale.receipt_number)
    page.keyboard.press("Enter")
    first_qty = page.locator("[data-test=return-qty]").first
    expect(first_qty).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    expect(page.locator("#co-pin-user")).to_be_focused()
    page.keyboard.type("manager")
    page.keyboard.press("Tab")
    page.keyboard.type("4826")
    page.keyboard.press("Enter")
    result = page.locator("[data-test=return-result]")
    expect(result).to_contain_text("Cash refund KES 180.00")
    expect(result).to_contain_text("Completed")
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-return.png")
    page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()

    page.locator("[data-test=close-shift]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=counted-cash]")).to_be_focused()
    page.keyboard.type("1180")  # 1000 float + 360 sales - 180 refund
    page.keyboard.press("Enter")
    z = page.locator("[data-test=z-report]")
    expect(page.locator("[data-test=z-cash-refunds]")).to_have_text("KES 180.00")
    expect(page.locator("[data-test=variance]")).to_have_text("KES 0.00")
    expect(page.locator("[data-test=net-vat]")).to_have_text("KES 24.83")  # 49.66 on sales - 24.83 returned
    expect(z.locator("[data-test=z-pdf]")).to_be_visible()
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-z.png", full_page=True)


def test_a_partly_paid_sale_is_resumed_in_a_second_browser(live_server, chromium, login, cashier, shop,
                                                           artifacts_dir):
    first = chromium.new_context(viewport=SMALL).new_page()
    start(first, live_server, login)
    scan(first, shop["sugar"])
    scan(first, shop["sugar"])
    first.keyboard.press("F4")
    expect(first.locator("#co-cash-given")).to_be_focused()
    first.keyboard.type("100")
    tab_to(first, AMOUNT)
    first.keyboard.press("Control+a")
    first.keyboard.type("100")
    first.keyboard.press("Enter")
    expect(first.locator("[data-test=balance-due]")).to_have_text("KES 260.00")

    second = chromium.new_context(viewport=SMALL).new_page()  # another browser: nothing in its storage
    start(second, live_server, login, opening=None)
    expect(second.locator("[data-test=cart-line]")).to_have_count(0)
    second.keyboard.press("F1")
    expect(second.locator("[data-test=open-sale]")).to_have_count(1)
    expect(second.locator("[data-test=open-sale]")).to_contain_text("KES 260.00")
    second.keyboard.press("Enter")
    expect(second.locator("[data-test=balance-due]")).to_have_text("KES 260.00")
    expect(second.locator("[data-test=cart-line]")).to_have_count(1)
    second.keyboard.press("F4")
    expect(second.locator("#co-cash-given")).to_be_focused()
    second.keyboard.type("300")
    second.keyboard.press("Enter")
    expect(second.locator("[data-test=change-due]")).to_have_text("KES 40.00")
    second.screenshot(path=f"{artifacts_dir}/till-1024x600-resumed.png")
    assert Sale.objects.get().status == "paid"


def test_a_lost_answer_then_a_cart_edit_offers_to_resume_the_sale_the_server_made(live_server, small_page, login,
                                                                                  cashier, shop, artifacts_dir):
    page = small_page
    start(page, live_server, login)
    scan(page, shop["sugar"])
    expect(page.locator("[data-test=total]")).to_have_text("KES 180.00")
    lost = {"done": False}

    def lose_the_answer(route):
        if route.request.method == "POST" and not lost["done"]:
            lost["done"] = True
            route.fetch()  # the server makes the sale and takes the cash...
            route.fulfill(status=502, body="Bad gateway")  # ...and a proxy loses its answer
        else:
            route.continue_()

    page.route("**/api/sales/sales/?receipt=1", lose_the_answer)
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("200")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=cash-dialog]")).to_contain_text("HTTP 502")
    expect(page.locator("[data-test=cash-submit]")).to_be_enabled()  # no button stays disabled
    page.keyboard.press("Escape")
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.press("+")  # the cashier changes the cart
    expect(page.locator("[data-test=total]")).to_have_text("KES 360.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("400")
    page.keyboard.press("Enter")
    conflict = page.locator("[data-test=conflict-dialog]")
    made = Sale.objects.get()
    expect(conflict).to_contain_text(made.receipt_number)
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-conflict.png")
    expect(page.locator("#co-conflict-resume")).to_be_focused()
    page.keyboard.press("Enter")  # resume the sale the server made (1 sugar, already paid in cash)
    expect(page.locator("[data-test=done]")).to_contain_text("Paid")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 20.00")
    assert Sale.objects.count() == 1 and Payment.objects.count() == 1 and made.total == Decimal("180.00")


def test_cash_in_and_out_and_a_refund_approved_with_a_pin_at_the_till_are_in_the_z(live_server, small_page, login,
                                                                                   cashier, manager, admin_user,
                                                                                   shop, settings, artifacts_dir):
    from pos.payments.services import request_refund
    from pos.sales.services import return_items

    settings.REFUND_APPROVAL_THRESHOLD = Decimal("100")
    settings.CASH_OUT_AUTHORISATION_LIMIT = Decimal("2000")
    manager.set_password("pass12345")
    manager.save()
    set_pin(manager, password="pass12345", pin="4826")
    shift = open_shift(cashier, Decimal("3000"))
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal(2), product=shop["sugar"].pk)])
    cash = pay_cash(sale, amount_tendered=Decimal("360"), user=cashier)
    sale_return = return_items(sale, [(sale.items.get().pk, "1")], admin_user, "torn bag")
    refund, _ = request_refund(cash, Decimal("180.00"), "torn bag", admin_user, sale_return=sale_return,
                               drawer_shift=shift)
    assert refund.status == "pending_approval"
    page = small_page
    start(page, live_server, login, opening=None)

    page.keyboard.press("Alt+d")
    expect(page.locator("#co-drawer-kind")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("500")
    page.keyboard.press("Tab")
    page.keyboard.type("Coins from the bank")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text("Cash in of KES 500.00 recorded.")
    expect(page.locator("#co-scan")).to_be_focused()

    page.keyboard.press("Alt+d")
    expect(page.locator("#co-drawer-kind")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#co-drawer-kind")).to_have_value("out")
    page.keyboard.press("Tab")
    page.keyboard.type("2100")
    page.keyboard.press("Tab")
    page.keyboard.type("Banking drop")
    page.keyboard.press("Enter")
    expect(page.locator("#co-pin-user")).to_be_focused()  # above the limit: a manager's PIN
    page.keyboard.type("manager")
    page.keyboard.press("Tab")
    page.keyboard.type("4826")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text("Cash out of KES 2,100.00 recorded.")

    page.locator("[data-test=waiting]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=waiting-refund]")).to_have_count(1)
    expect(page.locator("[data-test=waiting-refund]")).to_contain_text("KES 180.00")
    # the dialog puts the cursor on Close on its next frame (which a loaded machine may draw after the rows)
    expect(page.locator("#co-waiting-close")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # from Close to the refund's Approve
    expect(page.locator("[data-test=approve]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#co-pin-user")).to_be_focused()
    page.keyboard.type("manager")
    page.keyboard.press("Tab")
    page.keyboard.type("4826")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=waiting-refund]")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(page.locator("#co-scan")).to_be_focused()  # the dialog closed, back to the scanner

    page.locator("[data-test=close-shift]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=counted-cash]")).to_be_focused()
    page.keyboard.type("1580")  # 3000 float + 360 sales - 180 refund + 500 in - 2100 out
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=z-cash-in]")).to_have_text("KES 500.00")
    expect(page.locator("[data-test=z-cash-out]")).to_have_text("KES 2,100.00")
    expect(page.locator("[data-test=z-cash-refunds]")).to_have_text("KES 180.00")
    expect(page.locator("[data-test=variance]")).to_have_text("KES 0.00")
    page.screenshot(path=f"{artifacts_dir}/till-1024x600-drawer-z.png", full_page=True)
