"""M-Pesa paid to the till while the shop was offline: the code the cashier typed is matched with the
C2B register (pos.c2b) at sync when the receipt is there, or later when it arrives."""

from decimal import Decimal

import pytest

from pos.c2b.models import ReceiptState, ReceivedPayment
from pos.core.books import check_books
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.tills import services as tills
from pos.tills.models import OfflineSale
from tests.offline.conftest import offline_body

pytestmark = pytest.mark.django_db
SALES = "/api/sales/sales/"


def received(code, amount):
    return ReceivedPayment.objects.create(trans_id=code, amount=Decimal(amount), trans_type="Buy Goods",
                                          msisdn="254708374149")


def test_code_already_in_the_register_settles_the_sale_confirmed(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    receipt = received("SFK3ABC7XY", "180.00")
    body = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "0")],
                        [{"method": "mpesa", "amount": "180.00", "code": "sfk3abc7xy"}], shift=shift)
    answer = api(cashier).post(SALES, body, format="json")
    assert answer.status_code == 201 and answer.json()["status"] == "paid"
    payment = Payment.objects.get()
    assert (payment.receipt, payment.status, payment.amount) == ("SFK3ABC7XY", "completed", Decimal("180.00"))
    receipt.refresh_from_db()
    assert receipt.state == ReceiptState.MATCHED and receipt.payment == payment
    offline = OfflineSale.objects.get()
    assert not offline.unconfirmed_mpesa and not offline.needs_attention
    assert check_books() == []


def test_code_that_arrives_after_sync_is_linked_and_the_flag_clears(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "0")],
                        [{"method": "mpesa", "amount": "180.00", "code": "SFK3ABC7XY"}], shift=shift)
    assert api(cashier).post(SALES, body, format="json").status_code == 201
    offline = OfflineSale.objects.get()
    assert offline.unconfirmed_mpesa and offline.needs_attention
    assert tills.confirm_offline_codes() == 0  # not arrived yet
    receipt = received("SFK3ABC7XY", "180.00")
    assert tills.confirm_offline_codes() == 1
    assert tills.confirm_offline_codes() == 0  # once
    payment = Payment.objects.get()
    assert (payment.receipt, payment.result_code) == ("SFK3ABC7XY", "offline-matched")
    receipt.refresh_from_db()
    assert receipt.state == ReceiptState.MATCHED and receipt.payment == payment
    offline.refresh_from_db()
    assert not offline.unconfirmed_mpesa and not offline.needs_attention
    assert Sale.objects.get().status == "paid"
    assert check_books() == []


def test_register_amount_differs_keeps_the_sale_flagged(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "0")],
                        [{"method": "mpesa", "amount": "180.00", "code": "SFK3ABC7XY"}], shift=shift)
    api(cashier).post(SALES, body, format="json")
    received("SFK3ABC7XY", "100.00")
    assert tills.confirm_offline_codes() == 1
    offline = OfflineSale.objects.get()
    assert offline.needs_attention and not offline.unconfirmed_mpesa
    assert "M-Pesa says 100.00 was paid; the till recorded 180.00." in offline.notes
