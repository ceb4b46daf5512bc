from decimal import Decimal

import pytest

from pos.core.errors import ConflictError, InsufficientStock, ServiceError
from pos.inventory.services import adjust_stock
from pos.payments.services import pay_cash
from pos.sales.models import Sale, Shift
from pos.sales.services import LineRequest, cancel_sale, create_sale
from tests.factories import ProductFactory


@pytest.fixture
def shop(cashier, manager):
    Shift.objects.create(cashier=cashier, opening_float=Decimal("1000"))
    sugar = ProductFactory(name="Sugar", price=Decimal("180.00"), cost_price=Decimal("150.00"))
    milk = ProductFactory(name="Milk", price=Decimal("65.00"), cost_price=Decimal("50.00"), tax_rate=Decimal("0"))
    for p in (sugar, milk):
        adjust_stock(p, Decimal("10"), user=manager, reason="opening")
    return sugar, milk


@pytest.mark.django_db
def test_sale_totals_vat_and_discount_spread(cashier, shop):
    sugar, milk = shop
    sale, created = create_sale(cashier=cashier, items=[LineRequest(Decimal("2"), product=sugar.pk),
                                                        LineRequest(Decimal("1"), barcode=milk.barcode)],
                                discount=Decimal("25.00"))
    assert created and sale.status == "pending_payment" and sale.receipt_number == "S-000001"
    assert sale.subtotal == Decimal("425.00") and sale.total == Decimal("400.00")
    lines = {i.name: i for i in sale.items.all()}
    assert lines["Sugar"].order_discount + lines["Milk"].order_discount == Decimal("25.00")
    assert lines["Milk"].tax == 0
    assert lines["Sugar"].tax == (lines["Sugar"].total * 16 / 116).quantize(Decimal("0.01"))
    assert sale.tax == lines["Sugar"].tax
    sugar.refresh_from_db()
    assert sugar.stock_quantity == Decimal("8")


@pytest.mark.django_db
def test_idempotent_retry_returns_the_first_sale_and_other_body_conflicts(cashier, shop):
    sugar, _ = shop
    first, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=sugar.pk)], idempotency_key="k1")
    again, created = create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=sugar.pk)],
                                 idempotency_key="k1")
    assert again.pk == first.pk and not created and Sale.objects.count() == 1
    with pytest.raises(ConflictError):
        create_sale(cashier=cashier, items=[LineRequest(Decimal("2"), product=sugar.pk)], idempotency_key="k1")


@pytest.mark.django_db
def test_not_enough_stock_writes_nothing(cashier, shop):
    sugar, milk = shop
    with pytest.raises(InsufficientStock):
        create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=milk.pk),
                                            LineRequest(Decimal("11"), product=sugar.pk)])
    assert Sale.objects.count() == 0
    milk.refresh_from_db()
    assert milk.stock_quantity == 10


@pytest.mark.django_db
def test_cash_payment_gives_change_and_cancel_restores_stock(cashier, shop):
    sugar, _ = shop
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=sugar.pk)])
    payment = pay_cash(sale, amount_tendered=Decimal("200"), user=cashier)
    sale.refresh_from_db()
    assert sale.status == "paid" and payment.change_given == Decimal("20.00") and sale.change_due == Decimal("20.00")
    other, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("3"), product=sugar.pk)])
    cancel_sale(other, user=cashier, reason="customer left")
    sugar.refresh_from_db()
    assert sugar.stock_quantity == Decimal("9")
    with pytest.raises(ServiceError):
        cancel_sale(sale, user=cashier)


@pytest.mark.django_db
def test_selling_without_a_shift_is_refused(other_cashier, product):
    with pytest.raises(ServiceError, match="shift"):
        create_sale(cashier=other_cashier, items=[LineRequest(Decimal("1"), product=product.pk)])


@pytest.mark.django_db
def test_a_cashiers_order_discount_is_limited_but_a_managers_is_not(cashier, manager, shop, settings):
    settings.CASHIER_MAX_DISCOUNT_PERCENT = Decimal("10")
    sugar, _ = shop
    with pytest.raises(ServiceError, match="at most 10%"):
        create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=sugar.pk)], discount=Decimal("18.01"))
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=sugar.pk)], discount=Decimal("18"))
    assert sale.total == Decimal("162.00")
    Shift.objects.create(cashier=manager)
    sale, _ = create_sale(cashier=manager, items=[LineRequest(Decimal("1"), product=sugar.pk)], discount=Decimal("90"))
    assert sale.total == Decimal("90.00")
