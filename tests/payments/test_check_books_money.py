"""check_books proves the money: each finding names the sale and the payment, and the command exits 1."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from pos.core.books import check_books
from pos.payments.models import Payment, PaymentCallback, Refund
from pos.payments.services import pay_cash, request_refund
from pos.sales.services import return_items
from tests.payments.flows import make_sale


def mobile(sale, status="completed", **fields):
    return Payment.objects.create(sale=sale, method="mpesa", amount=sale.total, currency="KES", status=status,
                                  phone_number="254708374149", **fields)


@pytest.mark.django_db
def test_clean_money_has_no_findings(cashier, manager):
    sale = make_sale(cashier, "200.00")
    payment = pay_cash(sale, amount_tendered=Decimal("200"), user=cashier)
    request_refund(payment, "50", "damaged", manager)
    assert check_books() == []


@pytest.mark.django_db
def test_refund_above_what_the_return_owes_is_found(cashier, manager):
    sale = make_sale(cashier, "300.00")
    payment = pay_cash(sale, amount_tendered=Decimal("300"), user=cashier)
    sale_return = return_items(sale, [(sale.items.get().pk, "1")], manager, "faulty")
    Refund.objects.create(payment=payment, sale_return=sale_return, amount=Decimal("200"), reason="x",
                          status="completed", requested_by=manager)
    Refund.objects.create(payment=payment, sale_return=sale_return, amount=Decimal("150"), reason="y",
                          status="processing", requested_by=manager)
    problems = check_books()
    assert any(p.startswith(f"refund: return #{sale_return.pk} of sale {sale.receipt_number} owes 300.00 but "
                            "350.00") for p in problems)
    assert any(f"refund: payment {payment.pk} of sale {sale.receipt_number}" in p for p in problems)
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_books")
    assert exit_info.value.code == 1


@pytest.mark.django_db
def test_completed_mpesa_without_receipt_is_found(cashier):
    sale = make_sale(cashier, "120.00")
    payment = mobile(sale)
    Payment.objects.filter(pk=payment.pk).update(status="completed")
    problems = check_books()
    assert f"payment: completed mpesa payment {payment.pk} of sale {sale.receipt_number} has no provider receipt" \
        in problems


@pytest.mark.django_db
def test_unconfirmed_past_the_window_and_unapplied_successes_are_found(cashier, manager, settings):
    settings.PAYMENT_CONFIRM_WINDOW_SECONDS = 60
    old = timezone.now() - timedelta(minutes=5)
    sale = make_sale(cashier, "90.00")
    stuck = mobile(sale, status="unconfirmed")
    seen = mobile(make_sale(cashier, "80.00"), status="processing", reported_receipt="QAB123")
    callback = PaymentCallback.objects.create(provider="mpesa", raw_body="{}", outcome="received", payment=seen)
    Payment.objects.filter(pk__in=[stuck.pk, seen.pk]).update(created_at=old)
    PaymentCallback.objects.filter(pk=callback.pk).update(received_at=old)
    fresh_one = mobile(make_sale(cashier, "70.00"), status="unconfirmed")  # inside the window: not a finding
    paid = mobile(make_sale(cashier, "60.00"), receipt="QAB999")
    refund = Refund.objects.create(payment=paid, amount=Decimal("60"), reason="x", status="processing",
                                   requested_by=manager)
    Refund.objects.filter(pk=refund.pk).update(created_at=old)
    problems = "\n".join(check_books())
    assert f"payment {stuck.pk} of sale {sale.receipt_number} is still unconfirmed past its confirmation window" \
        in problems
    assert f"payment {seen.pk} of sale {seen.sale.receipt_number} has provider receipt QAB123 but is processing" \
        in problems
    assert f"callback {callback.pk} (mpesa) reported a success" in problems
    assert f"refund {refund.pk} of payment {paid.pk}" in problems and "processing past" in problems
    assert f"payment {fresh_one.pk} " not in problems


@pytest.mark.django_db
def test_refund_amount_different_from_the_provider_result_is_found(cashier, manager):
    paid = mobile(make_sale(cashier, "500.00"), receipt="QAB555")
    refund = Refund.objects.create(payment=paid, amount=Decimal("500"), reason="x", status="completed",
                                   provider_amount=Decimal("450"), requested_by=manager)
    assert any(f"refund {refund.pk} of payment {paid.pk}" in p and "is for 500.00 but the provider refunded 450.00"
               in p for p in check_books())
