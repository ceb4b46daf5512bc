"""Confirming a sale takes the same number of queries for 1 line or 50 (service and API)."""

from decimal import Decimal

import pytest

from pos.sales.services import LineRequest, create_sale
from tests.factories import ProductFactory
from tests.sales.conftest import give_stock

MAX_SERVICE = 15
MAX_API = 19


@pytest.fixture
def shelf(manager):
    products = [ProductFactory() for _ in range(51)]
    give_stock(products, "100", user=manager)
    return products


@pytest.fixture
def warm(cashier, till, shelf):
    """The shop's first sale creates its receipt counter: sell once before counting."""
    create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=shelf[0].pk)])


def counted(assert_max, limit, run):
    with assert_max(limit) as queries:
        run()
    return len(queries.captured_queries)


@pytest.mark.django_db
def test_service_confirm_is_constant_in_lines(cashier, warm, shelf, django_assert_max_num_queries):
    def sale_of(products):
        return lambda: create_sale(cashier=cashier, items=[LineRequest(Decimal("1"), product=p.pk) for p in products])

    one = counted(django_assert_max_num_queries, MAX_SERVICE, sale_of(shelf[:1]))
    fifty = counted(django_assert_max_num_queries, MAX_SERVICE, sale_of(shelf[1:]))
    assert one == fifty


@pytest.mark.django_db
def test_api_post_is_constant_in_lines(api, cashier, warm, shelf, django_assert_max_num_queries):
    client = api(cashier)

    def post(products):
        def run():
            answer = client.post("/api/sales/sales/", {"items": [{"product": p.pk, "quantity": "1"} for p in products]},
                                 format="json")
            assert answer.status_code == 201 and len(answer.json()["items"]) == len(products)
        return run

    one = counted(django_assert_max_num_queries, MAX_API, post(shelf[:1]))
    fifty = counted(django_assert_max_num_queries, MAX_API, post(shelf[1:]))
    assert one == fifty
