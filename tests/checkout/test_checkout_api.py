"""The checkout page's JSON endpoints, through Django's test client (session login, CSRF, roles)."""

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import LineRequest, create_sale
from tests.checkout.helpers import cart, pay, post
from tests.conftest import client_for
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


# --- the page and who may use it -----------------------------------------------------------------------

def test_cashier_lands_on_the_checkout_after_login(cashier):
    response = client_for(cashier).get("/admin/")
    assert response.status_code == 302 and response.url == reverse("checkout:page")


def test_manager_keeps_the_dashboard_and_may_open_the_checkout(manager):
    client = client_for(manager)
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("checkout:page")).status_code == 200


def test_page_shows_scanner_shortcuts_and_no_shift_state(cashier):
    response = client_for(cashier).get(reverse("checkout:page"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="co-scan"' in html and "search products by name" in html
    assert "pos/checkout.js" in html and "unfold/js/alpine/alpine.js" in html
    config = response.context["config"]
    assert config["shift"] is None and config["max_discount"] == "10"


def test_anonymous_is_sent_to_the_admin_login():
    response = Client().get(reverse("checkout:page"))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_bookkeeper_is_refused_page_and_endpoints(bookkeeper, shop):
    client = client_for(bookkeeper)
    assert client.get(reverse("checkout:page")).status_code == 403
    response = post(client, "price", cart((shop["sugar"], "1", "0")))
    assert response.status_code == 403 and "may not use the checkout" in response.json()["error"]
    response = post(client, "sales", cart((shop["sugar"], "1", "0")), key="k-bookkeeper")
    assert response.status_code == 403 and Sale.objects.count() == 0


def test_posts_need_the_csrf_token(cashier, shop, open_shift_for):
    open_shift_for(cashier)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cashier)
    body = json.dumps(cart((shop["sugar"], "1", "0")))
    refused = client.post(reverse("checkout:sales"), body, content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY="k-csrf")
    assert refused.status_code == 403 and Sale.objects.count() == 0
    client.get(reverse("checkout:page"))
    token = client.cookies["csrftoken"].value
    accepted = client.post(reverse("checkout:sales"), body, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="k-csrf", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201 and Sale.objects.count() == 1


# --- scanning and search -------------------------------------------------------------------------------

def test_scan_finds_the_product_by_barcode(till, shop):
    sugar = shop["sugar"]
    response = till.get(reverse("checkout:scan"), {"code": sugar.barcode})
    assert response.status_code == 200
    assert response.json()["product"] == {"id": sugar.pk, "name": "Sugar 1kg", "barcode": sugar.barcode,
                                          "sku": sugar.sku, "price": "180.00", "unit": "pcs", "stock": "20"}


def test_scan_of_an_unknown_or_inactive_code_is_a_clear_400(till, manager):
    response = till.get(reverse("checkout:scan"), {"code": "6161234567890"})
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown barcode 6161234567890: no product for sale has it.",
                               "field": "code", "code": "unknown_barcode"}
    retired = ProductFactory(name="Old soap", is_active=False)
    assert till.get(reverse("checkout:scan"), {"code": retired.barcode}).status_code == 400


def test_search_by_any_word_any_case_at_most_20(till, django_assert_max_num_queries):
    ProductFactory.create_batch(25, name="Soda 300ml")
    ProductFactory(name="Sugar 2kg")
    ProductFactory(name="Brown sugar")
    with django_assert_max_num_queries(4):
        response = till.get(reverse("checkout:search"), {"q": "soda"})
    assert len(response.json()["results"]) == 20
    names = [r["name"] for r in till.get(reverse("checkout:search"), {"q": "SUGAR"}).json()["results"]]
    assert names == ["Sugar 2kg", "Brown sugar"]  # the name starting with it first
    assert till.get(reverse("checkout:search"), {"q": "s"}).json()["results"] == []


# --- pricing ---------------------------------------------------------------------------------------------

def test_price_cart_gives_the_totals_the_sale_will_have(till, cashier, shop):
    body = cart((shop["sugar"], "2", "5"), (shop["milk"], "3", "0"), (shop["rice"], "0.75", "0"),
                discount_percent="2")
    priced = post(till, "price", body).json()
    assert priced["subtotal"] == "660.00"  # 360 + 195 + 105
    assert [line["discount"] for line in priced["lines"]] == ["18.00", "0.00", "0.00"]
    assert priced["discount"] == "30.84"  # 18 + 2% of 642
    # 629.16 of lines, paid in whole shillings: a rounding line of -0.16 (CASH_ROUNDING_STEP 1, nearest)
    assert priced["rounding"] == "-0.16" and priced["total"] == "629.00"
    assert priced["lines"][2]["quantity"] == "0.75"
    sale = post(till, "sales", body, key="k-same-numbers").json()["sale"]
    assert (sale["subtotal"], sale["discount"], sale["tax"], sale["total"]) == (
        priced["subtotal"], priced["discount"], priced["tax"], priced["total"])


def test_price_of_an_empty_cart_is_zero(till):
    assert post(till, "price", {"items": []}).json()["total"] == "0.00"


def test_pricing_takes_the_same_queries_for_1_or_40_lines(till, django_assert_max_num_queries):
    products = ProductFactory.create_batch(40)
    with django_assert_max_num_queries(6) as one:
        post(till, "price", cart((products[0], "1", "0")))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = post(till, "price", cart(*[(p, "2", "1") for p in products]))
    assert len(response.json()["lines"]) == 40


@pytest.mark.parametrize("quantity, message", [
    ("0", "quantity must be greater than zero"),
    ("-1", "quantity must be greater than zero"),
    ("1.5", "sold in whole pieces"),
    ("abc", "is not a number"),
])
def test_bad_quantities_are_refused_with_a_message(till, shop, quantity, message):
    response = post(till, "price", cart((shop["sugar"], quantity, "0")))
    assert response.status_code == 400 and message in response.json()["error"]


def test_cashier_discount_limit_is_enforced_by_the_server(till, manager, shop):
    over = post(till, "price", cart((shop["sugar"], "1", "15")))
    assert over.status_code == 400
    assert over.json()["code"] == "discount_not_allowed" and "at most 10%" in over.json()["error"]
    at_limit = post(till, "price", cart((shop["sugar"], "1", "10")))
    assert at_limit.json()["total"] == "162.00"
    order_over = post(till, "price", cart((shop["sugar"], "1", "0"), discount_percent="12"))
    assert order_over.status_code == 400 and order_over.json()["field"] == "discount"
    refused = post(till, "sales", cart((shop["sugar"], "1", "15")), key="k-too-generous")
    assert refused.status_code == 400 and Sale.objects.count() == 0
    assert post(client_for(manager), "price", cart((shop["sugar"], "1", "15"))).json()["total"] == "153.00"


# --- charging ---------------------------------------------------------------------------------------------

def test_charge_is_idempotent_per_cart_key(till, shop):
    body = cart((shop["sugar"], "2", "0"))
    first = post(till, "sales", body, key="cart-1")
    again = post(till, "sales", body, key="cart-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["sale"]["id"] == again.json()["sale"]["id"] and Sale.objects.count() == 1
    shop["sugar"].refresh_from_db()
    assert shop["sugar"].stock_quantity == Decimal(18)
    conflict = post(till, "sales", cart((shop["sugar"], "3", "0")), key="cart-1")
    assert conflict.status_code == 409 and Sale.objects.count() == 1


def test_charge_needs_an_idempotency_key_and_an_open_shift(cashier, shop):
    client = client_for(cashier)
    no_key = post(client, "sales", cart((shop["sugar"], "1", "0")))
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"
    no_shift = post(client, "sales", cart((shop["sugar"], "1", "0")), key="k-no-shift")
    assert no_shift.status_code == 400 and no_shift.json()["error"] == "Open a shift before selling."
    assert Sale.objects.count() == 0


def test_not_enough_stock_is_a_400_and_nothing_is_written(till, shop):
    response = post(till, "sales", cart((shop["milk"], "1", "0"), (shop["sugar"], "21", "0")), key="k-stock")
    assert response.status_code == 400 and "Not enough stock for Sugar 1kg" in response.json()["error"]
    shop["milk"].refresh_from_db()
    assert Sale.objects.count() == 0 and shop["milk"].stock_quantity == Decimal(20)


def test_cash_payment_gives_change_and_marks_the_sale_paid(till, shop):
    sale = post(till, "sales", cart((shop["sugar"], "1", "0"), (shop["milk"], "1", "0")), key="k-cash").json()["sale"]
    assert sale["total"] == "245.00" and sale["status"] == "pending_payment"
    short = pay(till, sale["id"], "t-1", method="cash", amount="245.00", amount_tendered="200")
    assert short.status_code == 400 and "less than the amount to pay" in short.json()["error"]
    paid = pay(till, sale["id"], "t-2", method="cash", amount="245.00", amount_tendered="500").json()
    assert paid["sale"]["status"] == "paid" and paid["sale"]["change_due"] == "255.00"
    assert paid["payment"]["change_given"] == "255.00" and paid["sale"]["balance_due"] == "0.00"
    assert sale["receipt_number"] in paid["sale"]["receipt_text"] and "Change" in paid["sale"]["receipt_text"]


def test_a_double_click_on_take_cash_records_one_payment(till, shop):
    sale = post(till, "sales", cart((shop["sugar"], "1", "0")), key="k-double").json()["sale"]
    first = pay(till, sale["id"], "t-double", method="cash", amount="100.00", amount_tendered="100")
    second = pay(till, sale["id"], "t-double", method="cash", amount="100.00", amount_tendered="100")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["payment"]["id"] == second.json()["payment"]["id"]
    assert Payment.objects.count() == 1 and second.json()["sale"]["balance_due"] == "80.00"


def test_paying_needs_a_key_and_refuses_more_than_is_due(till, shop):
    sale = post(till, "sales", cart((shop["sugar"], "1", "0")), key="k-over").json()["sale"]
    no_key = post(till, "pay", {"method": "cash", "amount": "180.00"}, args=[sale["id"]])
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    over = pay(till, sale["id"], "t-over", method="cash", amount="200.00", amount_tendered="200")
    assert over.status_code == 400 and over.json()["error"] == "Only 180.00 is still due on this sale."
    bad_phone = pay(till, sale["id"], "t-phone", method="mpesa", amount="180", phone_number="12345")
    assert bad_phone.status_code == 400 and bad_phone.json()["field"] == "phone_number"
    assert Payment.objects.count() == 0


def test_part_cash_leaves_the_balance_due(till, shop):
    sale = post(till, "sales", cart((shop["sugar"], "1", "0")), key="k-split").json()["sale"]
    answer = pay(till, sale["id"], "t-part", method="cash", amount="100", amount_tendered="100").json()
    assert answer["sale"]["status"] == "pending_payment" and answer["sale"]["balance_due"] == "80.00"
    assert [p["method"] for p in answer["sale"]["payments"]] == ["cash"]


def test_a_cashier_cannot_touch_another_cashiers_sale(till, other_cashier, shop, open_shift_for):
    open_shift_for(other_cashier)
    theirs, _ = create_sale(cashier=other_cashier, items=[LineRequest(Decimal(1), product=shop["sugar"].pk)])
    response = pay(till, theirs.pk, "t-theirs", method="cash", amount="180", amount_tendered="500")
    assert response.status_code == 400 and response.json()["code"] == "not_found"
    assert till.get(reverse("checkout:sale", args=[theirs.pk])).status_code == 400
    assert till.get(reverse("checkout:receipt-pdf", args=[theirs.pk])).status_code == 400
    assert Payment.objects.count() == 0


def test_receipt_page_and_pdf_of_a_paid_sale(till, shop):
    sale = post(till, "sales", cart((shop["milk"], "2", "0")), key="k-receipt").json()["sale"]
    pay(till, sale["id"], "t-receipt", method="cash", amount="130", amount_tendered="200")
    page = till.get(reverse("checkout:receipt", args=[sale["id"]]))
    assert page.status_code == 200 and sale["receipt_number"] in page.content.decode()
    pdf = till.get(reverse("checkout:receipt-pdf", args=[sale["id"]]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_void_gives_the_stock_back(till, shop):
    sale = post(till, "sales", cart((shop["sugar"], "3", "0")), key="k-void").json()["sale"]
    voided = post(till, "sale-cancel", {}, args=[sale["id"]]).json()["sale"]
    assert voided["status"] == "cancelled"
    shop["sugar"].refresh_from_db()
    assert shop["sugar"].stock_quantity == Decimal(20)


def test_malformed_body_is_a_400(till):
    response = till.post(reverse("checkout:price"), "not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "The request body is not valid JSON."


# --- the shift ---------------------------------------------------------------------------------------------

def test_open_sell_and_close_a_shift_with_the_cash_variance(cashier, shop):
    client = client_for(cashier)
    opened = post(client, "shift-open", {"opening_float": "1000"})
    assert opened.status_code == 201 and opened.json()["shift"]["opening_float"] == "1000.00"
    again = post(client, "shift-open", {"opening_float": "500"})
    assert again.status_code == 400 and again.json()["code"] == "shift_already_open"
    sale = post(client, "sales", cart((shop["sugar"], "1", "0"), (shop["milk"], "1", "0")), key="k-shift").json()["sale"]
    pay(client, sale["id"], "t-shift", method="cash", amount="245", amount_tendered="300")
    x_report = client.get(reverse("checkout:shift")).json()["report"]
    assert x_report["kind"] == "X" and x_report["sales_count"] == 1 and x_report["sales_total"] == "245.00"
    z_report = post(client, "shift-close", {"counted_cash": "1240.00"}).json()["report"]
    cash = next(m for m in z_report["methods"] if m["method"] == "cash")
    assert z_report["kind"] == "Z" and cash["expected"] == "1245.00" and cash["counted"] == "1240.00"
    assert z_report["cash_variance"] == "-5.00"
    assert client.get(reverse("checkout:shift")).json() == {"shift": None, "report": None}
    closed = post(client, "sales", cart((shop["sugar"], "1", "0")), key="k-after-close")
    assert closed.status_code == 400 and closed.json()["code"] == "no_open_shift"


def test_a_shift_with_an_unpaid_sale_does_not_close(till, shop):
    post(till, "sales", cart((shop["sugar"], "1", "0")), key="k-unpaid")
    response = post(till, "shift-close", {"counted_cash": "1000"})
    assert response.status_code == 400 and "waiting for payment" in response.json()["error"]


