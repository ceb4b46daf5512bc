"""Refunds: cash out of the till, M-Pesa reversal, card and Airtel refunds, the approval threshold."""

from decimal import Decimal

import pytest

from pos.core.errors import ServiceError
from pos.payments.models import PaymentCallback
from pos.payments.services import (
    approve_refund,
    initiate_payment,
    pay_cash,
    reject_refund,
    request_refund,
)
from pos.sales.services import return_items
from tests.payments.flows import fresh, make_sale, settled, wait_for


@pytest.fixture
def cash_payment(cashier):
    return pay_cash(make_sale(cashier, "300.00"), amount_tendered=Decimal(300), user=cashier)


def paid_by(cashier, method, price, phone=""):
    payment, _ = initiate_payment(make_sale(cashier, price), method, price, phone_number=phone, user=cashier)
    return payment


@pytest.mark.django_db
def test_cash_refunds_partial_then_the_rest_and_never_more_than_paid(cash_payment, manager):
    part, created = request_refund(cash_payment, "100", "damaged box", manager)
    assert created and part.status == "completed" and part.completed_at and part.result_message
    rest, _ = request_refund(cash_payment, "200", "changed mind", manager)
    assert rest.status == "completed"
    with pytest.raises(ServiceError, match="At most 0.00 can still be refunded"):
        request_refund(cash_payment, "0.01", "again", manager)
    with pytest.raises(ServiceError, match="Say why"):
        request_refund(cash_payment, "1", " ", manager)


@pytest.mark.django_db
def test_refund_above_the_threshold_waits_for_another_manager(cash_payment, cashier, manager, other_manager,
                                                               settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(100)
    big, _ = request_refund(cash_payment, "150", "wrong item", manager)
    assert big.status == "pending_approval"
    with pytest.raises(ServiceError, match="Only a manager"):
        approve_refund(big, user=cashier)
    with pytest.raises(ServiceError, match="Another manager must approve") as four_eyes:
        approve_refund(big, user=manager)
    assert four_eyes.value.code == "four_eyes" and fresh(big).status == "pending_approval"
    big = approve_refund(big, user=other_manager)
    assert big.status == "completed" and big.approved_by == other_manager and big.decided_at
    with pytest.raises(ServiceError, match="not waiting for approval"):
        approve_refund(big, user=other_manager)
    other, _ = request_refund(cash_payment, "150", "second thoughts", manager)
    other = reject_refund(other, user=manager, reason="no receipt shown")
    assert other.status == "rejected" and other.rejected_by == manager and other.result_message == "no receipt shown"
    again, _ = request_refund(cash_payment, "150", "with receipt", manager)
    assert again.status == "pending_approval"


@pytest.mark.django_db
def test_refund_idempotency_key_returns_the_first_refund(cash_payment, manager):
    first, _ = request_refund(cash_payment, "50", "damaged", manager, idempotency_key="refund-1")
    again, created = request_refund(cash_payment, "50", "damaged", manager, idempotency_key="refund-1")
    assert again.pk == first.pk and not created and cash_payment.refunds.count() == 1


@pytest.mark.django_db
def test_refund_for_a_return_is_capped_at_what_the_return_owes(cashier, manager):
    sale = make_sale(cashier, "100.00", quantity="3")
    payment = pay_cash(sale, amount_tendered=Decimal(300), user=cashier)
    item = sale.items.get()
    sale_return = return_items(sale, [(item.pk, Decimal(1))], manager, reason="broken")
    with pytest.raises(ServiceError, match="At most 100.00 is still owed"):
        request_refund(payment, "150", "broken", manager, sale_return=sale_return)
    refund, _ = request_refund(payment, "100", "broken", manager, sale_return=sale_return)
    assert refund.status == "completed" and fresh(sale).returned_amount == Decimal("100.00")


@pytest.mark.django_db(transaction=True)
def test_mpesa_partial_reversals_complete_by_the_result_callback(sandbox, cashier, manager):
    payment = settled(paid_by(cashier, "mpesa", "500.00", "0708374149"))
    with pytest.raises(ServiceError, match="whole shillings"):
        request_refund(payment, "10.50", "cents", manager)
    first, _ = request_refund(payment, "200", "overcharged", manager)
    assert first.status == "processing" and first.provider_reference.startswith("AG_")
    wait_for(lambda: fresh(first).status != "processing")
    assert fresh(first).status == "completed"
    second, _ = request_refund(payment, "300", "returned all", manager)
    wait_for(lambda: fresh(second).status != "processing")
    assert fresh(second).status == "completed"
    reversals = PaymentCallback.objects.filter(path__contains="/reversal/")
    assert wait_for(lambda: reversals.filter(outcome="applied").count() == 2)
    with pytest.raises(ServiceError, match="At most 0.00"):
        request_refund(payment, "1", "more", manager)


@pytest.mark.django_db(transaction=True)
def test_mpesa_full_refund_above_the_threshold_goes_to_the_provider_once_approved(sandbox, cashier, manager,
                                                                                  other_manager, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(1000)
    payment = settled(paid_by(cashier, "mpesa", "1500.00", "0708374149"))
    refund, _ = request_refund(payment, "1500", "customer returned everything", manager)
    assert refund.status == "pending_approval" and not refund.provider_reference
    refund = approve_refund(refund, user=other_manager)
    assert refund.status == "processing"
    wait_for(lambda: fresh(refund).status != "processing")
    assert fresh(refund).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_card_partial_refund_and_airtel_whole_refund(sandbox, cashier, manager):
    import requests

    card = paid_by(cashier, "card", "800.00")
    requests.post(f"{sandbox.url}/sandbox/flutterwave/simulate/{card.provider_reference}/", json={}, timeout=10)
    card = settled(card)
    refund, _ = request_refund(card, "250", "one item back", manager)
    assert refund.status == "completed" and refund.provider_reference
    airtel = settled(paid_by(cashier, "airtel", "600.00", "0708374149"))
    with pytest.raises(ServiceError, match="whole payment only"):
        request_refund(airtel, "100", "part", manager)
    whole, _ = request_refund(airtel, "600", "all back", manager)
    assert whole.status == "completed"
