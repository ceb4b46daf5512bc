"""What the checkout page does, over the REST API every client uses (session login as in the browser):
one-request checkout, whole shillings, change per tender, lost answers, open sales on any browser,
manager PINs, returns refunded at the till, the X/Z report and its prints."""

from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from pos.accounts.pins import set_pin
from pos.core.books import check_books
from pos.payments.models import Payment, Refund
from pos.sales.models import Authorisation, Sale, SaleReturn
from pos.sales.services import shift_report
from tests.checkout.helpers import SALES, cart, checkout, pay, post, sale
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pin(manager):
    manager.set_password("pass12345")
    manager.save()
    set_pin(manager, password="pass12345", pin="4826")
    return {"username": manager.username, "pin": "4826"}


# --- the page ------------------------------------------------------------------------------------------

def test_cashier_lands_on_the_checkout_after_login(cashier):
    response = client_for(cashier).get("/admin/")
    assert response.status_code == 302 and response.url == reverse("checkout:page")


def test_page_speaks_the_rest_api_only(cashier):
    response = client_for(cashier).get(reverse("checkout:page"))
    html = response.content.decode()
    assert 'id="co-scan"' in html and "pos/api.js" in html and "pos/checkout.js" in html
    urls = response.context["config"]["urls"]
    assert all(url.startswith("/api/") for url in urls.values())
    assert response.context["config"]["shift"] is None and response.context["config"]["max_discount"] == "10"


def test_bookkeeper_is_refused_page_and_sales(bookkeeper, shop):
    client = client_for(bookkeeper)
    assert client.get(reverse("checkout:page")).status_code == 403
    assert post(client, SALES, cart((shop["sugar"], "1", "0")), key="k").status_code == 403
    assert Sale.objects.count() == 0


def test_the_cashiers_returns_menu_link_is_gone(cashier):
    html = client_for(cashier).get(reverse("checkout:page")).content.decode()
    assert reverse("admin:sales_salereturn_changelist") not in html


def test_posts_need_the_csrf_token(cashier, shop, open_shift_for):
    open_shift_for(cashier)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cashier)
    assert post(client, f"{SALES}price/", cart((shop["sugar"], "1", "0"))).status_code == 403


# --- pricing -------------------------------------------------------------------------------------------------

def test_price_cart_gives_the_totals_the_sale_will_have_with_its_rounding_line(till, shop):
    body = cart((shop["sugar"], "2", "5"), (shop["milk"], "3", "0"), (shop["rice"], "0.75", "0"), discount_percent="2")
    priced = post(till, f"{SALES}price/", body).json()
    assert priced["subtotal"] == "660.00"  # 360 + 195 + 105
    assert [line["discount"] for line in priced["lines"]] == ["18.00", "0.00", "0.00"]
    assert priced["discount"] == "30.84"  # 18 + 2% of 642
    assert priced["rounding"] == "-0.16" and priced["total"] == "629.00"
    assert priced["lines"][2]["quantity"] == "0.75"
    made = checkout(till, body, "k-same").json()
    assert (made["subtotal"], made["discount"], made["tax"], made["rounding"], made["total"]) == (
        priced["subtotal"], priced["discount"], priced["tax"], priced["rounding"], priced["total"])


def test_a_comma_in_a_quantity_is_refused_not_read_as_thousands(till, shop):
    answer = post(till, f"{SALES}price/", cart((shop["rice"], "1,5", "0")))
    assert answer.status_code == 400 and "not a comma" in str(answer.json())
    assert post(till, f"{SALES}price/", cart((shop["rice"], "1.5", "0"))).json()["total"] == "210.00"


def test_pricing_takes_the_same_queries_for_1_or_40_lines(till, manager, django_assert_max_num_queries):
    from pos.inventory.services import adjust_stock
    from tests.factories import ProductFactory

    products = ProductFactory.create_batch(40)
    for product in products[:1]:
        adjust_stock(product, D(5), user=manager, reason="stock")
    with django_assert_max_num_queries(6):
        post(till, f"{SALES}price/", cart((products[0], "1", "0")))
    with django_assert_max_num_queries(6):
        assert post(till, f"{SALES}price/", cart(*[(p, "1", "0") for p in products])).status_code == 200


# --- one-request checkout, change, whole shillings -------------------------------------------------------------

def test_one_request_checkout_with_cash_gives_change_and_a_retry_changes_nothing(till, shop,
                                                                                   django_assert_max_num_queries):
    body = cart((shop["sugar"], "2", "0"), payments=[{"method": "cash", "amount_tendered": "500"}])
    # confirm + stock + cash payment + settle + the receipt in the answer: pinned, one request
    with django_assert_max_num_queries(50):
        first = checkout(till, body, "k-cash")
    assert first.status_code == 201
    made = first.json()
    assert made["status"] == "paid" and made["last_change"] == "140.00" and made["last_tendered"] == "500.00"
    assert "Change" in made["receipt_text"] and "140.00" in made["receipt_text"]
    again = checkout(till, body, "k-cash")
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    assert Sale.objects.count() == 1 and Payment.objects.count() == 1


def test_split_with_cash_first_shows_only_the_last_tenders_change(till, shop):
    body = cart((shop["sugar"], "5", "0"), payments=[{"method": "cash", "amount": "500", "amount_tendered": "1000"}])
    made = checkout(till, body, "k-split").json()
    assert made["status"] == "pending_payment" and made["balance_due"] == "400.00"
    first = next(p for p in made["payments"])
    assert first["change_given"] == "500.00"  # handed over now, with this tender
    last = pay(till, made["id"], "t-2", method="cash", amount="400", amount_tendered="410").json()
    assert last["status"] == "paid" and last["last_change"] == "10.00" and last["change_due"] == "510.00"
    text = last["receipt_text"]
    assert "Change (last cash tender)" in text and "510" not in text


def test_cash_cents_never_strand_a_split(till, shop):
    made = checkout(till, cart((shop["rice"], "0.333", "0")), "k-cents").json()
    assert made["total"] == "47.00" and made["rounding"] == "0.38"  # 46.62 of rice
    partly = pay(till, made["id"], "t-1", method="cash", amount_tendered="20.50").json()
    assert partly["balance_due"] == "27.00"  # whole shillings left for M-Pesa; the 0.50 is change
    refused = pay(till, made["id"], "t-2", method="cash", amount="26.50", amount_tendered="30")
    assert refused.status_code == 400 and refused.json()["code"] == "cents_left"


# --- lost answers, open sales on any browser ----------------------------------------------------------------

def test_a_409_after_a_lost_answer_and_a_cart_edit_carries_the_sale_to_resume_or_void(till, shop):
    made = checkout(till, cart((shop["sugar"], "1", "0")), "k-lost").json()  # the answer "was lost"
    edited = checkout(till, cart((shop["sugar"], "2", "0")), "k-lost")
    assert edited.status_code == 409 and edited.json()["code"] == "idempotency_conflict"
    assert edited.json()["sale"]["id"] == made["id"] and edited.json()["sale"]["total"] == "180.00"
    voided = post(till, f"{SALES}{made['id']}/cancel/", {"reason": "cart changed"})
    assert voided.json()["status"] == "cancelled"
    assert checkout(till, cart((shop["sugar"], "2", "0")), "k-new").json()["total"] == "360.00"


def test_open_sales_are_listed_and_resumed_from_another_browser(cashier, till, shop):
    made = checkout(till, cart((shop["sugar"], "2", "0"), payments=[
        {"method": "cash", "amount": "100", "amount_tendered": "100"}]), "k-open").json()
    other = client_for(cashier)  # another browser, nothing in its storage
    listed = other.get(f"{SALES}?status=pending_payment").json()["results"]
    assert [(s["id"], s["balance_due"]) for s in listed] == [(made["id"], "260.00")]
    assert pay(other, made["id"], "t-rest", method="cash", amount_tendered="300").json()["status"] == "paid"


# --- manager PIN at the cashier's till -------------------------------------------------------------------

def test_a_discount_beyond_the_cap_needs_a_managers_pin_and_is_recorded(till, cashier, manager, shop, pin):
    body = cart((shop["sugar"], "1", "8"), discount_percent="5")  # 8% + 5%: over the one 10% cap
    refused = checkout(till, body, "k-cap")
    assert refused.status_code == 400 and refused.json()["code"] == "discount_not_allowed"
    wrong = checkout(till, {**body, "manager": {"username": manager.username, "pin": "1111"}}, "k-cap2")
    assert wrong.status_code == 400 and wrong.json()["code"] == "bad_pin"
    made = checkout(till, {**body, "manager": pin}, "k-cap3").json()
    assert made["discount"] == "22.68" and made["authorisations"][0]["action"] == "discount"
    assert Authorisation.objects.get().requested_by == cashier


def test_a_pin_locks_after_repeated_failures(till, manager, shop, pin, settings):
    settings.MANAGER_PIN_MAX_FAILURES = 3
    body = cart((shop["sugar"], "1", "50"))
    for n in range(3):
        assert checkout(till, {**body, "manager": {**pin, "pin": "0000"}}, f"k-{n}").json()["code"] == "bad_pin"
    locked = checkout(till, {**body, "manager": pin}, "k-right")
    assert locked.status_code == 400 and locked.json()["code"] == "pin_locked"


def test_pins_are_hashed_and_set_only_by_their_owner(manager, pin):
    from pos.accounts.models import ManagerPin

    stored = ManagerPin.objects.get(user=manager).pin_hash
    assert "4826" not in stored and stored.startswith(("pbkdf2", "argon2", "md5", "bcrypt", "scrypt"))
    client = client_for(manager)
    wrong = post(client, "/api/auth/pin/", {"password": "nope", "pin": "1357"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
    assert post(client, "/api/auth/pin/", {"password": "pass12345", "pin": "1357"}).json() == {"has_pin": True}


def test_a_return_refunded_in_cash_at_a_cashiers_till_with_a_pin_is_in_the_z(till, cashier, shop, pin):
    made = checkout(till, cart((shop["sugar"], "2", "0"), (shop["milk"], "1", "0"),
                               payments=[{"method": "cash", "amount_tendered": "500"}]), "k-ret").json()
    sugar = next(item for item in made["items"] if item["name"] == "Sugar 1kg")
    body = {"items": [{"item": sugar["id"], "quantity": "1"}], "reason": "torn", "refund": "cash"}
    assert post(till, f"{SALES}{made['id']}/return/", body).status_code == 403
    taken = post(till, f"{SALES}{made['id']}/return/", {**body, "manager": pin})
    assert taken.status_code == 201
    answer = taken.json()
    assert answer["amount"] == "180.00" and answer["owed"] == "0.00" and answer["refund_error"] is None
    assert [(r["method"], r["amount"], r["status"]) for r in answer["refunds"]] == [("cash", "180.00", "completed")]
    assert {a.action for a in Authorisation.objects.all()} == {"return", "refund"}
    report = shift_report(cashier.shifts.get())
    cash = report.cash
    assert cash.refunds == D("180.00") and cash.expected == D("1000.00") + D("425.00") - D("180.00")
    assert report.returns_tax == D("24.83") and report.net_tax == report.tax_total - D("24.83")
    assert check_books() == []


def test_a_return_left_owed_is_listed_then_paid_from_the_list(till, shop, pin, manager):
    made = checkout(till, cart((shop["milk"], "2", "0"), payments=[{"method": "cash", "amount_tendered": "130"}]),
                    "k-owe").json()
    item = made["items"][0]["id"]
    post(till, f"{SALES}{made['id']}/return/", {"items": [{"item": item, "quantity": "1"}], "refund": "owe",
                                                "manager": pin})
    owed = till.get("/api/sales/returns/owed/").json()["results"]
    assert [(row["receipt_number"], row["owed"]) for row in owed] == [(made["receipt_number"], "65.00")]
    sale_return = SaleReturn.objects.get()
    assert post(till, f"/api/sales/returns/{sale_return.pk}/refund/", {"refund": "cash"}).status_code == 403
    paid = post(till, f"/api/sales/returns/{sale_return.pk}/refund/", {"refund": "cash", "manager": pin}, key="r-1")
    assert paid.status_code == 200 and paid.json()["owed"] == "0.00"
    assert till.get("/api/sales/returns/owed/").json()["results"] == []
    assert Refund.objects.get().status == "completed"


def test_a_manager_voids_a_paid_sale_at_the_cashiers_till(till, shop, pin):
    made = checkout(till, cart((shop["sugar"], "1", "0"), payments=[{"method": "cash", "amount_tendered": "200"}]),
                    "k-void").json()
    assert post(till, f"{SALES}{made['id']}/void/", {}).status_code == 403
    voided = post(till, f"{SALES}{made['id']}/void/", {"manager": pin})
    assert voided.status_code == 201 and voided.json()["owed"] == "0.00"
    assert sale(till, made["id"])["status"] == "returned"
    assert {a.action for a in Authorisation.objects.all()} >= {"void", "refund"}


# --- the shift: X/Z report and its prints ------------------------------------------------------------------

def test_close_the_shift_and_print_the_z_report(till, cashier, shop):
    checkout(till, cart((shop["sugar"], "1", "0"), payments=[{"method": "cash", "amount_tendered": "200"}]), "k-z")
    shift = cashier.shifts.get()
    z = post(till, f"/api/sales/shifts/{shift.pk}/close/", {"counted_cash": "1175"}).json()
    assert z["kind"] == "Z" and z["cash_sales"] == "180.00" and z["change_total"] == "20.00"
    assert z["net_tax"] == "24.83" and z["vat"][0]["net_tax"] == "24.83" and z["cash_variance"] == "-5.00"
    text = till.get(f"/api/sales/shifts/{shift.pk}/report/?format=text").content.decode()
    assert "Z REPORT" in text and "NET VAT" in text and "24.83" in text and "Change given" in text
    pdf = till.get(f"/api/sales/shifts/{shift.pk}/report/?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
