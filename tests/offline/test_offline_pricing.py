"""The offline till prices a cart exactly as the server does: the same carts priced by the server's service
(pos.sales.services.price_cart) and by the offline till's JavaScript (till.js priceCart) in Debian's chromium
give the same figures to the cent, or the same refusal; a sale made offline therefore syncs without a flag."""

import shutil
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pos.core.errors import ServiceError
from pos.core.money import ZERO
from pos.inventory.services import adjust_stock
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import LineRequest, open_shift, price_cart
from pos.tills.models import OfflineSale
from pos.tills.services import pricing_rules
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def goods(manager):
    def make(name, price, tax, unit="pcs"):
        product = ProductFactory(name=name, price=Decimal(price), tax_rate=Decimal(tax), unit=unit,
                                 cost_price=Decimal("1.00"))
        adjust_stock(product, Decimal(100), user=manager, reason="opening stock")
        return product
    return {
        "sugar": make("Sugar 1kg", "180.00", "16.00"),
        "milk": make("Milk 500ml", "65.00", "0.00"),
        "bread": make("Bread 400g", "65.00", "0.00"),
        "eggs": make("Eggs tray", "65.00", "0.00"),
        "beef": make("Beef", "749.00", "16.00", "kg"),
        "tomatoes": make("Tomatoes", "119.99", "0.00", "kg"),
        "soap": make("Soap bar", "33.33", "16.00"),
        "paraffin": make("Paraffin 1l", "157.50", "8.00", "l"),
        "sweet": make("Sweet", "0.40", "16.00"),
    }


# (lines [(product, quantity, {"discount_percent": ..} or {"discount": ..})], order {"percent"|"amount": ..})
CARTS = [
    ([("sugar", "2", {}), ("milk", "1", {})], {}),
    ([("beef", "1.234", {})], {}),  # weighed: 924.266 -> 924.27
    ([("beef", "0.5555", {})], {}),  # a fourth decimal of weight rounds half-up to the gram
    ([("soap", "3", {"discount_percent": "7.5"})], {}),  # 7.49925 rounds DOWN to 7.49
    ([("tomatoes", "0.333", {"discount_percent": "3.33"})], {}),
    ([("tomatoes", "0.755", {}), ("soap", "1", {}), ("sugar", "1", {})], {"percent": "5"}),
    ([("paraffin", "2.5", {"discount_percent": "1"}), ("beef", "0.75", {"discount": "5.55"})], {"percent": "2.5"}),
    ([("sugar", "1", {"discount": "18.00"})], {}),  # exactly the cashier's 10%
    ([("sugar", "1", {"discount": "18.01"})], {}),  # one cent over the cap
    ([("sugar", "1", {"discount_percent": "6"})], {"percent": "5"}),  # each under 10%, together over
    ([("sugar", "1", {"discount_percent": "5"})], {"percent": "5"}),  # 9.00 + 8.55 = 17.55: allowed
    ([("sugar", "1", {"discount": "9.00"})], {"amount": "9.00"}),  # 18.00: at the cap
    ([("sugar", "1", {"discount": "9.00"})], {"amount": "9.01"}),  # 18.01: over
    ([("soap", "3", {"discount": "10.00"})], {}),  # cap of 99.99 is 9.999 -> 10.00: allowed
    ([("soap", "3", {"discount": "10.01"})], {}),
    ([("milk", "1", {}), ("bread", "1", {}), ("eggs", "1", {})], {"amount": "0.02"}),  # ties: earlier first
    ([("milk", "1", {}), ("bread", "2", {}), ("eggs", "1", {})], {"amount": "0.07"}),
    ([("sweet", "1", {})], {}),  # 0.40 never rounds to nothing: one step
    ([("sweet", "3", {}), ("tomatoes", "0.004", {})], {}),
    ([("sugar", "1", {"discount_percent": "100"})], {}),  # a manager's free item: nothing to round
    ([("sugar", "1.5", {})], {}),  # sugar is sold in whole pieces
    ([("sugar", "1", {"discount_percent": "100.01"})], {}),
    ([("sugar", "1", {"discount": "180.01"})], {}),
    ([("milk", "1", {})], {"amount": "65.01"}),
    ([("beef", "2.718", {"discount_percent": "2.5"}), ("paraffin", "3.333", {}), ("soap", "7", {})],
     {"percent": "3.75"}),
]

JS_PRICES = """([carts, pricing]) => carts.map(([lines, order]) => {
  const m = window.dukaTill.money;
  try {
    const c = window.dukaTill.priceCart(lines, order, pricing);
    return {lines: c.lines.map((l) => [m(l.gross), m(l.discount), m(l.orderShare), m(l.total), m(l.tax)]),
            subtotal: m(c.subtotal), discount: m(c.discount), order_discount: m(c.orderDiscount), tax: m(c.tax),
            rounding: m(c.rounding), total: m(c.total)};
  } catch (err) {
    if (!(err instanceof window.dukaTill.PriceError)) throw err;
    return {error: err.code};
  }
})"""


def cents(value):
    return f"{value:.2f}"


def server_prices(goods, lines, order, user):
    requests = [LineRequest(Decimal(quantity), product=goods[name].pk,
                            discount=Decimal(extra.get("discount", "0")), discount_percent=extra.get("discount_percent"))
                for name, quantity, extra in lines]
    try:
        cart = price_cart(requests, Decimal(order.get("amount", ZERO)), user,
                          order_discount_percent=order.get("percent"))
    except ServiceError as error:
        return {"error": error.code}
    return {"lines": [[cents(line.gross), cents(line.discount), cents(line.order_discount), cents(line.total),
                       cents(line.tax)] for line in cart.lines],
            "subtotal": cents(cart.subtotal), "discount": cents(cart.discount),
            "order_discount": cents(cart.order_discount), "tax": cents(cart.tax), "rounding": cents(cart.rounding),
            "total": cents(cart.total)}


def js_cart(goods, lines, order):
    return [[{"name": goods[name].name, "price": f"{goods[name].price}", "tax_rate": f"{goods[name].tax_rate}",
              "unit": goods[name].unit, "quantity": quantity, **extra} for name, quantity, extra in lines], order]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(15000)
        yield page
        browser.close()


def log_in(page, base, username):
    page.goto(f"{base}/admin/login/?next=/admin/checkout/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass12345")
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{base}/admin/checkout/")
    page.wait_for_function("() => window.dukaTill && window.dukaTill.state.catalogueDone")


@pytest.mark.parametrize("step,rule", [("1", "nearest"), ("1", "down"), ("5", "nearest"), ("5", "down")])
def test_offline_till_prices_every_cart_as_the_server_does(live_server, page, settings, goods, cashier, manager,
                                                           step, rule):
    settings.CASH_ROUNDING_STEP, settings.CASH_ROUNDING_RULE = Decimal(step), rule
    log_in(page, live_server.url, "cashier")
    carts = [js_cart(goods, lines, order) for lines, order in CARTS]
    for user in (cashier, manager):
        expected = [server_prices(goods, lines, order, user) for lines, order in CARTS]
        priced = page.evaluate(JS_PRICES, [carts, pricing_rules(user)])
        for n, (server, till) in enumerate(zip(expected, priced, strict=True)):
            assert till == server, f"cart {n} {CARTS[n]} for {user.username}"
    # without the server's rules (a page cached before they existed) the till refuses to guess them
    assert page.evaluate(JS_PRICES, [carts[:1], None]) == [{"error": "no_pricing"}]
    # the vectors reach what they are meant to: roundings both ways, refusals, and the cap only for a cashier
    refused = {n for n, (lines, order) in enumerate(CARTS) if "error" in server_prices(goods, lines, order, cashier)}
    assert refused == {8, 9, 12, 14, 19, 20, 21, 22, 23}
    refused_for_manager = {n for n, (lines, order) in enumerate(CARTS)
                           if "error" in server_prices(goods, lines, order, manager)}
    assert refused_for_manager == {20, 21, 22, 23}
    roundings = {server_prices(goods, *CARTS[n], cashier)["rounding"] for n in (1, 3, 17)}
    assert len(roundings) == 3 and "0.00" not in roundings


RECORD = """async ([lines, order, payment]) => {
  const till = window.dukaTill;
  const items = [];
  for (const [id, quantity, percent] of lines) {
    const p = await till.product(id);
    items.push({product: p.id, name: p.name, price: p.price, tax_rate: p.tax_rate, unit: p.unit, quantity,
                discount_percent: percent});
  }
  const total = till.money(till.priceCart(items, {percent: order}, till.state.pricing).total);
  const pay = payment.cash ? {method: "cash", amount: total, amount_tendered: payment.cash}
                           : {method: "mpesa", amount: total, code: payment.mpesa};
  const sale = await till.recordSale({lines: items, orderPercent: order, payments: [pay]});
  return {receipt: sale.receipt, total: sale.total, tax: sale.tax, rounding: sale.rounding, change: sale.change,
          items: sale.items.map((i) => [i.quantity, i.discount, i.total])};
}"""


def test_offline_sales_with_rounding_and_discounts_sync_unflagged(live_server, page, settings, goods, cashier):
    settings.CASH_ROUNDING_STEP, settings.CASH_ROUNDING_RULE = Decimal(5), "nearest"
    settings.OFFLINE_HEARTBEAT_SECONDS = 1
    open_shift(cashier, Decimal("1000.00"))
    log_in(page, live_server.url, "cashier")
    page.wait_for_function("() => window.dukaTill.state.numbersLeft > 0")
    # the rules came from the server with the catalogue (here: 5-shilling steps, nearest)
    assert page.evaluate("() => window.dukaTill.state.pricing") == pricing_rules(cashier)
    assert page.evaluate("() => window.dukaTill.state.pricing.rounding_step") == "5"
    page.context.set_offline(True)
    expect(page.locator("[data-test=till-online]")).to_have_text("Offline")
    g = goods
    sold = [page.evaluate(RECORD, args) for args in [
        [[[g["beef"].pk, "1.234", "0"], [g["sugar"].pk, "1", "5"]], "3", {"cash": "2000.00"}],
        [[[g["soap"].pk, "3", "7.5"], [g["tomatoes"].pk, "0.755", "0"]], "2.5", {"mpesa": "QAB1234567"}],
        [[[g["paraffin"].pk, "2.5", "1"]], "0", {"cash": "400"}],
        [[[g["sweet"].pk, "1", "0"]], "0", {"cash": "10"}],
    ]]
    # 924.27 + 171.00 - 32.85 = 1062.42 -> 1060; 92.50 + 90.59 - 4.57 = 178.52 -> 180; 389.82 -> 390; 0.40 -> 5
    assert [s["rounding"] for s in sold] == ["-2.42", "1.48", "0.18", "4.60"]
    assert [s["total"] for s in sold] == ["1060.00", "180.00", "390.00", "5.00"]
    assert [s["change"] for s in sold] == ["940.00", "0.00", "10.00", "5.00"]
    page.context.set_offline(False)
    expect(page.locator("[data-test=till-unsynced]")).to_have_text("0", timeout=30000)
    for printed in sold:
        sale = Sale.objects.get(receipt_number=printed["receipt"])
        offline = OfflineSale.objects.get(sale=sale)
        assert (cents(sale.total), cents(sale.tax), cents(sale.rounding)) == (
            printed["total"], printed["tax"], printed["rounding"])
        assert [[f"{i.quantity}", cents(i.discount), cents(i.total)]
                for i in sale.items.order_by("pk")] == printed["items"]
        # nothing flagged but the M-Pesa code typed offline, which waits for the M-Pesa register
        assert offline.price_changed is False
        assert offline.needs_attention is offline.unconfirmed_mpesa is (printed["change"] == "0.00")
        assert [n for n in offline.notes.splitlines() if "typed by the cashier" not in n] == []
        cash = Payment.objects.filter(sale=sale, method="cash").first()
        if cash:
            assert cents(cash.change_given) == printed["change"]
