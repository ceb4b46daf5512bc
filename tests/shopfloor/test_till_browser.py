"""The shop floor at the till, in headless chromium at the two screens shops have (1024x600 and 1366x768):
search "milk" finds every milk, a scale label scans at its weight, a quick key adds produce, and a search
with no match goes back to the scanner. Keyboard and touch."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.catalog.barcodes import gtin_check_digit
from pos.catalog.models import QuickKey, ScaleBarcodeRule
from pos.catalog.services import save_scale_rule
from pos.inventory.services import adjust_stock
from pos.sales.models import Sale
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.factories import CategoryFactory, ProductFactory
from tests.shopfloor.conftest import cashier_at_the_till

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = {"1024x600": (1024, 600), "1366x768": (1366, 768)}
MILKS = ["Brookside Whole Milk 500ml", "Tuzo Fresh Milk 500ml", "Fresha Fresh Milk 1L", "KCC Gold Crown Milk 500ml",
         "Daima UHT Milk 500ml", "Nestle Milk Powder 400g", "Buttermilk 1L"]


@pytest.fixture(params=list(SCREENS))
def screen(request):
    return request.param


@pytest.fixture
def till_page(screen, live_server, cashier):
    """A logged-in cashier's checkout page with a shift open, on `screen`, touch-enabled."""
    width, height = SCREENS[screen]
    with cashier_at_the_till(live_server, width, height) as page:
        yield page


@pytest.fixture
def shelf(manager):
    dairy, produce = CategoryFactory(name="Dairy"), CategoryFactory(name="Fresh Produce")
    made = {name: ProductFactory(name=name, category=dairy, price=Decimal("65.00")) for name in MILKS}
    made["Mumias Sugar 1kg"] = ProductFactory(name="Mumias Sugar 1kg", price=Decimal("180.00"))
    made["Tomatoes"] = ProductFactory(name="Tomatoes", category=produce, unit="kg", plu="4011", barcode=None,
                                      price=Decimal("120.00"), tax_rate=Decimal("0.00"))
    made["Ripe Bananas"] = ProductFactory(name="Ripe Bananas", category=produce, unit="kg", plu="4012", barcode=None,
                                          price=Decimal("110.00"), tax_rate=Decimal("0.00"))
    for product in made.values():
        adjust_stock(product, Decimal(50), user=manager, reason="opening stock")
    return made


def test_search_milk_finds_every_milk(till_page, shelf, screen, artifacts_dir):
    page = till_page
    page.keyboard.type("milk")  # letters in the scanner: a search by name
    page.keyboard.press("Enter")
    results = page.locator("[data-test=search-dialog] .co-result")
    expect(results).to_have_count(len(MILKS))
    for name in MILKS:
        expect(page.locator("[data-test=search-dialog]")).to_contain_text(name)
    page.screenshot(path=f"{artifacts_dir}/shopfloor-search-milk-{screen}.png")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the second milk, by keyboard
    expect(page.locator("[data-test=cart-line]")).to_have_count(1)
    expect(page.locator("#co-scan")).to_be_focused()
    # by touch: open the search with its button, tap a result
    page.locator("#co-scan").fill("fresh milk")
    page.keyboard.press("Enter")
    expect(results).to_have_count(2)
    results.first.tap()
    expect(page.locator("[data-test=cart-line]")).to_have_count(2)


def test_a_search_with_no_match_goes_back_to_the_scanner(till_page, shelf):
    page = till_page
    page.keyboard.type("xylophone")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text('No product matches "xylophone"')
    expect(page.locator("[data-test=search-dialog]")).to_be_hidden()
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.type(shelf["Mumias Sugar 1kg"].barcode)  # the next scan is not swallowed
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=cart-line]")).to_have_count(1)


def test_a_scale_label_scans_at_its_weight(till_page, shelf):
    save_scale_rule(ScaleBarcodeRule(name="Scale: weight in grams", prefix="20", item_digits=5, value_kind="weight",
                                     value_digits=5, value_decimals=3))
    body = "20" + "04011" + "01250"  # tomatoes, 1.250 kg
    page = till_page
    page.keyboard.type(body + gtin_check_digit(body))
    page.keyboard.press("Enter")
    line = page.locator("[data-test=cart-line]")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Tomatoes")
    expect(line.locator("[data-test=qty]")).to_have_value("1.25")
    expect(page.locator("[data-test=total]")).to_have_text("KES 150.00")  # 1.25 kg at 120.00


def test_a_quick_key_adds_produce_by_touch_and_by_keyboard(till_page, shelf, screen, artifacts_dir):
    QuickKey.objects.create(product=shelf["Tomatoes"], position=1, colour="red", label="Nyanya")
    QuickKey.objects.create(product=shelf["Ripe Bananas"], position=2, colour="yellow")
    page = till_page
    page.reload()
    expect(page.locator("#co-scan")).to_be_focused()
    tile = page.locator(f"[data-test=quick-key-{shelf['Tomatoes'].pk}]")
    expect(tile).to_be_visible()
    expect(tile).to_contain_text("Nyanya")
    page.screenshot(path=f"{artifacts_dir}/shopfloor-quick-keys-{screen}.png")
    tile.tap()
    lines = page.locator("[data-test=cart-line]")
    expect(lines).to_have_count(1)
    expect(lines).to_contain_text("Tomatoes")
    expect(page.locator("#co-scan")).to_be_focused()  # back to the scanner after a touch
    page.keyboard.press("Alt+2")
    expect(lines).to_have_count(2)
    expect(lines.nth(1)).to_contain_text("Ripe Bananas")
    expect(page.locator("[data-test=total]")).to_have_text("KES 230.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 270.00")
    assert Sale.objects.get().status == "paid"


def test_the_swahili_till_completes_a_sale(till_page, shelf, screen, artifacts_dir):
    page = till_page
    page.select_option("[data-test=language]", "sw")  # the cashier's own language, kept in their session
    expect(page.locator("[data-test=shift-info]")).to_contain_text("Zamu")
    expect(page.locator("label[for=co-scan]")).to_contain_text("Changanua au andika msimbo")
    expect(page.locator("[data-test=totals]")).to_contain_text("Jumla")
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.type("zzzz")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text('Hakuna bidhaa inayolingana na "zzzz"')
    page.keyboard.type(shelf["Mumias Sugar 1kg"].barcode)
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 180.00")
    page.keyboard.press("F4")
    expect(page.locator("[data-test=cash-dialog]")).to_contain_text("Pesa alizotoa mteja")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("200")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=done]")).to_contain_text("Imelipwa")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 20.00")
    page.screenshot(path=f"{artifacts_dir}/shopfloor-swahili-paid-{screen}.png")
    sale = Sale.objects.get()
    assert sale.status == "paid" and sale.total == Decimal("180.00")
    page.reload()  # the choice stays for this user's session
    expect(page.locator("label[for=co-scan]")).to_contain_text("Changanua")


def test_discount_shortcut_quick_cash_stock_warning_and_units(till_page, shelf, manager):
    from pos.inventory.services import adjust_stock as adjust

    page = till_page
    soap = ProductFactory(name="Geisha Soap", price=Decimal("100.00"))
    adjust(soap, Decimal(2), user=manager, reason="opening")
    page.keyboard.type(soap.barcode)
    page.keyboard.press("Enter")
    line = page.locator("[data-test=cart-line]").first
    expect(line.locator("[data-test=qty]")).to_have_value("1")  # pieces: no needless decimals
    expect(line.locator("[data-test=unit]")).to_be_hidden()
    page.keyboard.press("+")
    expect(line.locator("[data-test=stock-warning]")).to_be_hidden()  # 2 of 2: fine
    page.keyboard.press("+")
    expect(line.locator("[data-test=stock-warning]")).to_have_text("Only 2 pcs in stock")  # at once, before Pay
    page.keyboard.press("-")
    expect(line.locator("[data-test=stock-warning]")).to_be_hidden()

    save_scale_rule(ScaleBarcodeRule(name="Scale: weight in grams", prefix="20", item_digits=5, value_kind="weight",
                                     value_digits=5, value_decimals=3))
    body = "20" + "04011" + "00750"
    page.keyboard.type(body + gtin_check_digit(body))
    page.keyboard.press("Enter")
    tomatoes = page.locator("[data-test=cart-line]").nth(1)
    expect(tomatoes.locator("[data-test=qty]")).to_have_value("0.75")
    expect(tomatoes.locator("[data-test=unit]")).to_have_text("kg")
    expect(page.locator("[data-test=total]")).to_have_text("KES 290.00")

    page.keyboard.press("F6")  # the order discount, one key away
    expect(page.locator("#co-order-discount")).to_be_focused()
    page.keyboard.type("10")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 261.00")
    expect(page.locator("#co-scan")).to_be_focused()

    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    quick = page.locator("[data-test=quick-cash] button")
    expect(quick).to_have_text(["Exact", "500", "1,000"])
    page.locator("[data-test=quick-cash-500]").tap()
    expect(page.locator("[data-test=cash-given]")).to_have_value("500.00")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 239.00")


def test_the_login_page_focuses_the_username(live_server):
    import shutil

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 600})
        page.goto(f"{live_server.url}/admin/login/")
        expect(page.locator("#id_username")).to_be_focused()
        page.keyboard.type("cashier")  # typing goes straight into it
        expect(page.locator("#id_username")).to_have_value("cashier")
        browser.close()
