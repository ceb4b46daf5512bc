"""Whole shillings and true change: a split never strands cents, and the receipt shows the change of the
last cash tender (earlier change was handed over when that tender was taken)."""

from decimal import Decimal as D

import pytest

from pos.core.errors import ServiceError
from pos.payments.models import Payment
from pos.payments.services import pay_cash
from pos.sales.receipts import receipt_text
from pos.sales.services import LineRequest, create_sale
from tests.factories import ProductFactory
from tests.sales.conftest import give_stock


@pytest.fixture
def odd_sale(cashier, manager, till):
    """10% line and 5% order discount on 1,100.00 of goods: 940.50 of lines, charged 941.00 (rounding +0.50)."""
    goods = ProductFactory(name="Cooking oil 5L", price=D("1100.00"))
    give_stock([goods], user=manager)
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D(1), product=goods.pk, discount_percent=D(10))],
                          discount_percent=D(5), authorised_by=manager)
    return sale


@pytest.mark.django_db
def test_percent_discounts_are_priced_by_the_service_and_the_total_is_whole_shillings(odd_sale):
    item = odd_sale.items.get()
    assert (item.discount, item.order_discount, item.total) == (D("110.00"), D("49.50"), D("940.50"))
    assert odd_sale.rounding == D("0.50") and odd_sale.total == D("941.00")


@pytest.mark.django_db
def test_a_cashiers_discount_cap_is_one_cap_on_lines_and_order_together(cashier, manager, till, settings):
    settings.CASHIER_MAX_DISCOUNT_PERCENT = D(10)
    goods = ProductFactory(price=D("1000.00"))
    give_stock([goods], user=manager)
    # 8% on the line and 5% on the order: each under the cap, together 12.6% of the sale
    with pytest.raises(ServiceError) as refused:
        create_sale(cashier=cashier, items=[LineRequest(D(1), product=goods.pk, discount_percent=D(8))],
                    discount_percent=D(5))
    assert refused.value.code == "discount_not_allowed"
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D(1), product=goods.pk, discount_percent=D(8))],
                          discount_percent=D(5), authorised_by=manager)
    [authorisation] = sale.authorisations.all()
    assert (authorisation.action, authorisation.authorised_by, authorisation.requested_by) == (
        "discount", manager, cashier)


@pytest.mark.django_db
def test_cash_part_of_a_split_leaves_whole_shillings_due_and_cents_become_change(odd_sale, cashier):
    first = pay_cash(odd_sale, amount_tendered=D("500.50"), user=cashier)
    assert (first.amount, first.change_given) == (D("500.00"), D("0.50"))
    odd_sale.refresh_from_db()
    assert odd_sale.balance_due == D("441.00")
    with pytest.raises(ServiceError) as refused:
        pay_cash(odd_sale, amount_tendered=D("500"), amount=D("440.50"), user=cashier)
    assert refused.value.code == "cents_left"


@pytest.mark.django_db
def test_receipt_shows_the_change_of_the_last_cash_tender_and_the_books_all_change(odd_sale, cashier):
    pay_cash(odd_sale, amount_tendered=D("1000"), amount=D("500"), user=cashier)  # 500 change handed over now
    pay_cash(odd_sale, amount_tendered=D("450"), user=cashier)  # 441 due: 9 change
    odd_sale.refresh_from_db()
    assert odd_sale.status == "paid" and odd_sale.change_due == D("509.00")  # the books: all change
    text = receipt_text(odd_sale)
    assert "Change (last cash tender)" in text and "9.00" in text
    assert "509" not in text
    assert "Rounding" in text and "0.50" in text
    assert Payment.objects.filter(sale=odd_sale).count() == 2
