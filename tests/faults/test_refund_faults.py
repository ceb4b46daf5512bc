"""Refunds through the providers' sandboxes with faults on the wire: a refund is paid exactly once,
never failed on a lost answer, and a late or different result is recorded and flagged."""

import json
from decimal import Decimal

import pytest

from pos.core.books import check_books
from pos.payments import services
from pos.payments.models import PaymentCallback, Refund
from tests.payments.flows import fresh, make_sale, settled, wait_for


def paid(cashier, price, phone, method="mpesa"):
    payment, _ = services.initiate_payment(make_sale(cashier, price), method, price, phone_number=phone, user=cashier)
    return settled(payment)


def refund_of(payment, amount, manager):
    refund, _ = services.request_refund(payment, Decimal(amount), "returned", manager)
    return refund


def finished(refund, timeout=15):
    wait_for(lambda: fresh(refund).status != "processing", timeout)
    return fresh(refund)


@pytest.mark.parametrize("fault", ["lose_answer", "timeout", "drop"])
@pytest.mark.django_db(transaction=True)
def test_reversal_answer_lost_stays_processing_and_its_result_completes_it(faults, cashier, manager, settings,
                                                                          fault):
    payment = paid(cashier, "500.00", "0708374149")
    settings.SANDBOX_CALLBACK_DELAY = 3.5  # the reversal's result comes after we gave up on its answer
    faults.add("reversal", fault)
    refund = refund_of(payment, "500", manager)
    assert refund.status == "processing" and not refund.provider_reference  # never "failed" on a lost answer
    refund = finished(refund)
    assert refund.status == "completed" and refund.provider_amount == Decimal("500.00")
    assert refund.attention == ""
    with pytest.raises(Exception, match="At most 0.00"):
        refund_of(payment, "500", manager)  # cannot be paid twice
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_reversal_queue_timeout_is_not_final_and_the_real_result_follows(sandbox, cashier, manager):
    payment = paid(cashier, "300.00", "0700000600")
    refund = refund_of(payment, "300", manager)
    wait_for(lambda: PaymentCallback.objects.filter(route="reversal_timeout").exists())
    assert fresh(refund).status == "processing"  # the queue-timeout notice changed nothing final
    refund = finished(refund)
    assert refund.status == "completed"
    def routes():
        return sorted(PaymentCallback.objects.filter(refund=refund).values_list("route", flat=True))

    wait_for(lambda: len(routes()) == 2)
    assert routes() == ["reversal", "reversal_timeout"]
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_reversal_result_that_never_arrives_is_found_by_transaction_status(sandbox, cashier, manager, settings,
                                                                           unused_port):
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    payment = paid(cashier, "250.00", "0708374149")
    live = settings.PUBLIC_BASE_URL
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{unused_port}"  # the reversal's ResultURL goes nowhere
    refund = refund_of(payment, "250", manager)
    wait_for(lambda: False, timeout=0.6)
    assert fresh(refund).status == "processing"
    settings.PUBLIC_BASE_URL = live
    services.recheck_money()
    refund = finished(refund)
    assert refund.status == "completed" and refund.provider_amount == Decimal("250.00")
    assert PaymentCallback.objects.filter(refund=refund, route="status", outcome="applied").exists()
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_airtel_portal_style_refund_answer_is_a_success(sandbox, cashier, manager):
    payment = paid(cashier, "400.00", "0700000201", method="airtel")
    refund = refund_of(payment, "400", manager)
    assert refund.status == "completed"  # success: false, but transaction status SUCCESS
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_airtel_in_process_refund_is_not_final_until_the_enquiry_says_so(sandbox, cashier, manager, settings):
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    payment = paid(cashier, "450.00", "0700000202", method="airtel")
    settings.SANDBOX_CALLBACK_DELAY = 1.0
    refund = refund_of(payment, "450", manager)
    assert refund.status == "processing" and refund.provider_reference.startswith("RF")
    services.recheck_money()
    assert fresh(refund).status == "processing"  # the enquiry still says TIP
    wait_for(lambda: False, timeout=1.2)
    services.recheck_money()
    assert fresh(refund).status == "completed"
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_flutterwave_pending_refund_is_polled_to_completion(sandbox, cashier, manager, settings):
    import requests

    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    payment, _ = services.initiate_payment(make_sale(cashier, "120.77"), "card", "120.77", user=cashier)
    requests.post(f"{sandbox.url}/sandbox/flutterwave/simulate/{payment.provider_reference}/", json={}, timeout=10)
    payment = settled(payment)
    refund = refund_of(payment, "20.77", manager)
    assert refund.status == "processing"
    wait_for(lambda: False, timeout=0.4)
    services.recheck_money()
    refund = fresh(refund)
    assert refund.status == "completed" and refund.provider_amount == Decimal("20.77")
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_late_success_on_a_failed_refund_completes_it_flagged_and_a_different_amount_is_flagged(
        faults, cashier, manager):
    payment = paid(cashier, "600.00", "0708374149")
    refund = refund_of(payment, "200", manager)
    refund = finished(refund)
    assert refund.status == "completed"
    second = refund_of(payment, "100", manager)
    second = finished(second)
    Refund.objects.filter(pk=second.pk).update(status="failed", completed_at=None)
    result = {"Result": {"ResultType": 0, "ResultCode": "0", "ResultDesc": "done",
                         "ConversationID": second.provider_reference, "TransactionID": "LATE1",
                         "ResultParameters": {"ResultParameter": [{"Key": "Amount", "Value": 90}]}}}
    answer = services.handle_callback("mpesa", json.dumps(result).encode(), {}, token=payment.callback_token,
                                      route="reversal", ref=second.pk)
    second = fresh(second)
    assert answer.callback.outcome == "applied" and second.status == "completed"
    assert second.attention == "amount_mismatch" and second.provider_amount == Decimal("90.00")
    assert "after the refund was recorded failed" in second.attention_note
    assert any(f"refund {second.pk}" in p and "refunded 90.00" in p for p in check_books())


@pytest.mark.django_db(transaction=True)
def test_refund_result_with_another_payments_token_is_rejected(sandbox, cashier, manager):
    mine = paid(cashier, "150.00", "0708374149")
    other = paid(cashier, "160.00", "0708374149")
    refund = finished(refund_of(mine, "150", manager))
    result = {"Result": {"ResultType": 0, "ResultCode": 0, "ConversationID": refund.provider_reference,
                         "ResultParameters": {"ResultParameter": [{"Key": "Amount", "Value": 150}]}}}
    answer = services.handle_callback("mpesa", json.dumps(result).encode(), {}, token=other.callback_token,
                                      route="reversal", ref=refund.pk)
    assert answer.callback.outcome == "rejected" and "token does not match" in answer.callback.reason
    assert answer.http_status == 200
