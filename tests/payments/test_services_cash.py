from decimal import Decimal

import pytest

from pos.core.errors import ConflictError, IllegalTransition, ServiceError
from pos.payments.models import Payment
from pos.payments.services import TRANSITIONS, _move, initiate_payment, pay_cash
from tests.payments.flows import fresh, make_sale


@pytest.mark.django_db
def test_cash_payment_completes_the_sale_with_change(cashier):
    sale = make_sale(cashier, "450.00")
    payment, created = initiate_payment(sale, "cash", "450", user=cashier, amount_tendered="500")
    sale = fresh(sale)
    assert created and payment.status == "completed" and payment.change_given == Decimal("50.00")
    assert sale.status == "paid" and sale.paid_amount == Decimal("450.00") and sale.change_due == Decimal("50.00")


@pytest.mark.django_db
def test_split_cash_payments_cover_the_sale_only_together(cashier):
    sale = make_sale(cashier, "300.00")
    initiate_payment(sale, "cash", "100", user=cashier)
    assert fresh(sale).status == "pending_payment" and fresh(sale).paid_amount == Decimal("100.00")
    initiate_payment(sale, "cash", "200", user=cashier, amount_tendered="1000")
    sale = fresh(sale)
    assert sale.status == "paid" and sale.paid_amount == Decimal("300.00") and sale.change_due == Decimal("800.00")


@pytest.mark.django_db
def test_more_than_is_due_is_refused_and_nothing_written(cashier):
    sale = make_sale(cashier, "300.00")
    with pytest.raises(ServiceError, match="Only 300.00 is still due"):
        initiate_payment(sale, "cash", "300.01", user=cashier)
    with pytest.raises(ServiceError):
        initiate_payment(sale, "cash", "0", user=cashier)
    with pytest.raises(ServiceError, match="amount such as"):
        initiate_payment(sale, "cash", "abc", user=cashier)
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_paid_sale_takes_no_more_payment(cashier):
    sale = make_sale(cashier, "100.00")
    pay_cash(sale, amount_tendered=Decimal(100), user=cashier)
    with pytest.raises(ServiceError, match="not waiting for payment"):
        initiate_payment(sale, "mpesa", "10", phone_number="0708374149", user=cashier)


@pytest.mark.django_db
def test_same_idempotency_key_returns_the_first_payment_other_body_conflicts(cashier):
    sale = make_sale(cashier, "300.00")
    first, created = initiate_payment(sale, "cash", "100", user=cashier, idempotency_key="till-1-abc")
    again, created_again = initiate_payment(sale, "cash", "100", user=cashier, idempotency_key="till-1-abc")
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(ConflictError):
        initiate_payment(sale, "cash", "150", user=cashier, idempotency_key="till-1-abc")
    assert Payment.objects.count() == 1 and fresh(sale).paid_amount == Decimal("100.00")


@pytest.mark.django_db
def test_bad_phone_and_cents_on_mobile_money_are_refused_before_anything_is_written(cashier):
    sale = make_sale(cashier, "300.50")
    with pytest.raises(ServiceError, match="Kenyan mobile number"):
        initiate_payment(sale, "mpesa", "300", phone_number="12345", user=cashier)
    with pytest.raises(ServiceError, match="whole shillings"):
        initiate_payment(sale, "airtel", "300.50", phone_number="0733000000", user=cashier)
    with pytest.raises(ServiceError, match="Unknown payment method"):
        initiate_payment(sale, "bitcoin", "300", user=cashier)
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_every_transition_is_checked(cashier):
    sale = make_sale(cashier, "100.00")
    payment = pay_cash(sale, amount_tendered=Decimal(100), user=cashier)
    assert TRANSITIONS.get("completed") is None
    with pytest.raises(IllegalTransition):
        _move(payment, "failed", TRANSITIONS)
    assert payment.status == "completed"
