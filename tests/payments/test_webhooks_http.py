"""The public webhook endpoints themselves: no login, no CSRF, raw body kept, provider acknowledgement,
throttling."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from pos.payments.models import PaymentCallback

ACKS = {
    "/api/payments/webhooks/mpesa/callback/": {"ResultCode": 0, "ResultDesc": "Accepted"},
    "/api/payments/webhooks/mpesa/reversal/sometoken/": {"ResultCode": 0, "ResultDesc": "Accepted"},
    "/api/payments/webhooks/airtel/callback/": {"status": {"code": "200", "message": "SUCCESS", "success": True}},
    "/api/payments/webhooks/card/callback/": {"status": "success"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("path, ack", ACKS.items())
def test_malformed_bodies_are_recorded_rejected_and_acknowledged(path, ack):
    client = APIClient(enforce_csrf_checks=True)
    answer = client.post(path, data="<xml>nope</xml>", content_type="application/xml", REMOTE_ADDR="196.201.214.200")
    assert answer.status_code == 200 and answer.json() == ack
    row = PaymentCallback.objects.get()
    assert row.outcome == "rejected" and row.reason.startswith("Malformed")
    assert row.raw_body == "<xml>nope</xml>" and row.source_ip == "196.201.214.200" and row.path == path


@pytest.mark.django_db
def test_unknown_payment_references_are_rejected_for_every_provider():
    client = APIClient()
    client.post("/api/payments/webhooks/airtel/callback/",
                {"transaction": {"id": "POS0XNOPE", "status_code": "TS", "airtel_money_id": "MP1"}}, format="json")
    client.post("/api/payments/webhooks/card/callback/",
                {"event": "charge.completed", "data": {"tx_ref": "POS-0-nope", "status": "successful",
                                                       "amount": 10, "currency": "KES"}},
                format="json", HTTP_VERIF_HASH="sandbox-secret-hash")
    reasons = list(PaymentCallback.objects.order_by("id").values_list("outcome", "reason"))
    assert reasons == [("rejected", "Unknown payment 'POS0XNOPE'."), ("rejected", "Unknown payment 'POS-0-nope'.")]


@pytest.mark.django_db
def test_unmatched_webhooks_are_stored_first_then_rate_limited_per_source(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"webhook": "3/min"}}
    cache.clear()
    client = APIClient()
    codes = [client.post("/api/payments/webhooks/airtel/callback/", data="{}", content_type="application/json",
                         REMOTE_ADDR="10.0.0.9").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert PaymentCallback.objects.count() == 4  # the limited one is stored too
    cache.clear()


@pytest.mark.django_db
def test_only_post_is_accepted():
    assert APIClient().get("/api/payments/webhooks/card/callback/").status_code == 405


@pytest.mark.django_db
def test_mpesa_callback_from_outside_the_allow_list_is_noted_not_rejected_for_that(settings):
    settings.MPESA_ALLOWED_IPS = ["196.201.214.200"]
    APIClient().post("/api/payments/webhooks/mpesa/callback/tok/", data="{}", content_type="application/json",
                     REMOTE_ADDR="203.0.113.7")
    row = PaymentCallback.objects.get()
    assert row.reason.startswith("[source 203.0.113.7 not in MPESA_ALLOWED_IPS] Malformed")
