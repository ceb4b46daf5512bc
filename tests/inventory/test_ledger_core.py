from decimal import Decimal

import pytest

from pos.core.errors import InsufficientStock
from pos.inventory.models import StockAlert, StockMovement
from pos.inventory.services import StockChange, adjust_stock, post_movements
from tests.factories import ProductFactory


def ledger_sum(product):
    return sum((m.quantity for m in StockMovement.objects.filter(product=product)), Decimal(0))


@pytest.mark.django_db
def test_movements_move_the_cache_and_keep_the_ledger_equal(manager):
    a, b = ProductFactory(), ProductFactory()
    adjust_stock(a, Decimal("5"), user=manager, reason="opening")
    post_movements([StockChange(a.pk, Decimal("-2")), StockChange(b.pk, Decimal("3")),
                    StockChange(a.pk, Decimal("-1"))], kind="adjustment", user=manager)
    for p in (a, b):
        p.refresh_from_db()
        assert p.stock_quantity == ledger_sum(p)
    assert a.stock_quantity == Decimal("2")
    assert StockMovement.objects.filter(product=a).count() == 2  # the two changes to `a` were merged


@pytest.mark.django_db
def test_stock_below_zero_is_refused_and_nothing_is_written(manager):
    a, b = ProductFactory(), ProductFactory()
    adjust_stock(a, Decimal("1"), user=manager, reason="opening")
    with pytest.raises(InsufficientStock):
        post_movements([StockChange(b.pk, Decimal("4")), StockChange(a.pk, Decimal("-2"))], kind="sale")
    b.refresh_from_db()
    assert b.stock_quantity == 0 and StockMovement.objects.filter(product=b).count() == 0


@pytest.mark.django_db
def test_one_alert_when_low_and_resolved_when_replenished(manager):
    p = ProductFactory(reorder_level=Decimal("5"))
    adjust_stock(p, Decimal("10"), user=manager, reason="opening")
    adjust_stock(p, Decimal("-6"), user=manager, reason="broken")
    adjust_stock(p, Decimal("-1"), user=manager, reason="broken")
    assert StockAlert.objects.filter(product=p, status="active").count() == 1
    adjust_stock(p, Decimal("10"), user=manager, reason="delivery")
    assert StockAlert.objects.filter(product=p, status="active").count() == 0
    assert StockAlert.objects.filter(product=p, status="resolved").count() == 1


@pytest.mark.django_db
def test_posting_many_products_takes_a_constant_number_of_queries(manager, django_assert_max_num_queries):
    few = [ProductFactory() for _ in range(1)]
    many = [ProductFactory() for _ in range(30)]
    with django_assert_max_num_queries(8):
        post_movements([StockChange(p.pk, Decimal("2")) for p in few], kind="purchase")
    with django_assert_max_num_queries(8):
        post_movements([StockChange(p.pk, Decimal("2")) for p in many], kind="purchase")
