"""The catalogue the offline till caches: a page costs the same few queries however many products it
carries, and on PostgreSQL the cursor (updated_at, id) is read from its index, not by sorting the table."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pos.catalog.models import Product
from pos.tills import services as tills
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
CATALOGUE = "/api/tills/catalogue/"


def test_a_catalogue_page_costs_the_same_queries_for_5_or_300_products(api, cashier,
                                                                         django_assert_num_queries):
    client = api(cashier)
    ProductFactory.create_batch(5, price=Decimal("10.00"))
    client.get(CATALOGUE)  # the token and the user's permissions are looked up like on any request
    with django_assert_num_queries(3):  # the token with its user, the permissions, the page of products
        small = client.get(CATALOGUE, {"limit": 2000})
    assert len(small.json()["results"]) == 5
    ProductFactory.create_batch(295, price=Decimal("10.00"))
    Product.objects.update(updated_at=timezone.now() - timedelta(minutes=10))
    cursor = client.get(CATALOGUE, {"limit": 100}).json()["cursor"]
    with django_assert_num_queries(3):
        page = client.get(CATALOGUE, {"limit": 150, "cursor": cursor})
    assert len(page.json()["results"]) == 150 and page.json()["done"] is False


@pytest.mark.postgres
def test_the_sync_cursor_reads_the_updated_at_index(needs_postgres):
    ProductFactory.create_batch(30)
    cursor = f"{(timezone.now() - timedelta(minutes=1)).isoformat()}|5"
    with CaptureQueriesContext(connection) as seen:
        tills.catalogue_changes(cursor)
    (sql,) = [q["sql"] for q in seen.captured_queries if "catalog_product" in q["sql"]]
    with connection.cursor() as db:
        db.execute("SET LOCAL enable_seqscan = off")
        db.execute("ANALYZE catalog_product")
        db.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in db.fetchall())
    assert "catalog_product_sync_cursor" in plan, plan
