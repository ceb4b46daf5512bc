"""16 tills check out the last 10 units at the same moment, through the API, on PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from pos.accounts.models import Role
from pos.core.books import check_books
from pos.inventory.models import StockMovement
from pos.sales.models import Sale
from pos.sales.services import open_shift
from tests.conftest import api_client_for
from tests.factories import ProductFactory, UserFactory
from tests.sales.conftest import give_stock

TILLS = 16


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_checkouts_for_the_last_ten_units(needs_postgres, manager):
    product = ProductFactory(name="Last bags of flour", price=Decimal("210.00"))
    give_stock([product], "10", user=manager)
    clients = []
    for n in range(TILLS):
        cashier = UserFactory(role=Role.CASHIER, username=f"till{n}")
        open_shift(cashier, "0")
        clients.append(api_client_for(cashier))
    start = threading.Barrier(TILLS)
    answers = []

    def checkout(client):
        try:
            start.wait(timeout=30)
            answer = client.post("/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "1"}]},
                                 format="json")
            answers.append((answer.status_code, answer.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    codes = sorted(code for code, _ in answers)
    assert codes == [201] * 10 + [400] * 6, answers
    assert all("Not enough stock" in str(data) for code, data in answers if code == 400)
    product.refresh_from_db()
    assert product.stock_quantity == 0
    assert Sale.objects.count() == 10
    assert sorted(Sale.objects.values_list("receipt_number", flat=True)) == [f"S-{n:06d}" for n in range(1, 11)]
    assert not StockMovement.objects.filter(balance_after__lt=0).exists()
    for sale in Sale.objects.prefetch_related("items"):
        assert [item.quantity for item in sale.items.all()] == [Decimal("1")]
        assert StockMovement.objects.filter(reference=sale.receipt_number, kind="sale", quantity=-1).count() == 1
    ledger = StockMovement.objects.filter(product=product).aggregate(total=Sum("quantity"))["total"]
    assert ledger == product.stock_quantity
    assert check_books() == []
