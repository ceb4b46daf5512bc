"""The arithmetic of money, pinned to the cent: excess on late and overpaid payments, cash after a
partial payment, cash while a mobile payment is in flight, two pushes at once."""

from decimal import Decimal

import pytest

from pos.core.errors import ServiceError
from pos.payments.gateways.base import GatewayResult
from pos.payments.models import Payment
from pos.payments.services import apply_result, cancel_payment, pay_cash
from pos.sales.services import cancel_sale
from tests.payments.flows import fresh, make_sale


def mobile(sale, amount, status="processing", reference="ws_CO_1"):
    return Payment.objects.create(sale=sale, method="mpesa", amount=Decimal(amount), currency="KES", status=status,
                                  phone_number="254708374149", provider_reference=reference)


def paid(amount, receipt):
    return GatewayResult(status="completed", receipt=receipt, amount=Decimal(amount), currency="KES")


@pytest.mark.django_db
def test_normal_payment_has_no_attention_flag(cashier):
    sale = make_sale(cashier, "500.00")
    payment = mobile(sale, "500.00")
    apply_result(payment, paid("500", "R1"), "callback")
    payment = fresh(payment)
    assert payment.status == "completed" and payment.attention == "" and payment.attention_note == ""
    assert fresh(sale).paid_amount == Decimal("500.00")


@pytest.mark.django_db
def test_late_success_after_the_cashier_took_cash_is_overpaid_by_exactly_its_amount(cashier):
    sale = make_sale(cashier, "500.00")
    payment = mobile(sale, "200.00")
    cancel_payment(payment, user=cashier)
    pay_cash(sale, amount_tendered=Decimal(1000), user=cashier)
    assert fresh(sale).change_due == Decimal("500.00")
    apply_result(payment, paid("200", "R2"), "verify")
    payment = fresh(payment)
    assert payment.status == "completed" and payment.attention == "overpaid"
    assert payment.attention_note.startswith("200.00 more than sale")
    assert fresh(sale).paid_amount == Decimal("700.00")


@pytest.mark.django_db
def test_provider_taking_more_than_asked_is_flagged_with_the_exact_excess(cashier):
    sale = make_sale(cashier, "300.00")
    payment = mobile(sale, "300.00")
    apply_result(payment, paid("350", "R3"), "callback")
    payment = fresh(payment)
    assert payment.status == "completed" and payment.amount_received == Decimal("350.00")
    assert payment.attention == "overpaid" and payment.attention_note.startswith("50.00 more than sale")


@pytest.mark.django_db
def test_late_success_on_a_cancelled_sale_is_refund_due_for_all_of_it(cashier):
    sale = make_sale(cashier, "400.00")
    payment = mobile(sale, "400.00")
    cancel_payment(payment, user=cashier)
    cancel_sale(sale, user=cashier)
    apply_result(payment, paid("400", "R4"), "callback")
    payment = fresh(payment)
    assert payment.status == "completed" and payment.attention == "refund_due"
    assert payment.attention_note.startswith("Paid 400.00 after sale")


@pytest.mark.django_db
def test_cash_after_a_partial_payment_gives_exact_change(cashier):
    sale = make_sale(cashier, "730.00")
    first = pay_cash(sale, amount_tendered=Decimal(200), user=cashier, amount=Decimal(200))
    assert first.change_given == Decimal("0.00") and fresh(sale).status == "pending_payment"
    rest = pay_cash(sale, amount_tendered=Decimal(1000), user=cashier)
    assert rest.amount == Decimal("530.00") and rest.change_given == Decimal("470.00")
    sale = fresh(sale)
    assert sale.status == "paid" and sale.paid_amount == Decimal("730.00") and sale.change_due == Decimal("470.00")


@pytest.mark.django_db
def test_cash_while_a_mobile_payment_is_in_flight_covers_only_the_rest(cashier):
    sale = make_sale(cashier, "600.00")
    mobile(sale, "250.00", status="unconfirmed", reference="")
    cash = pay_cash(sale, amount_tendered=Decimal(500), user=cashier)
    assert cash.amount == Decimal("350.00") and cash.change_given == Decimal("150.00")
    with pytest.raises(ServiceError, match=r"Only 0.00 is still due.*250.00 is waiting"):
        pay_cash(sale, amount_tendered=Decimal(10), user=cashier, amount=Decimal(10))
    assert fresh(sale).status == "pending_payment"


@pytest.mark.django_db
def test_pay_cash_with_an_idempotency_key_takes_the_cash_once(cashier):
    sale = make_sale(cashier, "100.00")
    first = pay_cash(sale, amount_tendered=Decimal(100), user=cashier, idempotency_key="cash-1")
    again = pay_cash(sale, amount_tendered=Decimal(100), user=cashier, idempotency_key="cash-1")
    assert again.pk == first.pk and Payment.objects.filter(sale=sale).count() == 1


@pytest.mark.django_db
def test_rest_pay_cash_takes_an_idempotency_key(api, cashier):
    sale = make_sale(cashier, "100.00")
    client = api(cashier)
    first = client.post(f"/api/sales/sales/{sale.pk}/pay_cash/", {"amount_tendered": "150"}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(f"/api/sales/sales/{sale.pk}/pay_cash/", {"amount_tendered": "150"}, HTTP_IDEMPOTENCY_KEY="k-1")
    other = client.post(f"/api/sales/sales/{sale.pk}/pay_cash/", {"amount_tendered": "200"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 200 and again.status_code == 200 and other.status_code == 409
    assert Payment.objects.filter(sale=sale).count() == 1
    assert fresh(sale).change_due == Decimal("50.00")


@pytest.mark.django_db
def test_a_sale_with_a_payment_in_flight_is_neither_cancelled_nor_expired(cashier, settings):
    from datetime import timedelta

    from django.utils import timezone

    from pos.sales.models import Sale
    from pos.sales.services import expire_sale

    settings.SALE_PAYMENT_TIMEOUT = 1
    for status in ("pending", "processing", "unconfirmed"):
        sale = make_sale(cashier, "80.00")
        mobile(sale, "80.00", status=status, reference="")
        Sale.objects.filter(pk=sale.pk).update(confirmed_at=timezone.now() - timedelta(hours=1))
        with pytest.raises(ServiceError, match="in progress"):
            cancel_sale(sale, user=cashier)
        assert expire_sale(sale) is False and fresh(sale).status == "pending_payment"
