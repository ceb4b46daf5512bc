"""M-Pesa gateway against the Daraja simulator, over real HTTP on loopback."""

import base64
import json
import re
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.payments.gateways import CallbackError, GatewayError, get_gateway
from pos.payments.models import PaymentEvent, ProviderToken
from pos.payments.sandbox import state as sandbox_state
from tests.payments.conftest import in_threads

PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def push(gw_payment, phone="0708374149", amount="100.00"):
    payment = gw_payment("mpesa", amount, phone)
    result = get_gateway("mpesa").initiate(payment)
    payment.provider_reference = result.provider_reference
    payment.provider_secondary_reference = result.secondary_reference
    payment.save()
    return payment, result


def logged_body(payment, action):
    return PaymentEvent.objects.filter(payment=payment, action=action).last().request["body"]


def test_stk_push_to_a_paybill_sends_exactly_the_daraja_fields(gw_payment, callback_catcher):
    payment, result = push(gw_payment, "+254708374149", "150.00")
    body = logged_body(payment, "mpesa.stk_push")
    assert set(body) == {"BusinessShortCode", "Password", "Timestamp", "TransactionType", "Amount", "PartyA",
                         "PartyB", "PhoneNumber", "CallBackURL", "AccountReference", "TransactionDesc"}
    assert body["BusinessShortCode"] == "174379" and body["TransactionType"] == "CustomerPayBillOnline"
    assert body["Amount"] == 150 and body["PartyA"] == body["PhoneNumber"] == "254708374149"
    assert body["PartyB"] == "174379" and body["Password"] == "***"
    assert body["AccountReference"] == payment.sale.receipt_number and len(body["TransactionDesc"]) <= 13
    assert body["CallBackURL"] == f"{callback_catcher.url}/api/payments/webhooks/mpesa/callback/***/"
    sent = datetime.strptime(body["Timestamp"], "%Y%m%d%H%M%S").replace(tzinfo=ZoneInfo("Africa/Nairobi"))
    assert abs(timezone.now() - sent) < timedelta(minutes=1)
    # Accepted is not paid: the push only says the prompt is on its way.
    assert result.status == "processing" and result.provider_reference.startswith("ws_CO_")
    assert result.secondary_reference and result.receipt == "" and result.amount == Decimal(150)
    [callback] = callback_catcher.wait(1)
    assert callback["path"] == f"/api/payments/webhooks/mpesa/callback/{payment.callback_token}/"


def test_password_is_base64_of_shortcode_passkey_and_timestamp():
    expected = base64.b64encode(f"174379{PASSKEY}20240101120000".encode()).decode()
    assert get_gateway("mpesa").password("20240101120000") == expected


def test_till_push_uses_buy_goods_with_the_till_as_party_b(gw_payment, callback_catcher, settings):
    settings.MPESA_TRANSACTION_TYPE = "CustomerBuyGoodsOnline"
    settings.MPESA_TILL_NUMBER = "5123456"
    payment, _ = push(gw_payment)
    body = logged_body(payment, "mpesa.stk_push")
    assert body["TransactionType"] == "CustomerBuyGoodsOnline"
    assert body["BusinessShortCode"] == "174379" and body["PartyB"] == "5123456"
    parsed = get_gateway("mpesa").parse_callback(callback_catcher.wait(1)[0]["body"], {})
    assert parsed.status == "completed"


def test_a_till_without_its_number_is_refused_before_any_call(gw_payment, sandbox, settings):
    settings.MPESA_TRANSACTION_TYPE = "CustomerBuyGoodsOnline"
    settings.MPESA_TILL_NUMBER = ""
    payment = gw_payment("mpesa", "100", "0708374149")
    with pytest.raises(GatewayError) as error:
        get_gateway("mpesa").initiate(payment)
    assert error.value.code == "not_configured"
    assert not payment.events.filter(action="mpesa.stk_push").exists()


def test_cents_are_refused_not_rounded(gw_payment, sandbox):
    payment = gw_payment("mpesa", "100.50", "0708374149")
    with pytest.raises(ServiceError) as error:
        get_gateway("mpesa").initiate(payment)
    assert error.value.field == "amount" and "whole shillings" in error.value.message
    assert not payment.events.exists()


@pytest.mark.parametrize("phone, status, code", [
    ("0708374149", "completed", "0"),
    ("254700000032", "cancelled", "1032"),
    ("254700001037", "expired", "1037"),
    ("254700002001", "failed", "2001"),
    ("254700000001", "failed", "1"),
])
def test_each_scenario_calls_back_with_its_result(gw_payment, callback_catcher, phone, status, code):
    payment, result = push(gw_payment, phone, "250.00")
    [callback] = callback_catcher.wait(1)
    parsed = get_gateway("mpesa").parse_callback(callback["body"], callback["headers"], payment.callback_token)
    assert parsed.kind == "payment" and parsed.signature_ok is None
    assert parsed.lookup == {"provider_reference": result.provider_reference}
    assert parsed.secondary_reference == result.secondary_reference
    assert (parsed.status, parsed.result_code) == (status, code) and parsed.result_message
    if status == "completed":
        assert re.fullmatch(r"[A-Z0-9]{10}", parsed.receipt)
        assert parsed.amount == Decimal(250) and parsed.phone_number == "254708374149"
        items = callback["json"]["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
        assert {"Name": "Balance"} in items  # an item without Value is tolerated
    else:
        assert parsed.receipt == "" and parsed.amount is None
        assert "CallbackMetadata" not in callback["json"]["Body"]["stkCallback"]


def test_duplicate_scenario_calls_back_twice_with_the_same_body(gw_payment, callback_catcher):
    push(gw_payment, "254700000002")
    first, second = callback_catcher.wait(2)
    assert first["body"] == second["body"]
    gateway = get_gateway("mpesa")
    assert gateway.parse_callback(first["body"], {}).receipt == gateway.parse_callback(second["body"], {}).receipt


def test_query_is_pending_until_the_customer_acts_then_done_without_a_callback(gw_payment, callback_catcher,
                                                                              settings):
    settings.SANDBOX_CALLBACK_DELAY = 1.0
    payment, _ = push(gw_payment, "254700000404")
    gateway = get_gateway("mpesa")
    waiting = gateway.verify(payment)
    assert waiting.status == "pending" and waiting.result_code == "500.001.1001"
    time.sleep(1.2)
    done = gateway.verify(payment)
    assert done.status == "completed" and done.result_code == "0" and done.receipt == ""
    assert done.provider_reference == payment.provider_reference
    time.sleep(0.3)
    assert callback_catcher.received == []


def test_query_stays_pending_when_the_customer_never_answers(gw_payment, callback_catcher):
    payment, _ = push(gw_payment, "254700000408")
    time.sleep(0.5)
    result = get_gateway("mpesa").verify(payment)
    assert result.status == "pending" and "being processed" in result.result_message
    assert callback_catcher.received == []


def test_query_reports_a_cancellation(gw_payment, callback_catcher):
    payment, _ = push(gw_payment, "254700000032")
    callback_catcher.wait(1)
    result = get_gateway("mpesa").verify(payment)
    assert (result.status, result.result_code) == ("cancelled", "1032")


def test_second_push_while_the_first_is_in_process_is_refused(gw_payment, callback_catcher):
    push(gw_payment, "254700000408", "300")
    with pytest.raises(GatewayError) as error:
        push(gw_payment, "254700000408", "300")
    assert error.value.code == "500.001.1001" and "already in process" in error.value.message
    _, other_amount = push(gw_payment, "254700000408", "301")
    assert other_amount.status == "processing"


def test_a_new_push_is_accepted_once_the_first_is_over(gw_payment, callback_catcher):
    push(gw_payment, "0708374149", "300")
    callback_catcher.wait(1)
    _, again = push(gw_payment, "0708374149", "300")
    assert again.status == "processing"


def test_token_is_fetched_once_for_eight_concurrent_workers(gw_payment, sandbox):
    payment = gw_payment("mpesa", "100", "0708374149")

    def worker():
        return get_gateway("mpesa").token(payment)

    tokens = in_threads(8, worker)
    assert len(set(tokens)) == 1 and sandbox_state.tokens_issued("mpesa") == 1
    assert ProviderToken.objects.get(provider="mpesa").access_token == tokens[0]


def test_token_is_refreshed_a_minute_before_it_expires(gw_payment, callback_catcher):
    push(gw_payment, "0708374149", "100")
    assert sandbox_state.tokens_issued("mpesa") == 1
    ProviderToken.objects.filter(provider="mpesa").update(expires_at=timezone.now() + timedelta(seconds=50))
    _, result = push(gw_payment, "0708374149", "101")
    assert result.status == "processing" and sandbox_state.tokens_issued("mpesa") == 2
    assert ProviderToken.objects.get(provider="mpesa").expires_at > timezone.now() + timedelta(minutes=55)


def test_a_token_refused_as_invalid_is_replaced_once_and_the_push_repeated(gw_payment, callback_catcher):
    ProviderToken.objects.create(provider="mpesa", access_token="replaced-elsewhere",
                                 expires_at=timezone.now() + timedelta(hours=1))
    payment, result = push(gw_payment, "0708374149")
    assert result.status == "processing"
    actions = [(e.action, e.response.get("errorCode", "")) for e in payment.events.all()]
    assert actions == [("mpesa.stk_push", "404.001.03"), ("mpesa.token", ""), ("mpesa.stk_push", "")]


def test_reversal_is_accepted_then_its_result_arrives_at_the_result_url(gw_payment, callback_catcher):
    payment, _ = push(gw_payment, "0708374149", "500")
    paid = get_gateway("mpesa").parse_callback(callback_catcher.wait(1)[0]["body"], {})
    payment.receipt = paid.receipt
    payment.save()
    gateway = get_gateway("mpesa")
    accepted = gateway.refund(payment, Decimal(500))
    assert accepted.status == "processing" and accepted.provider_reference.startswith("AG_")
    body = logged_body(payment, "mpesa.reversal")
    assert body["CommandID"] == "TransactionReversal" and body["TransactionID"] == paid.receipt
    assert body["RecieverIdentifierType"] == "11" and body["SecurityCredential"] == "***"
    assert body["Amount"] == 500 and body["ReceiverParty"] == "174379"
    result_callback = callback_catcher.wait(2)[1]
    assert result_callback["path"] == f"/api/payments/webhooks/mpesa/reversal/{payment.callback_token}/"
    result = gateway.parse_callback(result_callback["body"], {}, payment.callback_token)
    assert result.kind == "refund" and result.status == "completed" and result.amount == Decimal(500)
    assert result.lookup == {"provider_reference": accepted.provider_reference} and result.receipt

    gateway.refund(payment, Decimal(500))
    again = gateway.parse_callback(callback_catcher.wait(3)[2]["body"], {})
    assert (again.kind, again.status, again.result_code) == ("refund", "failed", "R000001")


def test_a_reversal_needs_a_receipt(gw_payment, sandbox):
    payment = gw_payment("mpesa", "100", "0708374149")
    with pytest.raises(ServiceError):
        get_gateway("mpesa").refund(payment, Decimal(100))


@pytest.mark.parametrize("body, reason", [
    (b"not json", "not JSON"),
    (b"[]", "not a JSON object"),
    (json.dumps({"Body": {}}).encode(), "not an STK callback"),
    (json.dumps({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": ""}}}).encode(),
     "ResultCode is empty"),
    (json.dumps({"Result": {}}).encode(), "not a reversal result"),
])
def test_malformed_callbacks_raise_callback_error_with_the_reason(body, reason):
    gateway = get_gateway("mpesa")
    with pytest.raises(CallbackError, match=reason):
        gateway.parse_callback(body, {})
    assert gateway.acknowledgement(None) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})


def test_network_error_is_a_gateway_error_and_is_logged(gw_payment, sandbox, settings, unused_port):
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{unused_port}/sandbox"
    payment = gw_payment("mpesa", "100", "0708374149")
    started = time.monotonic()
    with pytest.raises(GatewayError) as error:
        get_gateway("mpesa").initiate(payment)
    assert error.value.code == "network_error" and time.monotonic() - started < 5
    event = payment.events.get()
    assert event.action == "mpesa.token" and event.http_status is None and "connection error" in event.error


def test_no_secret_reaches_the_payment_events(gw_payment, callback_catcher):
    payment, _ = push(gw_payment, "0708374149", "100")
    payment.receipt = get_gateway("mpesa").parse_callback(callback_catcher.wait(1)[0]["body"], {}).receipt
    payment.save()
    get_gateway("mpesa").verify(payment)
    get_gateway("mpesa").refund(payment, Decimal(100))
    token = ProviderToken.objects.get(provider="mpesa").access_token
    logged = json.dumps([[e.request, e.response, e.error] for e in payment.events.all()])
    assert {"mpesa.token", "mpesa.stk_push", "mpesa.stk_query", "mpesa.reversal"} <= set(
        payment.events.values_list("action", flat=True))
    password = get_gateway("mpesa").password("2024")[:20]
    for secret in (PASSKEY, token, payment.callback_token, "sandbox-consumer-secret", "sandbox-credential",
                   "Bearer", "Basic", password):
        assert secret not in logged
