"""The embedded default (SQLite): the web server and the task worker write to one file. A sale made
while the worker holds the write lock waits for it instead of failing with "database is locked"."""

import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.db import connection

from pos.inventory.services import adjust_stock
from pos.sales.models import Sale, Shift
from pos.sales.services import LineRequest, create_sale
from tests.factories import ProductFactory

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=20)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE sales_shift SET note = 'worker' WHERE id = (SELECT MIN(id) FROM sales_shift)")
print("locked", flush=True)
time.sleep(1.5)
db.execute("COMMIT")
"""


@pytest.mark.django_db(transaction=True)
def test_a_sale_waits_for_the_workers_write_lock_instead_of_failing(cashier, manager):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has row locks")
    Shift.objects.create(cashier=cashier)
    product = ProductFactory()
    adjust_stock(product, Decimal("5"), user=manager, reason="opening")
    worker = subprocess.Popen([sys.executable, "-c", HOLD, connection.settings_dict["NAME"]],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "locked"
        started = time.monotonic()
        sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=product.pk)])
        waited = time.monotonic() - started
    finally:
        worker.wait(timeout=30)
    assert Sale.objects.filter(pk=sale.pk, status="pending_payment").exists()
    assert waited > 0.5  # it queued behind the worker's transaction
