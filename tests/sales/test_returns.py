"""Returns: capped at what was sold and not yet returned, stock back, refunds that add up to the cent."""

from decimal import Decimal

import pytest

from pos.core.errors import ServiceError
from pos.inventory.models import StockMovement
from pos.payments.services import pay_cash
from pos.sales.models import SaleReturn
from pos.sales.services import LineRequest, create_sale, return_items
from tests.factories import ProductFactory
from tests.sales.conftest import give_stock

D = Decimal


def paid_sale(cashier, lines, discount="0"):
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D(q), product=p.pk) for p, q in lines],
                          discount=D(discount))
    pay_cash(sale, amount_tendered=sale.total, user=cashier)
    sale.refresh_from_db()
    return sale


@pytest.mark.django_db
def test_return_is_capped_per_line_and_a_refused_return_writes_nothing(cashier, manager, till, goods):
    sugar, milk = goods
    sale = paid_sale(cashier, [(sugar, "2"), (milk, "1")])
    line = sale.items.get(product=sugar)
    first = return_items(sale, [(line.pk, "1")], manager, "dented")
    assert first.amount == D("180.00") and first.lines.get().quantity == D("1")
    with pytest.raises(ServiceError) as refused:
        return_items(sale, [(sale.items.get(product=milk).pk, "1"), (line.pk, "2")], manager)
    assert "Sugar 1kg" in refused.value.message and "at most 1" in refused.value.message
    assert SaleReturn.objects.count() == 1
    sugar.refresh_from_db()
    milk.refresh_from_db()
    assert (sugar.stock_quantity, milk.stock_quantity) == (D("9"), D("9"))
    sale.refresh_from_db()
    assert sale.status == "partially_returned" and sale.returned_amount == D("180.00")


@pytest.mark.django_db
def test_returning_everything_in_pieces_refunds_exactly_the_sale_total(cashier, manager, till):
    odd = ProductFactory(name="Soap", price=D("33.33"), tax_rate=D("16"))
    other = ProductFactory(name="Salt", price=D("7.77"), tax_rate=D("0"))
    give_stock([odd, other], user=manager)
    sale = paid_sale(cashier, [(odd, "3"), (other, "2")], discount="10.01")
    soap, salt = sale.items.get(product=odd), sale.items.get(product=other)
    returns = [return_items(sale, [(soap.pk, "1")], manager),
               return_items(sale, [(soap.pk, "1"), (salt.pk, "1")], manager),
               return_items(sale, [(soap.pk, "1"), (salt.pk, "1")], manager)]
    # The first return: the line's total x 1/3, rounded half-up, then paid in whole shillings (rounding line).
    first_line = returns[0].lines.get()
    assert first_line.amount == (soap.total / 3).quantize(D("0.01"), rounding="ROUND_HALF_UP") == D("30.44")
    assert returns[0].amount == D("30.00") and returns[0].rounding == D("-0.44")
    # the sale was charged in whole shillings too; its returns add up to exactly what it charged
    assert sale.total == sale.total.to_integral_value()
    assert sum(r.amount for r in returns) == sale.total
    assert sum(r.tax for r in returns) == sale.tax
    sale.refresh_from_db()
    assert sale.status == "returned" and sale.returned_amount == sale.total
    for product in (odd, other):
        product.refresh_from_db()
        assert product.stock_quantity == D("10")
    assert StockMovement.objects.filter(kind="return", reference=sale.receipt_number).count() == 5
    with pytest.raises(ServiceError, match="returned"):
        return_items(sale, [(soap.pk, "1")], manager)


@pytest.mark.django_db
def test_only_managers_take_returns_and_only_on_paid_sales(cashier, manager, till, goods):
    sugar, _ = goods
    sale = paid_sale(cashier, [(sugar, "1")])
    with pytest.raises(ServiceError, match="manager"):
        return_items(sale, [(sale.items.get().pk, "1")], cashier)
    unpaid, _ = create_sale(cashier=cashier, items=[LineRequest(D("1"), product=sugar.pk)])
    with pytest.raises(ServiceError, match="only a paid sale"):
        return_items(unpaid, [(unpaid.items.get().pk, "1")], manager)
    with pytest.raises(ServiceError, match="no line"):
        return_items(sale, [(unpaid.items.get().pk, "1")], manager)
    with pytest.raises(ServiceError, match="greater than zero"):
        return_items(sale, [(sale.items.get().pk, "0")], manager)
    assert SaleReturn.objects.count() == 0
