"""The scheduled verification of payments left processing: STK Query fallback, back-off, expiry,
and no double application when a callback races with it."""

import itertools
import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from pos.core.schedules import ensure_schedules
from pos.payments import tasks
from pos.payments.models import Payment, PaymentCallback, PaymentEvent
from pos.payments.services import handle_callback, initiate_payment, verify_payment
from tests.payments.conftest import in_threads
from tests.payments.flows import fresh, make_sale, sale_of
from tests.qcluster import running_qcluster, wait_until

NO_CALLBACK, NEVER_RESOLVES = "0700000404", "0700000408"


def push(cashier, price, phone):
    sale = make_sale(cashier, price)
    payment, _ = initiate_payment(sale, "mpesa", price.split(".")[0], phone_number=phone, user=cashier)
    return payment


def callback_body(payment, receipt):
    return json.dumps({"Body": {"stkCallback": {
        "MerchantRequestID": payment.provider_secondary_reference, "CheckoutRequestID": payment.provider_reference,
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": float(payment.amount)},
                                      {"Name": "MpesaReceiptNumber", "Value": receipt}]}}}}).encode()


@pytest.mark.django_db(transaction=True)
def test_callback_never_arrives_and_the_task_completes_the_payment_by_stk_query(sandbox, cashier, settings):
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    payment = push(cashier, "350.00", NO_CALLBACK)
    time.sleep(0.3)  # the simulated customer pays; no callback is sent
    counts = tasks.verify_stale_payments()
    payment = fresh(payment)
    assert counts["completed"] == 1 and payment.status == "completed" and payment.verify_attempts == 1
    assert sale_of(payment).status == "paid" and sale_of(payment).paid_amount == Decimal("350.00")
    assert tasks.verify_stale_payments()["verified"] == 0


@pytest.mark.django_db(transaction=True)
def test_verification_backs_off_then_expires_a_payment_the_provider_never_answers(sandbox, cashier, settings):
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 30
    settings.PAYMENT_EXPIRE_AFTER_SECONDS = 300
    payment = push(cashier, "200.00", NEVER_RESOLVES)
    start = timezone.now()

    def at(seconds):
        return tasks.services.verify_stale_payments(now=start + timedelta(seconds=seconds))

    assert at(5)["verified"] == 0
    assert at(31)["verified"] == 1 and fresh(payment).status == "processing"
    assert at(45)["verified"] == 0  # next try 30 s after the first
    assert at(62)["verified"] == 1
    assert at(100)["verified"] == 0  # then 60 s later
    assert at(123)["verified"] == 1 and fresh(payment).verify_attempts == 3
    counts = at(400)
    payment = fresh(payment)
    assert counts["expired"] == 1 and payment.status == "expired" and payment.result_code == "timeout"
    assert sale_of(payment).status == "pending_payment"


@pytest.mark.django_db(transaction=True)
def test_a_success_arriving_after_expiry_is_still_recorded(sandbox, cashier, settings):
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    settings.PAYMENT_EXPIRE_AFTER_SECONDS = 0
    settings.SANDBOX_CALLBACK_DELAY = 1.0
    payment = push(cashier, "120.00", NO_CALLBACK)
    assert tasks.verify_stale_payments()["expired"] == 1 and fresh(payment).status == "expired"
    time.sleep(1.1)
    answer = handle_callback("mpesa", callback_body(payment, "LATE123456"), {}, "127.0.0.1",
                             token=payment.callback_token)
    payment = fresh(payment)
    assert answer.callback.outcome == "applied" and "Late success" in answer.callback.reason
    assert payment.status == "completed" and payment.receipt == "LATE123456"
    assert sale_of(payment).status == "paid"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_callback_racing_with_the_verify_task_applies_exactly_once(sandbox, cashier, needs_postgres):
    # Different amounts: Daraja refuses a second push of the same amount to a phone within 2 minutes.
    payments = [push(cashier, f"{100 + n}.00", NO_CALLBACK) for n in range(3)]
    time.sleep(0.3)
    for n, payment in enumerate(payments):
        turn, lock = itertools.count(), threading.Lock()

        def race(payment=payment, n=n, turn=turn, lock=lock):
            with lock:
                mine = next(turn)
            if mine == 0:
                return verify_payment(payment).kind
            return handle_callback("mpesa", callback_body(payment, f"RACE{n:06d}"), {}, "127.0.0.1",
                                   token=payment.callback_token).callback.outcome

        outcomes = in_threads(2, race)
        payment = fresh(payment)
        assert sorted(outcomes) == ["applied", "duplicate"], outcomes
        assert payment.status == "completed" and payment.receipt == f"RACE{n:06d}"
        assert PaymentEvent.objects.filter(payment=payment, action__endswith=": applied").count() == 1
        assert sale_of(payment).paid_amount == payment.amount
    assert PaymentCallback.objects.filter(outcome="applied").count() + PaymentCallback.objects.filter(
        outcome="duplicate").count() == 3


@pytest.mark.django_db
def test_verification_is_scheduled_every_minute_once(db):
    ensure_schedules()
    ensure_schedules()
    schedule = Schedule.objects.get(name="Verify stale payments")
    assert schedule.func == "pos.payments.tasks.recheck_money"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1
    assert Schedule.objects.filter(func="pos.payments.tasks.recheck_money").count() == 1


@pytest.mark.qcluster
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_runs_the_verification(sandbox, cashier):
    payment = push(cashier, "260.00", NO_CALLBACK)
    Payment.objects.filter(pk=payment.pk).update(next_verify_at=None, created_at=timezone.now() - timedelta(hours=1))
    time.sleep(0.3)
    env = {"SANDBOX_BASE_URL": sandbox.url + "/sandbox", "PUBLIC_BASE_URL": sandbox.url,
           "MPESA_CONSUMER_KEY": "", "MPESA_CONSUMER_SECRET": ""}
    with running_qcluster(env):
        async_task("pos.payments.tasks.verify_stale_payments", sync=False)
        done = wait_until(lambda: fresh(payment).status == "completed", timeout=60)
    assert done, "the qcluster did not verify the payment"
    assert sale_of(payment).status == "paid"
