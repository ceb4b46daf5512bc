from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from pos.core.books import check_books
from pos.inventory.services import adjust_stock
from pos.payments.services import pay_cash
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
