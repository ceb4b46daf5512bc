"""M-Pesa, Airtel Money and card as the checkout page takes them over the REST API, with real HTTP to the
sandbox simulators on the live server (they call our webhooks back)."""

import time

import pytest
import requests

from pos.payments.models import Payment
from tests.checkout.helpers import cart, checkout, pay, payment_of, post, sale

pytestmark = pytest.mark.django_db(transaction=True)


def start_sale(till, product, key):
    return checkout(till, cart((product, "1", "0")), key=key).json()


def wait_until_settled(till, sale_id, payment_id, seconds=15):
    """What the page's poll does: ask every 0.2 s until the payment is no longer in flight."""
    deadline = time.monotonic() + seconds
    while True:
        answer = sale(till, sale_id)
        payment = payment_of(answer, payment_id)
        settled = not payment["in_flight"] and (payment["status"] != "completed" or answer["balance_due"] == "0.00")
        if settled or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_mpesa_push_completes_and_the_poll_sees_the_sale_paid(sandbox, till, shop):
    started_sale = start_sale(till, shop["sugar"], "k-mpesa")
    started = pay(till, started_sale["id"], "t-mpesa", method="mpesa", amount="180", phone_number="0708374149")
    assert started.status_code == 201
    payment = payment_of(started.json(), started.json()["payment"])
    assert payment["status"] == "processing" and payment["in_flight"] and payment["phone_number"] == "254708374149"
    retried = pay(till, started_sale["id"], "t-mpesa", method="mpesa", amount="180", phone_number="0708374149")
    assert retried.json()["payment"] == payment["id"] and Payment.objects.count() == 1
    answer = wait_until_settled(till, started_sale["id"], payment["id"])
    assert payment_of(answer, payment["id"])["status"] == "completed" and payment_of(answer, payment["id"])["receipt"]
    assert answer["status"] == "paid" and "M-Pesa" in answer["receipt_text"]


def test_one_request_checkout_pushes_mpesa_for_the_whole_shillings_total(sandbox, till, shop):
    body = cart((shop["rice"], "0.333", "10"), (shop["sugar"], "1", "0"), discount_percent="5",
                payments=[{"method": "mpesa", "phone_number": "0708374149"}])
    answer = checkout(till, body, "k-one").json()
    # 0.333 kg x 140 = 46.62, 10% off (4.66) = 41.96; + 180 = 221.96; 5% order discount (11.09):
    # 210.87 of lines, 211.00 to pay: M-Pesa is asked for whole shillings, no cents left due
    assert answer["rounding"] == "0.13" and answer["total"] == "211.00"
    [tender] = answer["tenders"]
    assert tender["error"] is None
    settled = wait_until_settled(till, answer["id"], tender["payment"])
    assert settled["status"] == "paid" and settled["balance_due"] == "0.00"
    assert payment_of(settled, tender["payment"])["amount"] == "211.00"


def test_cancel_then_retry_too_soon_meets_the_two_minute_rule(sandbox, till, shop):
    started_sale = start_sale(till, shop["sugar"], "k-busy")
    first = pay(till, started_sale["id"], "t-busy-1", method="mpesa", amount="180",
                phone_number="254700000408").json()["payment"]
    cancelled = post(till, f"/api/payments/payments/{first}/cancel/", {}).json()
    assert cancelled["status"] == "cancelled" and sale(till, started_sale["id"])["balance_due"] == "180.00"
    again = pay(till, started_sale["id"], "t-busy-2", method="mpesa", amount="180", phone_number="254700000408")
    assert again.status_code == 201
    refused = payment_of(sale(till, started_sale["id"]), again.json()["payment"])
    assert refused["status"] == "failed" and refused["result_code"] == "provider_busy"
    assert "wait up to 2 minutes" in refused["result_message"]
    assert sale(till, started_sale["id"])["status"] == "pending_payment"


def test_wrong_pin_is_shown_and_the_sale_still_waits(sandbox, till, shop):
    started_sale = start_sale(till, shop["sugar"], "k-pin")
    payment = pay(till, started_sale["id"], "t-pin", method="mpesa", amount="180",
                  phone_number="254700002001").json()["payment"]
    answer = wait_until_settled(till, started_sale["id"], payment)
    assert payment_of(answer, payment)["status"] == "failed" and payment_of(answer, payment)["result_message"]
    assert answer["status"] == "pending_payment" and answer["balance_due"] == "180.00"


def test_airtel_money_completes(sandbox, till, shop):
    started_sale = start_sale(till, shop["sugar"], "k-airtel")
    payment = pay(till, started_sale["id"], "t-airtel", method="airtel", amount="180",
                  phone_number="0708374149").json()["payment"]
    answer = wait_until_settled(till, started_sale["id"], payment)
    assert payment_of(answer, payment)["status"] == "completed" and answer["status"] == "paid"


def test_card_gives_the_hosted_payment_page_and_completes_when_paid_there(sandbox, till, shop):
    started_sale = start_sale(till, shop["sugar"], "k-card")
    answer = pay(till, started_sale["id"], "t-card", method="card", amount="180").json()
    payment = payment_of(answer, answer["payment"])
    link = payment["redirect_url"]
    assert link.startswith(f"{sandbox.url}/sandbox/flutterwave/pay/") and payment["in_flight"]
    assert "Pay" in requests.get(link, timeout=10).text
    requests.post(link, data={"outcome": "successful"}, allow_redirects=False, timeout=10)
    settled = wait_until_settled(till, started_sale["id"], payment["id"])
    assert payment_of(settled, payment["id"])["status"] == "completed" and settled["status"] == "paid"
