"""M-Pesa, Airtel Money and card from the checkout page's endpoints, with real HTTP to the sandbox
simulators on the live server (they call our webhooks back)."""

import time

import pytest
import requests
from django.urls import reverse

from pos.payments.models import Payment
from tests.checkout.helpers import cart, post

pytestmark = pytest.mark.django_db(transaction=True)


def start_sale(till, product, key):
    return post(till, "sales", cart((product, "1", "0")), key=key).json()["sale"]


def pay(till, sale, key, **body):
    return post(till, "pay", body, key=key, args=[sale["id"]])


def wait_until_settled(till, payment_id, seconds=15):
    """What the page's poll does: ask every 0.2 s until the payment is no longer in flight."""
    deadline = time.monotonic() + seconds
    while True:
        answer = till.get(reverse("checkout:payment", args=[payment_id])).json()
        if not answer["payment"]["in_flight"] or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_mpesa_push_completes_and_the_poll_sees_the_sale_paid(sandbox, till, shop):
    sale = start_sale(till, shop["sugar"], "k-mpesa")
    started = pay(till, sale, "t-mpesa", method="mpesa", amount="180", phone_number="0708374149")
    assert started.status_code == 201
    payment = started.json()["payment"]
    assert payment["status"] == "processing" and payment["in_flight"] and payment["phone_number"] == "254708374149"
    retried = pay(till, sale, "t-mpesa", method="mpesa", amount="180", phone_number="0708374149")
    assert retried.json()["payment"]["id"] == payment["id"] and Payment.objects.count() == 1
    answer = wait_until_settled(till, payment["id"])
    assert answer["payment"]["status"] == "completed" and answer["payment"]["receipt"]
    assert answer["sale"]["status"] == "paid" and "M-Pesa" in answer["sale"]["receipt_text"]


def test_cancel_then_retry_too_soon_meets_the_two_minute_rule(sandbox, till, shop):
    sale = start_sale(till, shop["sugar"], "k-busy")
    first = pay(till, sale, "t-busy-1", method="mpesa", amount="180", phone_number="254700000408").json()["payment"]
    cancelled = post(till, "payment-cancel", {}, args=[first["id"]]).json()
    assert cancelled["payment"]["status"] == "cancelled" and cancelled["sale"]["balance_due"] == "180.00"
    again = pay(till, sale, "t-busy-2", method="mpesa", amount="180", phone_number="254700000408")
    assert again.status_code == 400 and again.json()["code"] == "provider_busy"
    assert "2 minutes" in again.json()["error"]
    assert till.get(reverse("checkout:sale", args=[sale["id"]])).json()["sale"]["status"] == "pending_payment"


def test_wrong_pin_is_shown_and_the_sale_still_waits(sandbox, till, shop):
    sale = start_sale(till, shop["sugar"], "k-pin")
    payment = pay(till, sale, "t-pin", method="mpesa", amount="180", phone_number="254700002001").json()["payment"]
    answer = wait_until_settled(till, payment["id"])
    assert answer["payment"]["status"] == "failed" and answer["payment"]["result_message"]
    assert answer["sale"]["status"] == "pending_payment" and answer["sale"]["balance_due"] == "180.00"


def test_airtel_money_completes(sandbox, till, shop):
    sale = start_sale(till, shop["sugar"], "k-airtel")
    payment = pay(till, sale, "t-airtel", method="airtel", amount="180", phone_number="0708374149").json()["payment"]
    answer = wait_until_settled(till, payment["id"])
    assert answer["payment"]["status"] == "completed" and answer["sale"]["status"] == "paid"


def test_card_gives_the_hosted_payment_page_and_completes_when_paid_there(sandbox, till, shop):
    sale = start_sale(till, shop["sugar"], "k-card")
    payment = pay(till, sale, "t-card", method="card", amount="180").json()["payment"]
    link = payment["redirect_url"]
    assert link.startswith(f"{sandbox.url}/sandbox/flutterwave/pay/") and payment["in_flight"]
    assert "Pay" in requests.get(link, timeout=10).text
    requests.post(link, data={"outcome": "successful"}, allow_redirects=False, timeout=10)
    answer = wait_until_settled(till, payment["id"])
    assert answer["payment"]["status"] == "completed" and answer["sale"]["status"] == "paid"
