"""The C2B URLs Daraja calls: raw first, idempotent on TransID, Daraja's exact answers, forged ones ignored."""

from decimal import Decimal

import pytest

from pos.c2b.models import C2BNotification, NotificationOutcome, ReceiptState, ReceivedPayment
from pos.c2b.services import sale_reference
from pos.payments.models import Payment
from tests.c2b.conftest import c2b_body

pytestmark = pytest.mark.django_db


def test_confirmation_is_stored_raw_and_answered_as_daraja_expects(post_c2b):
    body = c2b_body("SKL1A2B3C4", "480.00", bill_ref="", msisdn="2547*****149")
    response = post_c2b("confirmation", body)
    assert response.status_code == 200
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    notice = C2BNotification.objects.get()
    assert notice.raw_body and '"SKL1A2B3C4"' in notice.raw_body
    assert (notice.outcome, notice.token_ok, notice.trans_id) == (NotificationOutcome.STORED, True, "SKL1A2B3C4")
    receipt = ReceivedPayment.objects.get()
    assert (receipt.trans_id, receipt.amount, receipt.state) == ("SKL1A2B3C4", Decimal("480.00"), "unmatched")
    assert receipt.msisdn == "2547*****149" and receipt.payer == "WANJIKU KAMAU"
    assert receipt.trans_time is not None


def test_sha256_msisdn_is_kept_as_given(post_c2b):
    digest = "a" * 64
    post_c2b("confirmation", c2b_body("SKL1A2B3C5", "10.00", msisdn=digest))
    assert ReceivedPayment.objects.get().msisdn == digest


def test_duplicate_confirmations_change_nothing(post_c2b, sell):
    sale = sell("500.00")
    body = c2b_body("SKD0UBLE01", "500.00", bill_ref=sale_reference(sale), kind="Pay Bill")
    first = post_c2b("confirmation", body)
    sale.refresh_from_db()
    assert sale.status == "paid" and sale.paid_amount == Decimal("500.00")
    for _ in range(2):
        again = post_c2b("confirmation", body)
        assert again.json() == first.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    sale.refresh_from_db()
    assert ReceivedPayment.objects.count() == 1
    assert Payment.objects.filter(sale=sale).count() == 1
    assert sale.paid_amount == Decimal("500.00")
    outcomes = list(C2BNotification.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["stored", "duplicate", "duplicate"]


@pytest.mark.parametrize("token", ["wrong-token", "x"])
def test_forged_confirmation_without_the_token_is_stored_and_ignored(post_c2b, sell, token):
    sale = sell("500.00")
    body = c2b_body("SKF0RGED01", "500.00", bill_ref=sale_reference(sale), kind="Pay Bill")
    response = post_c2b("confirmation", body, token=token)
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    notice = C2BNotification.objects.get()
    assert notice.outcome == NotificationOutcome.FORGED and not notice.token_ok
    assert "SKF0RGED01" in notice.raw_body
    assert not ReceivedPayment.objects.exists()
    sale.refresh_from_db()
    assert sale.status == "pending_payment" and sale.paid_amount == 0
    # The real one, later, is taken normally: the forged one reserved nothing.
    post_c2b("confirmation", body)
    sale.refresh_from_db()
    assert sale.status == "paid"


def test_no_token_configured_means_every_notification_is_ignored(post_c2b, settings):
    settings.C2B_URL_TOKEN = ""
    post_c2b("confirmation", c2b_body("SKN0T0KEN1"), token="anything")
    assert C2BNotification.objects.get().outcome == NotificationOutcome.FORGED
    assert not ReceivedPayment.objects.exists()


def test_malformed_confirmation_is_kept_and_acknowledged(post_c2b):
    response = post_c2b("confirmation", None, raw="{not json")
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    notice = C2BNotification.objects.get()
    assert notice.raw_body == "{not json" and notice.outcome == NotificationOutcome.MALFORMED
    assert not ReceivedPayment.objects.exists()


def test_validation_accepts_by_default(post_c2b):
    response = post_c2b("validation", c2b_body("SKVAL00001", "90.00", bill_ref="nothing", kind="Pay Bill"))
    assert response.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    assert not ReceivedPayment.objects.exists()  # validation is not money yet
    assert C2BNotification.objects.get().outcome == NotificationOutcome.ACCEPTED


def test_validation_refuses_an_account_number_naming_no_open_sale(post_c2b, sell, settings):
    settings.C2B_VALIDATE_ACCOUNT = True
    sale = sell("90.00")
    refused = post_c2b("validation", c2b_body("SKVAL00002", "90.00", bill_ref="99999", kind="Pay Bill"))
    assert refused.json() == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
    accepted = post_c2b("validation", c2b_body("SKVAL00003", "90.00", bill_ref=sale_reference(sale), kind="Pay Bill"))
    assert accepted.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    # Buy Goods carries no account number: never refused for it.
    till = post_c2b("validation", c2b_body("SKVAL00004", "90.00", bill_ref="", kind="Buy Goods"))
    assert till.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}


def test_a_confirmation_for_an_stk_receipt_links_to_that_payment(post_c2b, sell):
    sale = sell("300.00")
    stk = Payment.objects.create(sale=sale, method="mpesa", amount=Decimal("300.00"), status="completed",
                                 receipt="SKSTK00001", provider_reference="ws_CO_1")
    post_c2b("confirmation", c2b_body("SKSTK00001", "300.00"))
    receipt = ReceivedPayment.objects.get()
    assert (receipt.state, receipt.payment_id, receipt.match_rule) == (ReceiptState.MATCHED, stk.pk, "stk")
    assert Payment.objects.filter(sale=sale).count() == 1


def test_urls_registered_are_free_of_words_daraja_refuses(settings):
    from pos.c2b.services import FORBIDDEN_WORDS, c2b_urls
    from pos.core.errors import ServiceError

    settings.PUBLIC_BASE_URL = "https://shop.example.co.ke"
    urls = c2b_urls()
    assert urls["ConfirmationURL"].endswith("/confirmation/") and settings.C2B_URL_TOKEN in urls["ValidationURL"]
    for url in urls.values():
        assert not any(word in url.lower() for word in FORBIDDEN_WORDS)
    settings.C2B_URL_TOKEN = "abcSQLdef"
    with pytest.raises(ServiceError) as refused:
        c2b_urls()
    assert refused.value.code == "forbidden_word"


def test_c2b_notice_of_an_stk_payment_before_its_callback_is_never_counted_twice(post_c2b, sell, cashier):
    from pos.c2b.services.reconciliation import link_stk_receipts, receipts_missing_from_books

    sale = sell("260.00")
    stk = Payment.objects.create(sale=sale, method="mpesa", amount=Decimal("260.00"), status="processing",
                                 phone_number="254708374149", provider_reference="ws_CO_EARLY")
    post_c2b("confirmation", c2b_body("SKEARLYSTK", "260.00"))  # the paybill notifies C2B before the STK callback
    receipt = ReceivedPayment.objects.get()
    assert receipt.state == "unmatched"  # the sale's money is in flight: nothing due to match
    Payment.objects.filter(pk=stk.pk).update(status="completed", receipt="SKEARLYSTK")  # the STK callback, later
    assert services_till_incoming(sale) == []  # the till does not offer it as new money
    ReceivedPayment.objects.filter(pk=receipt.pk).update(seen_at_safaricom=receipt.received_at)
    assert receipts_missing_from_books() == []
    assert link_stk_receipts() == 1
    receipt.refresh_from_db()
    assert (receipt.state, receipt.payment_id, receipt.match_rule) == ("matched", stk.pk, "stk")


def services_till_incoming(sale):
    from pos.c2b.services import till_view

    return till_view(sale)["incoming"]
