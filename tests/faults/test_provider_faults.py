"""Provider faults between our gateways and the sandbox (real HTTP through tests/faults/proxy.py):
whatever is lost on the wire, every payment the provider took ends recorded with its receipt, and the
books are clean. Nothing is guessed failed."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from pos.core.books import check_books
from pos.core.errors import ServiceError
from pos.payments import services
from pos.payments.models import Payment, PaymentCallback
from pos.sales.services import cancel_sale
from tests.payments.flows import fresh, make_sale, sale_of, wait_for
from tests.qcluster import running_qcluster, wait_until

APPROVES = "0708374149"
NEVER_CALLS_BACK = "0700000404"        # M-Pesa: pays, never calls back; the query says 0 after the delay
AIRTEL_NO_CALLBACK = "0700000404"      # Airtel: succeeds without a callback (TIP, then TS)


def push(cashier, price, phone, method="mpesa"):
    sale = make_sale(cashier, price)
    payment, _ = services.initiate_payment(sale, method, price, phone_number=phone, user=cashier)
    return payment


def completed(payment, timeout=15):
    wait_for(lambda: fresh(payment).status == "completed", timeout)
    return fresh(payment)


@pytest.mark.parametrize("fault", ["lose_answer", "timeout", "drop"])
@pytest.mark.django_db(transaction=True)
def test_stk_push_answer_lost_after_mpesa_acted_is_unconfirmed_then_matched_by_token(faults, cashier, settings,
                                                                                     fault):
    settings.SANDBOX_CALLBACK_DELAY = 3.5  # the callback comes after we gave up waiting for the answer
    faults.add("stkpush", fault)
    payment = push(cashier, "350.00", APPROVES)
    assert payment.status == "unconfirmed" and payment.result_code in ("no_answer", "http_502")
    assert not payment.provider_reference  # Daraja's CheckoutRequestID never reached us
    assert "Waiting for M-Pesa to confirm" in payment.till_message and payment.is_in_flight
    with pytest.raises(ServiceError, match="payment completed or in progress"):
        cancel_sale(payment.sale, user=cashier)
    payment = completed(payment)
    assert payment.receipt and payment.provider_reference.startswith("ws_CO_")
    assert payment.amount_received == Decimal("350.00") and not payment.attention
    assert sale_of(payment).status == "paid"
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_push_refused_before_reaching_mpesa_is_unconfirmed_then_flagged_for_a_person(faults, cashier, settings):
    faults.add("stkpush", "refuse_5xx")
    payment = push(cashier, "120.00", APPROVES)
    assert payment.status == "unconfirmed"  # a 5xx page is not Daraja's answer: we cannot tell
    settings.PAYMENT_CONFIRM_WINDOW_SECONDS = 0
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(seconds=5))
    counts = services.recheck_money()
    payment = fresh(payment)
    assert counts["payments"]["unresolved"] == 1
    assert payment.status == "unconfirmed" and payment.attention == "unresolved"
    assert "check the provider's portal" in payment.attention_note
    assert any("unconfirmed" in problem and sale_of(payment).receipt_number in problem for problem in check_books())


@pytest.mark.django_db(transaction=True)
def test_mpesa_definite_refusal_is_failed_not_unconfirmed(faults, cashier, settings):
    settings.MPESA_SHORTCODE = "12"  # Daraja answers 400.002.02 Invalid BusinessShortCode: its own answer
    payment = push(cashier, "120.00", APPROVES)
    assert payment.status == "failed" and payment.result_code == "400.002.02"


@pytest.mark.django_db(transaction=True)
def test_query_failing_keeps_the_callback_receipt_and_the_recheck_completes_it(faults, cashier, settings):
    faults.add("stkpushquery", "fail")  # the confirmation query fails (a 500 that is not Daraja's answer)
    payment = push(cashier, "410.00", APPROVES)
    wait_for(lambda: PaymentCallback.objects.filter(payment=payment).exists())
    time.sleep(0.5)
    payment = fresh(payment)
    assert payment.status == "processing" and payment.reported_receipt and not payment.receipt
    stored = PaymentCallback.objects.get(payment=payment)
    assert stored.outcome == "received"
    services.recheck_money()
    payment = fresh(payment)
    assert payment.status == "completed" and payment.receipt == payment.reported_receipt
    assert fresh(stored).outcome == "applied"
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_airtel_collection_answer_lost_is_found_by_our_own_transaction_id(faults, cashier):
    faults.add("merchant/v1/payments", "lose_answer")
    payment = push(cashier, "230.00", AIRTEL_NO_CALLBACK, method="airtel")
    assert payment.status == "unconfirmed" and payment.provider_reference.startswith("POS")
    time.sleep(0.4)
    services.recheck_money()
    payment = fresh(payment)
    assert payment.status == "completed" and payment.receipt
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_slow_provider_answer_within_the_timeout_is_normal(faults, cashier):
    faults.add("stkpush", "slow:0.5")
    payment = push(cashier, "99.00", APPROVES)
    assert payment.status == "processing" and payment.provider_reference
    assert completed(payment).receipt


@pytest.mark.qcluster
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_settles_an_unconfirmed_payment(faults, cashier, sandbox):
    faults.add("merchant/v1/payments", "drop")
    payment = push(cashier, "275.00", AIRTEL_NO_CALLBACK, method="airtel")
    assert payment.status == "unconfirmed"
    env = {"SANDBOX_BASE_URL": sandbox.url + "/sandbox", "PUBLIC_BASE_URL": sandbox.url,
           "AIRTEL_CLIENT_ID": "", "AIRTEL_CLIENT_SECRET": "", "PAYMENT_VERIFY_AFTER_SECONDS": "0"}
    time.sleep(0.4)
    with running_qcluster(env):
        async_task("pos.payments.tasks.recheck_money", sync=False)
        done = wait_until(lambda: fresh(payment).status == "completed", timeout=60)
    assert done, "the qcluster did not settle the unconfirmed payment"
    assert fresh(payment).receipt and sale_of(payment).status == "paid"
    assert check_books() == []
