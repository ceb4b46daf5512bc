"""What Safaricom, Airtel and Flutterwave really send (gateways.md, "Seen in real traffic"), driven
through the sandbox's scenarios over real HTTP, and hostile bodies at the webhooks."""

import base64
import hashlib
import hmac
import json

import pytest
import requests
from django.core.cache import caches
from rest_framework.test import APIClient

from pos.core.books import check_books
from pos.payments import services
from pos.payments.models import Payment, PaymentCallback
from tests.payments.flows import fresh, make_sale, sale_of, settled, wait_for

APPROVES = "0708374149"


def push(cashier, price, phone, method="mpesa"):
    payment, _ = services.initiate_payment(make_sale(cashier, price), method, price, phone_number=phone, user=cashier)
    return payment


def stk_body(payment, code=0, desc="ok", items=None, checkout_id=None):
    stk = {"MerchantRequestID": "1-2-3", "CheckoutRequestID": checkout_id or payment.provider_reference or "ws_CO_x",
           "ResultCode": code, "ResultDesc": desc}
    if items is not None:
        stk["CallbackMetadata"] = {"Item": items}
    return json.dumps({"Body": {"stkCallback": stk}}).encode()


# --- M-Pesa ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("phone", "status", "code"), [
    ("0700000003", "failed", "SFC_IC0003"), ("0700001031", "cancelled", "1031"), ("0700001019", "expired", "1019")])
@pytest.mark.django_db(transaction=True)
def test_result_codes_as_real_callbacks_carry_them(sandbox, cashier, phone, status, code):
    payment = settled(push(cashier, "150.00", phone))
    assert (payment.status, payment.result_code) == (status, code)
    if code == "SFC_IC0003":
        assert "operator does not exist" in payment.result_message  # the cause is shown
    assert wait_for(lambda: PaymentCallback.objects.filter(payment=payment, outcome="applied").exists())


@pytest.mark.django_db(transaction=True)
def test_receipt_is_kept_when_the_query_lags_the_callback(sandbox, cashier, settings):
    settings.SANDBOX_QUERY_LAG = 1.5
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    payment = push(cashier, "180.00", "0700000409")
    wait_for(lambda: PaymentCallback.objects.filter(payment=payment).exists())
    payment = fresh(payment)
    assert payment.status == "processing" and payment.reported_receipt  # the query said "being processed"
    receipt = payment.reported_receipt
    wait_for(lambda: False, timeout=1.6)
    services.recheck_money()
    payment = fresh(payment)
    assert payment.status == "completed" and payment.receipt == receipt
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_sandbox_push_acted_on_but_answered_500_is_unconfirmed_then_completed(sandbox, cashier):
    payment = push(cashier, "210.00", "0700000500")
    assert payment.status == "unconfirmed" and payment.result_code == "http_500"
    payment = settled(payment)
    assert payment.status == "completed" and payment.receipt and payment.provider_reference
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_callback_on_a_payments_token_url_is_matched_even_without_its_checkout_id(sandbox, cashier):
    payment = push(cashier, "90.00", "0700000408")  # never resolves: the real callback never comes
    Payment.objects.filter(pk=payment.pk).update(provider_reference="", status="unconfirmed")
    answer = services.handle_callback("mpesa", stk_body(payment, 1032, "Request cancelled by user",
                                                        checkout_id="ws_CO_unseen"), {}, token=payment.callback_token)
    payment = fresh(payment)
    assert answer.callback.outcome == "applied" and payment.status == "cancelled"
    assert payment.provider_reference == "ws_CO_unseen"


# --- webhooks: stored first, always ------------------------------------------------------------------
@pytest.mark.django_db
def test_nul_bytes_and_absurd_numbers_are_stored_escaped_and_acknowledged(cashier):
    client = APIClient()
    nul = client.post("/api/payments/webhooks/mpesa/callback/tok/", data=b'{"Body": "\x00\x00 nul"}',
                      content_type="application/json")
    absurd = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0, "CallbackMetadata": {
        "Item": [{"Name": "Amount", "Value": 1e308}, {"Name": "MpesaReceiptNumber", "Value": "X"}]}}}}
    big = client.post("/api/payments/webhooks/mpesa/callback/tok/", data=json.dumps(absurd).replace("1e+308", "9" * 400),
                      content_type="application/json")
    card = client.post("/api/payments/webhooks/card/callback/",
                       data=json.dumps({"event": "charge.completed", "data": {"tx_ref": "x\u0000y", "amount": -5}}),
                       content_type="application/json", HTTP_VERIF_HASH="sandbox-secret-hash")
    assert [nul.status_code, big.status_code, card.status_code] == [200, 200, 200]
    assert nul.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    rows = list(PaymentCallback.objects.order_by("id"))
    assert len(rows) == 3 and "\\u0000\\u0000 nul" in rows[0].raw_body and "\x00" not in rows[0].raw_body
    assert all(row.outcome == "rejected" for row in rows)
    assert "absurd amount" in rows[1].reason or "Unknown" in rows[1].reason
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_cache_outage_never_turns_a_callback_into_a_500(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"webhook": "1/min"}}
    try:
        client = APIClient()
        codes = [client.post("/api/payments/webhooks/airtel/callback/", data="{}", content_type="application/json")
                 .status_code for _ in range(3)]
    finally:
        caches["default"].close()
    assert codes == [200, 200, 200]
    assert PaymentCallback.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_flood_of_200_callbacks_is_all_stored_and_matching_ones_are_never_limited(sandbox, cashier, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"webhook": "20/min"}}
    caches["default"].clear()
    payment = push(cashier, "100.00", "0700000408")
    url = f"{sandbox.url}/api/payments/webhooks/mpesa/callback/"
    session = requests.Session()
    codes = {"match": [], "junk": []}
    for n in range(200):
        if n % 2:
            body = stk_body(payment, 1032, "Request cancelled by user")
            codes["match"].append(session.post(url + payment.callback_token + "/", data=body, timeout=10).status_code)
        else:
            codes["junk"].append(session.post(url + f"nope{n}/", data=b"{}", timeout=10).status_code)
    assert PaymentCallback.objects.count() == 200
    assert set(codes["match"]) == {200}
    assert 500 not in codes["junk"] and codes["junk"].count(429) == 100 - 20
    assert fresh(payment).status == "cancelled"
    assert PaymentCallback.objects.filter(payment=payment, outcome="applied").count() == 1


# --- Flutterwave -------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_flutterwave_v4_payload_signed_with_flutterwave_signature_is_accepted(sandbox, cashier):
    payment = push(cashier, "640.00", "", method="card")
    requests.post(f"{sandbox.url}/sandbox/flutterwave/simulate/{payment.provider_reference}/", json={"v4": True},
                  timeout=10)
    payment = settled(payment)
    assert payment.status == "completed" and sale_of(payment).status == "paid"
    stored = PaymentCallback.objects.get(payment=payment)
    assert stored.signature_ok is True and '"type": "charge.completed"' in stored.raw_body


@pytest.mark.django_db
def test_flutterwave_signature_is_checked_over_the_raw_body(settings):
    body = json.dumps({"type": "charge.completed", "data": {"reference": "POS-0-x", "status": "succeeded"}}).encode()
    good = base64.b64encode(hmac.new(b"sandbox-secret-hash", body, hashlib.sha256).digest()).decode()
    client = APIClient()
    client.post("/api/payments/webhooks/card/callback/", data=body, content_type="application/json",
                HTTP_FLUTTERWAVE_SIGNATURE=good)
    client.post("/api/payments/webhooks/card/callback/", data=body, content_type="application/json",
                HTTP_FLUTTERWAVE_SIGNATURE=base64.b64encode(b"forged" * 6).decode())
    first, second = PaymentCallback.objects.order_by("id")
    assert first.reason == "Unknown payment 'POS-0-x'." and second.reason == "Bad signature."
