"""Money that arrives late or wrong is recorded and flagged, never lost and never counted twice."""

import time
from decimal import Decimal

import pytest

from pos.payments.gateways.base import GatewayResult
from pos.payments.models import Payment
from pos.payments.services import (
    apply_result,
    cancel_payment,
    initiate_payment,
    pay_cash,
    verify_payment,
)
from pos.sales.services import cancel_sale
from tests.payments.flows import fresh, make_sale, sale_of

PAYS_WITHOUT_CALLBACK = "0700000404"


def cancelled_push(cashier, sale, amount):
    payment, _ = initiate_payment(sale, "mpesa", amount, phone_number=PAYS_WITHOUT_CALLBACK, user=cashier)
    return cancel_payment(payment, user=cashier, reason="customer says it failed")


@pytest.mark.django_db(transaction=True)
def test_mobile_money_overpayment_after_the_cashier_took_cash_is_recorded(sandbox, cashier):
    sale = make_sale(cashier, "500.00")
    payment = cancelled_push(cashier, sale, "500")
    pay_cash(sale, amount_tendered=Decimal(500), user=cashier)
    assert fresh(sale).status == "paid"
    time.sleep(0.3)  # the customer did pay on the phone after all
    outcome = verify_payment(payment)
    payment, sale = fresh(payment), fresh(sale)
    assert outcome.kind == "applied" and "Late success (payment was cancelled)" in outcome.reason
    assert payment.status == "completed" and payment.attention == "overpaid"
    assert "500.00 more than sale" in payment.attention_note
    assert sale.status == "paid" and sale.paid_amount == Decimal("1000.00")


@pytest.mark.django_db(transaction=True)
def test_success_on_a_cancelled_sale_is_kept_and_flagged_for_refund(sandbox, cashier):
    sale = make_sale(cashier, "200.00")
    payment = cancelled_push(cashier, sale, "200")
    cancel_sale(sale, user=cashier, reason="customer walked away")
    time.sleep(0.3)
    verify_payment(payment)
    payment, sale = fresh(payment), sale_of(payment)
    assert payment.status == "completed" and payment.attention == "refund_due"
    assert sale.status == "cancelled" and sale.paid_amount == Decimal("200.00")


@pytest.mark.django_db
def test_less_money_or_another_currency_does_not_complete_and_is_flagged(cashier):
    sale = make_sale(cashier, "300.00")
    initiate_payment(sale, "cash", "100", user=cashier)
    pending = Payment.objects.create(sale=sale, method="mpesa", amount=Decimal(200), status="processing",
                                     provider_reference="ws_CO_1", currency="KES")
    short = apply_result(pending, GatewayResult(status="completed", amount=Decimal(150), receipt="AAA111"), "test")
    assert short.kind == "rejected" and fresh(pending).status == "processing"
    assert fresh(pending).attention == "underpaid" and fresh(pending).amount_received == Decimal("150.00")
    other = apply_result(pending, GatewayResult(status="completed", amount=Decimal(200), currency="UGX"), "test")
    assert other.kind == "rejected" and fresh(pending).attention == "currency_mismatch"
    assert fresh(sale).paid_amount == Decimal("100.00")


@pytest.mark.django_db
def test_a_receipt_already_used_by_another_payment_is_refused(cashier):
    sale = make_sale(cashier, "300.00")
    first = Payment.objects.create(sale=sale, method="mpesa", amount=Decimal(100), status="processing",
                                   provider_reference="ws_CO_A")
    second = Payment.objects.create(sale=sale, method="mpesa", amount=Decimal(100), status="processing",
                                    provider_reference="ws_CO_B")
    assert apply_result(first, GatewayResult(status="completed", receipt="SAME123456"), "test").kind == "applied"
    again = apply_result(second, GatewayResult(status="completed", receipt="SAME123456"), "test")
    assert again.kind == "rejected" and "already belongs to another payment" in again.reason
    second = fresh(second)
    assert second.status == "processing" and second.attention == "receipt_conflict" and not second.receipt
    assert fresh(sale).paid_amount == Decimal("100.00")
    assert apply_result(first, GatewayResult(status="failed"), "test").kind == "duplicate"
    assert fresh(first).status == "completed"
