"""Airtel Money gateway against the Airtel simulator, over real HTTP on loopback."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.payments.gateways import CallbackError, GatewayError, get_gateway
from pos.payments.models import ProviderToken
from pos.payments.sandbox import state as sandbox_state


def collect(gw_payment, phone="0708374149", amount="200.00"):
    payment = gw_payment("airtel", amount, phone)
    result = get_gateway("airtel").initiate(payment)
    payment.provider_reference = result.provider_reference
    payment.save()
    return payment, result


def test_collection_sends_the_airtel_body_and_the_callback_completes(gw_payment, callback_catcher):
    payment, result = collect(gw_payment, "+254708374149")
    event = payment.events.get(action="airtel.collect")
    assert event.request["body"] == {
        "reference": payment.sale.receipt_number,
        "subscriber": {"country": "KE", "currency": "KES", "msisdn": "708374149"},
        "transaction": {"amount": 200, "country": "KE", "currency": "KES", "id": result.provider_reference},
    }
    assert event.response["status"]["response_code"] == "DP00800001006"  # in process, not paid
    assert result.status == "processing" and result.phone_number == "254708374149"
    [callback] = callback_catcher.wait(1)
    assert callback["path"] == "/api/payments/webhooks/airtel/callback/"
    parsed = get_gateway("airtel").parse_callback(callback["body"], callback["headers"])
    assert parsed.status == "completed" and parsed.result_code == "TS" and parsed.signature_ok is None
    assert parsed.lookup == {"provider_reference": result.provider_reference}
    assert parsed.receipt.startswith("MP")
    confirmed = get_gateway("airtel").verify(payment)
    assert confirmed.status == "completed" and confirmed.receipt == parsed.receipt


def test_failed_collection_reports_tf(gw_payment, callback_catcher):
    payment, _ = collect(gw_payment, "0700000001")
    parsed = get_gateway("airtel").parse_callback(callback_catcher.wait(1)[0]["body"], {})
    assert (parsed.status, parsed.result_code, parsed.receipt) == ("failed", "TF", "")
    status = get_gateway("airtel").verify(payment)
    assert status.status == "failed" and status.result_message == "Insufficient funds"


def test_ambiguous_status_is_asked_again_and_then_succeeds(gw_payment, callback_catcher):
    payment, _ = collect(gw_payment, "0700000002")
    gateway = get_gateway("airtel")
    first = gateway.verify(payment)
    assert (first.status, first.result_code) == ("pending", "TA")
    time.sleep(0.3)
    second = gateway.verify(payment)
    assert (second.status, second.result_code) == ("completed", "TS") and second.receipt
    assert callback_catcher.received == []


def test_no_callback_scenario_is_in_progress_then_succeeds_by_enquiry(gw_payment, callback_catcher, settings):
    settings.SANDBOX_CALLBACK_DELAY = 1.0
    payment, _ = collect(gw_payment, "0700000404")
    gateway = get_gateway("airtel")
    assert gateway.verify(payment).status == "processing"
    time.sleep(1.2)
    assert gateway.verify(payment).status == "completed"
    assert callback_catcher.received == []


def test_unknown_transaction_is_pending(gw_payment, sandbox):
    payment = gw_payment("airtel", "100", "0708374149", provider_reference="POS-NEVER-SENT")
    result = get_gateway("airtel").verify(payment)
    assert result.status == "pending" and result.result_code == "not_found"


def test_callback_hash_is_checked_but_never_rejects_alone(gw_payment, callback_catcher, settings):
    settings.AIRTEL_CALLBACK_SECRET = "airtel-callback-secret"
    collect(gw_payment)
    callback = callback_catcher.wait(1)[0]
    gateway = get_gateway("airtel")
    assert callback["json"]["hash"]
    assert gateway.parse_callback(callback["body"], {}).signature_ok is True
    # The hash algorithm is undocumented: a mismatch or a missing hash is "unknown" (None), never a
    # rejection on its own; every success is confirmed with the status enquiry before it counts.
    forged = dict(callback["json"], transaction=dict(callback["json"]["transaction"], id="SOMEONE-ELSES"))
    assert gateway.parse_callback(json.dumps(forged).encode(), {}).signature_ok is None
    unsigned = {"transaction": callback["json"]["transaction"]}
    assert gateway.parse_callback(json.dumps(unsigned).encode(), {}).signature_ok is None


def test_malformed_callback_is_a_callback_error():
    with pytest.raises(CallbackError, match="transaction.id/status_code missing"):
        get_gateway("airtel").parse_callback(b'{"transaction": {"message": "x"}}', {})


def test_refund_returns_the_whole_payment_once(gw_payment, callback_catcher):
    payment, _ = collect(gw_payment, amount="350")
    payment.receipt = get_gateway("airtel").parse_callback(callback_catcher.wait(1)[0]["body"], {}).receipt
    payment.save()
    gateway = get_gateway("airtel")
    with pytest.raises(ServiceError, match="whole payment"):
        gateway.refund(payment, Decimal(100))
    refunded = gateway.refund(payment, Decimal(350))
    assert refunded.status == "completed" and refunded.provider_reference.startswith("RF")
    assert payment.events.filter(action="airtel.refund").last().request["body"] == {
        "transaction": {"airtel_money_id": payment.receipt}}
    with pytest.raises(GatewayError) as error:
        gateway.refund(payment, Decimal(350))
    assert error.value.code == "DP00800001008"


def test_expired_token_gets_a_401_and_is_replaced_once(gw_payment, callback_catcher):
    ProviderToken.objects.create(provider="airtel", access_token="expired-at-airtel",
                                 expires_at=timezone.now() + timedelta(minutes=2))
    payment, result = collect(gw_payment)
    assert result.status == "processing" and sandbox_state.tokens_issued("airtel") == 1
    assert [(e.action, e.http_status) for e in payment.events.all()] == [
        ("airtel.collect", 401), ("airtel.token", 200), ("airtel.collect", 200)]
    token_event = payment.events.get(action="airtel.token")
    assert token_event.request["body"]["client_secret"] == "***" and token_event.response["access_token"] == "***"


def test_network_error_on_enquiry_is_retried_then_a_gateway_error(gw_payment, sandbox, settings, unused_port):
    ProviderToken.objects.create(provider="airtel", access_token="t", expires_at=timezone.now() + timedelta(hours=1))
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{unused_port}/sandbox"
    payment = gw_payment("airtel", "100", "0708374149", provider_reference="POS1XAB")
    started = time.monotonic()
    with pytest.raises(GatewayError) as error:
        get_gateway("airtel").verify(payment)
    assert error.value.code == "network_error"
    assert time.monotonic() - started >= 0.7  # two retries (0.2 s + 0.5 s) before giving up
    assert payment.events.get().action == "airtel.status"
