"""The query counts of the till's hot paths, pinned: the one-request cash checkout (POST /api/sales/sales/
with a cash payment and ?receipt=1, as the till sends it) for 1 and for 50 lines, (the barcode lookup
and the product search: test_barcode_cache.py).

The checkout tests run outside a test transaction (transaction=True), as a web request runs: the sale's
own transaction is then BEGIN/COMMIT, not a SAVEPOINT pair that only a test's wrapping transaction adds.
Without the catalogue cache (DEBUG, tests) the till's token and permissions are read (2 queries); with it
(the production default) they come from memory.
"""

import uuid
from decimal import Decimal

import pytest

from pos.catalog import lookup
from pos.sales.models import Sale
from pos.sales.services import open_shift
from tests.perf.conftest import pay_cash

CHECKOUT_MAX = 15
SALES = "/api/sales/sales/"


def checkout_queries(client, products, assert_max):
    key = str(uuid.uuid4())
    with assert_max(CHECKOUT_MAX) as queries:
        answer = pay_cash(client, products, key)
    assert answer.status_code == 201, answer.json()
    return answer, key, len(queries.captured_queries)


@pytest.fixture(params=["off", "local"])
def till(request, api, cashier, shelf, settings, tmp_path):
    """The cashier's API client with an open shift, with the catalogue cache off (DEBUG) or on (production)."""
    settings.CATALOG_CACHE = request.param
    settings.CATALOG_CACHE_PATH = str(tmp_path / "catalog-versions")
    lookup.clear_local()
    request.addfinalizer(lookup.clear_local)
    open_shift(cashier, Decimal("1000.00"))
    client = api(cashier)
    assert pay_cash(client, shelf[:1], "first sale").status_code == 201  # the till's receipt series exists
    return client


@pytest.mark.django_db(transaction=True)
def test_a_paid_cash_sale_of_1_or_50_lines_takes_at_most_15_queries(till, shelf, django_assert_max_num_queries):
    one, _, one_count = checkout_queries(till, shelf[:1], django_assert_max_num_queries)
    fifty, _, fifty_count = checkout_queries(till, shelf[1:], django_assert_max_num_queries)
    assert one_count == fifty_count
    assert fifty.json()["status"] == "paid" and fifty.json()["total"] == "5000.00"
    assert fifty.json()["last_change"] == "1000.00" and len(fifty.json()["items"]) == 50
    assert "CHANGE" in fifty.json()["receipt_text"].upper()


@pytest.mark.django_db(transaction=True)
def test_the_answer_is_the_sale_as_read_back_and_a_retry_replays_it(till, shelf, django_assert_max_num_queries):
    answer, key, _ = checkout_queries(till, shelf[1:4], django_assert_max_num_queries)
    sale = answer.json()
    read_back = till.get(f"{SALES}{sale['id']}/?receipt=1").json()
    retry = pay_cash(till, shelf[1:4], key)
    assert retry.status_code == 200
    assert {k: v for k, v in sale.items() if k != "tenders"} == read_back
    assert {k: v for k, v in retry.json().items() if k != "tenders"} == read_back
    assert retry.json()["tenders"] == sale["tenders"] and Sale.objects.filter(idempotency_key=key).count() == 1
