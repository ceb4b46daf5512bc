import threading
from decimal import Decimal

import pytest
from django.db import connections

from pos.accounts.models import Role
from pos.inventory.services import adjust_stock
from pos.sales.services import LineRequest, create_sale, get_open_shift, open_shift
from tests.factories import ProductFactory, UserFactory
from tests.payments.conftest import sandbox  # noqa: F401 - the sandbox fixture, shared


def race(count, work):
    """Start `count` threads at once (a barrier), each calling work(i); returns what each returned or
    raised (the test inspects both)."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread met
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def ok(results):
    return [r for r in results if not isinstance(r, Exception)]


def errors(results):
    return [r for r in results if isinstance(r, Exception)]


@pytest.fixture
def managers(db):
    return [UserFactory(role=Role.MANAGER, username=f"mgr{i}") for i in range(8)]


@pytest.fixture
def sell(cashier, manager):
    """sell(*prices) -> a confirmed sale (pending payment) of one unit per price."""
    def make(*prices, stock="50"):
        if get_open_shift(cashier) is None:
            open_shift(cashier, Decimal(0))
        lines = []
        for price in prices:
            product = ProductFactory(price=Decimal(price), cost_price=Decimal("1.00"))
            adjust_stock(product, Decimal(stock), user=manager, reason="test")
            lines.append(LineRequest(Decimal(1), product=product.pk))
        sale, _ = create_sale(cashier=cashier, items=lines)
        return sale
    return make
