"""Real row locks on PostgreSQL: many tills taking the same stock at the same moment."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from pos.core.books import check_books
from pos.core.errors import InsufficientStock
from pos.inventory.services import StockChange, adjust_stock, post_movements
from tests.factories import ProductFactory

from .conftest import assert_ledger, ledger_sum


def run_threads(count, work):
    """Start `count` threads at once (a barrier), each calling work(i); returns their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread met
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_tills_take_the_last_ten_units(needs_postgres, manager):
    p = ProductFactory()
    adjust_stock(p, Decimal("10"), user=manager, reason="opening")

    def take_one(i):
        return post_movements([StockChange(p.pk, Decimal("-1"))], kind="sale", reference=f"T{i}")

    results = run_threads(16, take_one)
    sold = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(sold), len(refused)) == (10, 6), results
    p.refresh_from_db()
    assert p.stock_quantity == 0 and ledger_sum(p) == 0
    balances = sorted(m[0].balance_after for m in sold)
    assert balances == [Decimal(n) for n in range(10)]  # each sale saw the stock the one before left
    assert check_books() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_opposite_order_baskets_never_deadlock(needs_postgres, manager):
    a, b = ProductFactory(), ProductFactory()
    for p in (a, b):
        adjust_stock(p, Decimal("100"), user=manager, reason="opening")

    def basket(i):
        first, second = (a, b) if i % 2 else (b, a)
        for _ in range(5):
            post_movements([StockChange(first.pk, Decimal("-1")), StockChange(second.pk, Decimal("-1"))],
                           kind="sale")
        return "ok"

    results = run_threads(12, basket)
    assert results == ["ok"] * 12
    assert_ledger(a, b)
    assert a.stock_quantity == b.stock_quantity == Decimal("40")
    assert check_books() == []
