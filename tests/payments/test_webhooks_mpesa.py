"""M-Pesa end to end: our services and webhooks against the Daraja sandbox over real HTTP."""

import json
import time
from decimal import Decimal

import pytest
import requests

from pos.core.errors import ServiceError
from pos.payments.models import Payment, PaymentCallback
from pos.payments.services import initiate_payment, pay_cash
from tests.payments.flows import fresh, make_sale, sale_of, settled, wait_for

APPROVES, CANCELS, TIMES_OUT, WRONG_PIN = "0708374149", "0700000032", "0700001037", "0700002001"
NO_CALLBACK, NEVER_RESOLVES, CALLS_TWICE = "0700000404", "0700000408", "0700000002"


def push(cashier, sale, amount, phone):
    payment, created = initiate_payment(sale, "mpesa", amount, phone_number=phone, user=cashier)
    assert created
    return payment


def callbacks(payment):
    return list(PaymentCallback.objects.filter(payment=payment).order_by("id"))


def post_callback(sandbox, body, token="", query=""):
    url = f"{sandbox.url}/api/payments/webhooks/mpesa/callback/" + (f"{token}/" if token else "") + query
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url, data=data, headers={"Content-Type": "application/json"}, timeout=10)


def success_body(payment, amount, receipt="QWE1234567"):
    return {"Body": {"stkCallback": {
        "MerchantRequestID": payment.provider_secondary_reference, "CheckoutRequestID": payment.provider_reference,
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": amount},
                                      {"Name": "MpesaReceiptNumber", "Value": receipt},
                                      {"Name": "PhoneNumber", "Value": 254700000404}]}}}}


@pytest.mark.django_db(transaction=True)
def test_approved_push_completes_the_sale_from_the_callback(sandbox, cashier):
    sale = make_sale(cashier, "500.00")
    payment = push(cashier, sale, "500", "+254708374149")
    assert payment.status == "processing" and payment.provider_reference.startswith("ws_CO_")
    assert payment.phone_number == "254708374149"
    payment = settled(payment)
    assert payment.status == "completed" and len(payment.receipt) == 10
    assert payment.amount_received == Decimal("500.00")
    sale = sale_of(payment)
    assert sale.status == "paid" and sale.paid_amount == Decimal("500.00")
    [callback] = wait_for(lambda: [c for c in callbacks(payment) if c.outcome != "received"])
    assert callback.outcome == "applied" and payment.callback_token in callback.path
    assert json.loads(callback.raw_body)["Body"]["stkCallback"]["CheckoutRequestID"] == payment.provider_reference
    actions = list(payment.events.values_list("action", flat=True))
    assert "mpesa.stk_push" in actions and "mpesa.stk_query" in actions and "callback: applied" in actions


@pytest.mark.django_db(transaction=True)
def test_split_tender_cash_and_mpesa_pay_one_sale(sandbox, cashier):
    sale = make_sale(cashier, "800.00")
    pay_cash(sale, amount_tendered=Decimal(500), user=cashier, amount=Decimal(300))
    assert fresh(sale).status == "pending_payment"
    with pytest.raises(ServiceError, match="Only 500.00 is still due"):
        initiate_payment(sale, "mpesa", "600", phone_number=APPROVES, user=cashier)
    payment = settled(push(cashier, sale, "500", APPROVES))
    sale = fresh(sale)
    assert payment.status == "completed" and sale.status == "paid"
    assert sale.paid_amount == Decimal("800.00") and sale.change_due == Decimal("200.00")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("phone, status, code", [(CANCELS, "cancelled", "1032"), (TIMES_OUT, "expired", "1037"),
                                                 (WRONG_PIN, "failed", "2001")])
def test_customer_cancel_timeout_and_wrong_pin_leave_the_sale_unpaid(sandbox, cashier, phone, status, code):
    sale = make_sale(cashier, "250.00")
    payment = settled(push(cashier, sale, "250", phone))
    assert payment.status == status and payment.result_code == code and payment.result_message
    assert not payment.receipt and fresh(sale).status == "pending_payment" and fresh(sale).paid_amount == 0
    assert [c.outcome for c in wait_for(lambda: [c for c in callbacks(payment) if c.outcome != "received"])] == [
        "applied"]
    retry = settled(push(cashier, sale, "250", APPROVES))
    assert retry.status == "completed" and fresh(sale).status == "paid"


@pytest.mark.django_db(transaction=True)
def test_duplicate_callback_completes_once_and_is_recorded_as_duplicate(sandbox, cashier):
    sale = make_sale(cashier, "300.00")
    payment = settled(push(cashier, sale, "300", CALLS_TWICE))
    done = wait_for(lambda: len([c for c in callbacks(payment) if c.outcome != "received"]) == 2)
    assert done
    assert sorted(c.outcome for c in callbacks(payment)) == ["applied", "duplicate"]
    assert fresh(payment).status == "completed" and sale_of(payment).paid_amount == Decimal("300.00")


@pytest.mark.django_db(transaction=True)
def test_forged_callbacks_are_rejected_recorded_and_acknowledged(sandbox, cashier):
    sale = make_sale(cashier, "400.00")
    payment = push(cashier, sale, "400", NEVER_RESOLVES)
    forged = [
        post_callback(sandbox, success_body(payment, 400), token="not-the-token"),
        post_callback(sandbox, success_body(payment, 400)),
        post_callback(sandbox, success_body(payment, 1), token=payment.callback_token),
        post_callback(sandbox, {**success_body(payment, 400), "Body": {"stkCallback": {
            **success_body(payment, 400)["Body"]["stkCallback"], "CheckoutRequestID": "ws_CO_forged"}}},
            token=payment.callback_token),
        post_callback(sandbox, b"{not json", token=payment.callback_token),
    ]
    assert {r.status_code for r in forged} == {200}
    assert all(r.json() == {"ResultCode": 0, "ResultDesc": "Accepted"} for r in forged)
    rows = list(PaymentCallback.objects.order_by("id"))
    assert [r.outcome for r in rows] == ["rejected"] * 5
    reasons = [r.reason for r in rows]
    assert "token does not match" in reasons[0] and "token does not match" in reasons[1]
    assert "Provider reports 1.00, expected 400.00" in reasons[2]
    assert "Unknown payment 'ws_CO_forged'" in reasons[3] and "Malformed" in reasons[4]
    assert rows[4].raw_body == "{not json"
    payment = fresh(payment)
    assert payment.status == "processing" and not payment.receipt and not payment.attention
    assert fresh(sale).paid_amount == 0


@pytest.mark.django_db(transaction=True)
def test_unsigned_success_is_confirmed_with_stk_query_before_completing(sandbox, cashier):
    sale = make_sale(cashier, "400.00")
    payment = push(cashier, sale, "400", NEVER_RESOLVES)
    answer = post_callback(sandbox, success_body(payment, 400), query=f"?token={payment.callback_token}")
    assert answer.status_code == 200
    row = PaymentCallback.objects.get()
    assert row.outcome == "received" and "not confirmed" in row.reason
    assert fresh(payment).status == "processing" and fresh(sale).status == "pending_payment"


@pytest.mark.django_db(transaction=True)
def test_token_in_query_string_is_accepted(sandbox, cashier):
    sale = make_sale(cashier, "400.00")
    payment = push(cashier, sale, "400", NO_CALLBACK)
    time.sleep(0.3)  # the simulated customer pays after the sandbox delay
    post_callback(sandbox, success_body(payment, 400, receipt="QRS7654321"), query=f"?token={payment.callback_token}")
    payment = fresh(payment)
    assert payment.status == "completed" and payment.receipt == "QRS7654321"
    assert PaymentCallback.objects.get().outcome == "applied"


@pytest.mark.django_db(transaction=True)
def test_second_push_while_the_first_is_in_process_tells_the_cashier_to_wait(sandbox, cashier):
    first_sale, second_sale = make_sale(cashier, "150.00"), make_sale(cashier, "150.00")
    push(cashier, first_sale, "150", NEVER_RESOLVES)
    refused, _ = initiate_payment(second_sale, "mpesa", "150", phone_number=NEVER_RESOLVES, user=cashier)
    failed = Payment.objects.get(sale=second_sale)
    assert failed == refused and failed.status == "failed" and failed.result_code == "provider_busy"
    assert "wait up to 2 minutes" in failed.result_message
