"""Eight tills selling at once on PostgreSQL: every document gets its own invoice number, no gaps."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from pos.fiscal import simulator
from pos.fiscal.models import Document, DocumentStatus
from pos.fiscal.services import process_outbox, take_number
from pos.sales.services import open_shift
from tests.factories import UserFactory
from tests.fiscal.conftest import BRANCH, PIN, sell

D = Decimal
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TILLS, SALES_PER_TILL = 8, 4


def run_threads(work, n=TILLS):
    barrier, errors = threading.Barrier(n), []

    def target(i):
        try:
            barrier.wait(timeout=30)
            work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_eight_tills_selling_at_once_get_gap_free_invoice_numbers(needs_postgres, device, goods):
    sugar, milk, rice = goods
    cashiers = [UserFactory(username=f"till{i}") for i in range(TILLS)]
    for cashier in cashiers:
        open_shift(cashier, D("0"))

    def till(i):
        for n in range(SALES_PER_TILL):
            sell(cashiers[i], [(sugar, 1), (milk, 1)] if (i + n) % 2 else [(rice, "0.5")])
            process_outbox()  # each till's worker tries to run the outbox too

    run_threads(till)
    process_outbox()
    documents = list(Document.objects.order_by("invoice_no"))
    total = TILLS * SALES_PER_TILL
    assert len(documents) == total
    assert [d.invoice_no for d in documents] == list(range(1, total + 1))
    assert {d.status for d in documents} == {DocumentStatus.SIGNED}
    assert sorted(d.stock_no for d in documents) == list(range(1, total + 1))
    seen = simulator.stats(PIN, BRANCH)
    assert seen["last_invoice_no"] == total and all(i["signings"] == 1 for i in seen["invoices"])


def test_the_counter_row_lock_gives_each_of_eight_concurrent_takers_its_own_number(needs_postgres, device):
    taken = []

    def taker(i):
        for _ in range(10):
            with transaction.atomic():
                taken.append(take_number(device, "invc"))

    run_threads(taker)
    assert sorted(taken) == list(range(1, TILLS * 10 + 1))
