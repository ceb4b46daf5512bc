"""Races on PostgreSQL: tills reserving receipt numbers at once, a retry racing the first send of an
offline sale, and several tills' offline sales taking the last units at the same moment."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from pos.accounts.models import Role
from pos.core.books import check_books
from pos.sales.models import Sale
from pos.sales.services import open_shift
from pos.tills import services as tills
from pos.tills.models import OfflineSale, ReceiptBlock
from tests.conftest import api_client_for
from tests.factories import UserFactory
from tests.offline.conftest import offline_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def together(n, work):
    """Run work(i) in n threads released at the same moment; answers [(i, result or exception)]."""
    start = threading.Barrier(n)
    out = []

    def run(i):
        try:
            start.wait(timeout=30)
            out.append((i, work(i)))
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            out.append((i, exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return out


def test_blocks_reserved_at_once_never_overlap(needs_postgres, cashier):
    till = tills.register_till(uuid.uuid4(), user=cashier)
    answers = together(8, lambda i: tills.reserve_block(till, user=cashier, size=10))
    assert not [a for _, a in answers if isinstance(a, Exception)], answers
    spans = sorted((b.start, b.end) for b in ReceiptBlock.objects.filter(till=till))
    assert spans == [(1 + 10 * k, 10 * (k + 1)) for k in range(8)]


def test_a_retry_racing_the_first_send_makes_one_sale(needs_postgres, cashier, stocked):
    shift = open_shift(cashier, Decimal("0"))
    till = tills.register_till(uuid.uuid4(), user=cashier)
    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "0")],
                        [{"method": "cash", "amount": "180.00", "amount_tendered": "200.00"}], shift=shift)
    clients = [api_client_for(cashier) for _ in range(6)]
    answers = together(6, lambda i: clients[i].post("/api/sales/sales/", body, format="json"))
    codes = sorted(a.status_code for _, a in answers)
    assert codes == [200] * 5 + [201], answers
    assert len({a.json()["id"] for _, a in answers}) == 1
    assert Sale.objects.count() == 1 and OfflineSale.objects.count() == 1
    assert check_books() == []


def test_offline_tills_selling_the_last_units_at_once_are_all_kept(needs_postgres, manager, stocked):
    milk = stocked["milk"]  # 20 in stock
    bodies, clients = [], []
    for n in range(5):
        cashier = UserFactory(role=Role.CASHIER, username=f"offline{n}")
        shift = open_shift(cashier, Decimal("0"))
        till = tills.register_till(uuid.uuid4(), user=cashier)
        tills.reserve_block(till, user=cashier, size=2)
        bodies.append(offline_body(till, 1, [(milk, 6, "65.00", "0")],
                                   [{"method": "cash", "amount": "390.00", "amount_tendered": "400.00"}], shift=shift))
        clients.append(api_client_for(cashier))
    answers = together(5, lambda i: clients[i].post("/api/sales/sales/", bodies[i], format="json"))
    assert sorted(a.status_code for _, a in answers) == [201] * 5, answers
    milk.refresh_from_db()
    assert milk.stock_quantity == Decimal("-10.000")
    assert OfflineSale.objects.filter(negative_stock=True).count() == 2  # the 4th and 5th took it below zero
    assert check_books() == []
