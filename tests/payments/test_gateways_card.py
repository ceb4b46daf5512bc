"""Card gateway (Flutterwave v3) against the Flutterwave simulator, over real HTTP on loopback."""

import json
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.conf import settings

from pos.payments.gateways import CallbackError, GatewayError, get_gateway


def start(gw_payment, amount="1000.00"):
    payment = gw_payment("card", amount)
    result = get_gateway("card").initiate(payment)
    payment.provider_reference = result.provider_reference
    payment.redirect_url = result.redirect_url
    payment.save()
    return payment, result


def simulate(tx_ref, **options):
    """What the hosted page's buttons do, through the sandbox's control endpoint."""
    response = requests.post(f"{settings.SANDBOX_BASE_URL}/flutterwave/simulate/{tx_ref}/", json=options, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_pay_button_on_the_hosted_page_sends_a_signed_webhook(gw_payment, callback_catcher):
    payment, result = start(gw_payment)
    assert result.status == "processing" and result.redirect_url.endswith(f"/pay/{result.provider_reference}/")
    body = payment.events.get(action="card.initiate").request["body"]
    assert body["tx_ref"] == result.provider_reference and body["amount"] == 1000 and body["currency"] == "KES"
    assert body["customer"]["email"] and body["redirect_url"].startswith("http")

    page = requests.get(result.redirect_url, timeout=10)
    assert page.status_code == 200 and "KES 1000.00" in page.text
    assert re.search(r'<form method="post">.*id="pay".*id="decline"', page.text)
    paid = requests.post(result.redirect_url, data={"outcome": "successful"}, allow_redirects=False, timeout=10)
    assert paid.status_code == 302
    back = parse_qs(urlparse(paid.headers["Location"]).query)
    assert back["status"] == ["successful"] and back["tx_ref"] == [result.provider_reference]

    [webhook] = callback_catcher.wait(1)
    assert webhook["path"] == "/api/payments/webhooks/card/callback/"
    parsed = get_gateway("card").parse_callback(webhook["body"], webhook["headers"])
    assert parsed.signature_ok is True and parsed.status == "completed" and parsed.kind == "payment"
    assert parsed.lookup == {"provider_reference": result.provider_reference}
    assert parsed.secondary_reference == back["transaction_id"][0] and parsed.receipt.startswith("FLW-MOCK-")
    assert (parsed.amount, parsed.currency) == (Decimal(1000), "KES")

    payment.provider_secondary_reference = parsed.secondary_reference
    payment.save()
    verified = get_gateway("card").verify(payment)
    assert verified.status == "completed" and verified.receipt == parsed.receipt
    assert payment.events.filter(action="card.verify").last().request["url"].endswith(
        f"/v3/transactions/{parsed.secondary_reference}/verify")


def test_webhook_with_a_wrong_hash_is_marked_unsigned(gw_payment, callback_catcher):
    _, result = start(gw_payment)
    simulate(result.provider_reference, outcome="successful", bad_signature=True)
    webhook = callback_catcher.wait(1)[0]
    parsed = get_gateway("card").parse_callback(webhook["body"], webhook["headers"])
    assert parsed.signature_ok is False
    assert get_gateway("card").parse_callback(webhook["body"], {}).signature_ok is False


def test_duplicate_webhook_is_sent_twice(gw_payment, callback_catcher):
    _, result = start(gw_payment)
    simulate(result.provider_reference, outcome="successful", duplicate=True)
    first, second = callback_catcher.wait(2)
    assert first["body"] == second["body"]


def test_decline_button_and_amounts_ending_in_13_fail(gw_payment, callback_catcher):
    _, declined = start(gw_payment, "500.00")
    requests.post(declined.redirect_url, data={"outcome": "failed"}, allow_redirects=False, timeout=10)
    _, unlucky = start(gw_payment, "500.13")
    requests.post(unlucky.redirect_url, data={"outcome": "successful"}, allow_redirects=False, timeout=10)
    parsed = [get_gateway("card").parse_callback(w["body"], w["headers"]) for w in callback_catcher.wait(2)]
    assert {(p.provider_reference, p.status) for p in parsed} == {
        (declined.provider_reference, "failed"), (unlucky.provider_reference, "failed")}


def test_verify_by_reference_is_pending_before_payment_then_follows_the_charge(gw_payment, callback_catcher):
    payment, result = start(gw_payment, "800.13")
    before = get_gateway("card").verify(payment)
    assert before.status == "pending" and before.result_code == "not_found"
    simulate(result.provider_reference, outcome="successful")
    after = get_gateway("card").verify(payment)
    assert after.status == "failed" and after.result_code == "failed" and after.secondary_reference
    assert "verify_by_reference" in payment.events.filter(action="card.verify").last().request["url"]


@pytest.mark.parametrize("charged, code", [
    ({"amount": "999.99"}, "amount_too_low"),
    ({"currency": "USD"}, "currency_mismatch"),
])
def test_a_successful_charge_that_does_not_match_the_order_is_not_completed(gw_payment, callback_catcher,
                                                                           charged, code):
    payment, result = start(gw_payment, "1000.00")
    data = simulate(result.provider_reference, outcome="successful", **charged)
    payment.provider_secondary_reference = str(data["id"])
    payment.save()
    verified = get_gateway("card").verify(payment)
    assert verified.status == "failed" and verified.result_code == code


def test_a_transaction_id_of_another_order_is_not_accepted(gw_payment, callback_catcher):
    mine, _ = start(gw_payment, "1000.00")
    _, other = start(gw_payment, "1000.00")
    data = simulate(other.provider_reference, outcome="successful")
    mine.provider_secondary_reference = str(data["id"])
    mine.save()
    verified = get_gateway("card").verify(mine)
    assert verified.status == "failed" and verified.result_code == "tx_ref_mismatch"


def test_overpayment_still_completes_and_reports_the_amount(gw_payment, callback_catcher):
    payment, result = start(gw_payment, "1000.00")
    data = simulate(result.provider_reference, outcome="successful", amount="1200")
    payment.provider_secondary_reference = str(data["id"])
    payment.save()
    verified = get_gateway("card").verify(payment)
    assert verified.status == "completed" and verified.amount == Decimal(1200)


def test_partial_refunds_up_to_the_amount_paid(gw_payment, callback_catcher):
    payment, result = start(gw_payment, "100.00")
    data = simulate(result.provider_reference, outcome="successful")
    payment.provider_secondary_reference = str(data["id"])
    payment.save()
    gateway = get_gateway("card")
    first = gateway.refund(payment, Decimal("40.50"))
    assert first.status == "completed" and first.amount == Decimal("40.5") and first.provider_reference
    assert payment.events.filter(action="card.refund").last().request["body"] == {"amount": 40.5,
                                                                                   "comments": "Refund"}
    with pytest.raises(GatewayError, match="exceeds"):
        gateway.refund(payment, Decimal(60))
    assert gateway.refund(payment, Decimal("59.50")).status == "completed"


@pytest.mark.parametrize("body, reason", [
    (b"{}", "not a charge.completed event"),
    (json.dumps({"event": "charge.completed", "data": {"id": 1}}).encode(), "with a tx_ref"),
    (b"\xff", "not JSON"),
])
def test_malformed_webhooks_raise_callback_error(body, reason):
    with pytest.raises(CallbackError, match=reason):
        get_gateway("card").parse_callback(body, {"verif-hash": "sandbox-secret-hash"})


def test_signature_is_false_when_no_secret_hash_is_configured(settings):
    settings.FLUTTERWAVE_SECRET_HASH = ""
    body = json.dumps({"event": "charge.completed", "data": {"tx_ref": "POS-1", "status": "successful"}}).encode()
    assert get_gateway("card").parse_callback(body, {"verif-hash": ""}).signature_ok is False
