"""The checkout's statements are prepared once per connection on PostgreSQL (pos.core.prepared), and the
rows it writes without Django's save() (no signals: pos.core.prepared.insert) carry the same history as
save() gave them: the audit trail of a sale and its payment is unchanged."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection

from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import open_shift
from tests.perf.conftest import pay_cash

needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                      reason="prepared statements are PostgreSQL's (SQLite runs them as usual)")


@pytest.fixture
def till(api, cashier, shelf):
    open_shift(cashier, Decimal("1000.00"))
    return api(cashier)


def prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _checkout(till, products):
    answer = pay_cash(till, products, str(uuid.uuid4()))
    assert answer.status_code == 201, answer.json()
    return answer.json()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_checkouts_statements_are_prepared_once_and_reused(till, shelf):
    _checkout(till, shelf[:3])
    first = prepared_statements()
    _checkout(till, shelf[3:6])  # another sale of as many lines: nothing new is prepared
    assert prepared_statements() == first
    _checkout(till, shelf[6:11])  # more lines: only the products' lookup (one parameter per product) is new
    new = set(prepared_statements()) - set(first)
    assert len(new) == 1 and new.pop().startswith('SELECT "catalog_product"."id"')
    assert any(s.startswith('INSERT INTO "sales_saleitem"') and "jsonb_array_elements" in s for s in first)
    assert any(s.startswith('WITH new AS (INSERT INTO "sales_sale" ') for s in first)  # and its history row
    assert any(s.startswith("INSERT INTO reports_salesrollup") for s in first)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_no_statement_is_prepared_when_turned_off_for_a_pooler(till, shelf, settings):
    settings.DB_PREPARED_STATEMENTS = False
    sale = _checkout(till, shelf[:3])
    assert sale["status"] == "paid" and prepared_statements() == []


@pytest.mark.django_db(transaction=True)
def test_a_paid_sale_and_its_payment_have_their_creation_in_the_history(till, shelf, cashier):
    sale = _checkout(till, shelf[:2])
    row = Sale.history.get(id=sale["id"])
    assert (row.history_type, row.history_user, row.receipt_number, row.status, row.total) == (
        "+", cashier, sale["receipt_number"], "paid", Decimal("200.00"))
    payment = Payment.objects.get(sale_id=sale["id"])
    paid = Payment.history.get(id=payment.pk)
    assert (paid.history_type, paid.history_user, paid.method, paid.amount, paid.change_given, paid.status) == (
        "+", cashier, "cash", Decimal("200.00"), Decimal("5800.00"), "completed")
