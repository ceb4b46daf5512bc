"""Airtel Money and card (Flutterwave) end to end against the sandbox over real HTTP."""

import json
import time
from decimal import Decimal

import pytest
import requests

from pos.payments import tasks
from pos.payments.models import Payment, PaymentCallback
from pos.payments.services import initiate_payment, verify_payment
from tests.payments.flows import fresh, make_sale, sale_of, settled, wait_for


def start(cashier, method, price, phone=""):
    payment, _ = initiate_payment(make_sale(cashier, price), method, price, phone_number=phone, user=cashier)
    return payment


def handled_callbacks(payment, count=1):
    wait_for(lambda: PaymentCallback.objects.exclude(outcome="received").count() >= count)
    return list(PaymentCallback.objects.order_by("id"))


def simulate(sandbox, payment, **twists):
    answer = requests.post(f"{sandbox.url}/sandbox/flutterwave/simulate/{payment.provider_reference}/",
                           data=json.dumps(twists), headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_airtel_ts_completes_with_the_airtel_money_id(sandbox, cashier):
    payment = start(cashier, "airtel", "700.00", "0708374149")
    assert payment.status == "processing" and payment.provider_reference.startswith("POS")
    payment = settled(payment)
    assert payment.status == "completed" and payment.receipt and sale_of(payment).status == "paid"
    [callback] = handled_callbacks(payment)
    assert callback.provider == "airtel" and callback.outcome == "applied" and callback.payment_id == payment.pk


@pytest.mark.django_db(transaction=True)
def test_airtel_tf_fails_from_the_callback(sandbox, cashier):
    payment = settled(start(cashier, "airtel", "700.00", "0700000001"))
    assert payment.status == "failed" and payment.result_code == "TF" and "Insufficient" in payment.result_message
    assert sale_of(payment).status == "pending_payment"
    assert handled_callbacks(payment)[0].outcome == "applied"


@pytest.mark.django_db(transaction=True)
def test_airtel_ta_ambiguous_is_asked_again_until_the_provider_knows(sandbox, cashier):
    payment = start(cashier, "airtel", "90.00", "0700000002")
    time.sleep(0.3)  # the customer has answered; Airtel's first status answer is still TA
    first = verify_payment(payment)
    assert first.kind == "received" and fresh(payment).status == "processing"
    second = verify_payment(payment)
    payment = fresh(payment)
    assert second.kind == "applied" and payment.status == "completed" and payment.verify_attempts == 2
    assert sale_of(payment).status == "paid"


@pytest.mark.django_db(transaction=True)
def test_card_payment_with_a_good_signature_completes_after_verification(sandbox, cashier):
    payment = start(cashier, "card", "1250.00")
    assert payment.status == "processing" and "/sandbox/flutterwave/pay/" in payment.redirect_url
    simulate(sandbox, payment, outcome="successful")
    payment = settled(payment)
    assert payment.status == "completed" and payment.receipt and payment.provider_secondary_reference
    assert sale_of(payment).status == "paid" and sale_of(payment).paid_amount == Decimal("1250.00")
    [callback] = handled_callbacks(payment)
    assert callback.outcome == "applied" and callback.headers.get("Verif-Hash") == "***"


@pytest.mark.django_db(transaction=True)
def test_card_callback_with_a_bad_signature_is_rejected_and_the_task_still_finds_the_money(sandbox, cashier,
                                                                                           settings):
    payment = start(cashier, "card", "400.00")
    simulate(sandbox, payment, outcome="successful", bad_signature=True)
    [callback] = handled_callbacks(payment)
    assert callback.outcome == "rejected" and callback.reason == "Bad signature."
    assert fresh(payment).status == "processing"
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    Payment.objects.filter(pk=payment.pk).update(next_verify_at=None)
    assert tasks.verify_stale_payments()["completed"] == 1 and fresh(payment).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_declined_card_fails(sandbox, cashier):
    payment = start(cashier, "card", "99.00")
    simulate(sandbox, payment, outcome="failed")
    payment = settled(payment)
    assert payment.status == "failed" and sale_of(payment).status == "pending_payment"


@pytest.mark.django_db(transaction=True)
def test_card_charged_less_than_the_order_is_never_completed_and_is_flagged(sandbox, cashier):
    payment = start(cashier, "card", "500.00")
    simulate(sandbox, payment, outcome="successful", amount="50")
    [callback] = handled_callbacks(payment)
    assert callback.outcome == "rejected" and "Provider reports 50.00, expected 500.00" in callback.reason
    assert fresh(payment).status == "processing"
    verify_payment(payment)
    payment = fresh(payment)
    assert payment.status == "failed" and payment.attention == "underpaid"
    assert payment.amount_received == Decimal("50.00") and sale_of(payment).paid_amount == 0
