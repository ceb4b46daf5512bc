from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from pos.core.books import check_books
from pos.core.errors import ServiceError
from pos.inventory.services import adjust_stock
from pos.payments.models import Payment, Refund
from pos.payments.services import pay_cash, refundable_amount, request_refund
from pos.sales.models import Sale, Shift
from pos.sales.services import LineRequest, create_sale
from tests.factories import ProductFactory


@pytest.fixture
def paid_sale(cashier, manager):
    Shift.objects.create(cashier=cashier)
    product = ProductFactory(price=Decimal("99.99"))
    adjust_stock(product, Decimal("5"), user=manager, reason="opening")
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("2"), product=product.pk)])
    pay_cash(sale, amount_tendered=Decimal("500"), user=cashier)
    return sale


@pytest.mark.django_db
def test_consistent_books_have_no_problems_and_the_command_exits_zero(paid_sale, capsys):
    assert check_books() == []
    call_command("check_books")
    assert "consistent" in capsys.readouterr().out


@pytest.mark.django_db
def test_each_broken_invariant_is_reported_and_the_command_exits_one(paid_sale):
    table = connection.ops.quote_name("catalog_product")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET stock_quantity = stock_quantity + 1")
    Sale.objects.filter(pk=paid_sale.pk).update(total=Decimal("1000.00"))
    problems = check_books()
    assert any(p.startswith("stock:") for p in problems)
    assert any(p.startswith("sale:") and paid_sale.receipt_number in p for p in problems)
    assert any(p.startswith("payment:") and "marked paid" in p and paid_sale.receipt_number in p for p in problems)
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_books")
    assert exit_info.value.code == 1


@pytest.mark.django_db
def test_amounts_that_floats_cannot_add_are_compared_exactly(cashier, manager):
    """0.1 + 0.2 is 0.30000000000000004 in a float sum (SQLite's SUM of decimals): no false error on either
    database, and a real difference of one gram / one cent is still found."""
    from pos.catalog.models import Unit
    from pos.inventory.models import StockMovement

    flour = ProductFactory(price=Decimal("0.10"), unit=Unit.KILOGRAM)
    for weight in ("0.1", "0.2", "0.7", "927.95", "0.1", "0.2"):
        adjust_stock(flour, Decimal(weight), user=manager, reason="delivery")
    flour.refresh_from_db()
    assert flour.stock_quantity == Decimal("929.250")
    Shift.objects.create(cashier=cashier)
    items = []
    for price in ("0.10", "0.20", "928.05", "0.70", "0.10"):
        product = ProductFactory(price=Decimal(price))
        adjust_stock(product, Decimal("3"), user=manager, reason="opening")
        items.append(LineRequest(Decimal("1"), product=product.pk))
    sale, _ = create_sale(cashier=cashier, items=items)
    assert check_books() == []

    StockMovement.objects.filter(pk=StockMovement.objects.filter(product=flour).order_by("pk").first().pk).update(
        quantity=Decimal("0.101"))
    Sale.objects.filter(pk=sale.pk).update(total=sale.total + Decimal("0.01"))
    problems = check_books()
    assert any(p.startswith(f"stock: product {flour.sku} has stock 929.250 but its ledger sums to 929.251")
               for p in problems), problems
    assert any(p.startswith(f"sale: {sale.receipt_number} total {sale.total + Decimal('0.01')}") for p in problems)


@pytest.mark.django_db
def test_refund_service_and_check_books_agree_on_what_is_refundable(paid_sale, manager, settings):
    """A provider reported more than was asked (amount_received 250.00 on a 199.98 payment): the refund service
    lets exactly what came in go back, check_books calls that consistent, and flags one cent more."""
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("100000")
    payment = paid_sale.payments.get()
    Payment.objects.filter(pk=payment.pk).update(amount_received=Decimal("250.00"))
    payment.refresh_from_db()
    assert refundable_amount(payment) == Decimal("250.00")
    request_refund(payment, Decimal("250.00"), "customer overpaid", manager)
    assert refundable_amount(payment) == Decimal("0.00")
    with pytest.raises(ServiceError):
        request_refund(payment, Decimal("0.01"), "one cent more", manager)
    assert [p for p in check_books() if p.startswith("refund:")] == []
    Refund.objects.filter(payment=payment).update(amount=Decimal("250.01"), provider_amount=Decimal("250.01"))
    assert [p for p in check_books() if p.startswith("refund:")] == [
        f"refund: payment {payment.pk} of sale {paid_sale.receipt_number} brought in 250.00 but has 250.01 refunded"]
