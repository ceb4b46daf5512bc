"""The scanner's barcode lookup answers from memory (pos.catalog.lookup) and is never stale: each kind of
change (price, barcode, activation, stock, category name, the user's token) shows at the next scan."""

from decimal import Decimal

import pytest
from django.db import connection

from pos.accounts.services import logout
from pos.catalog import lookup
from pos.catalog.services import update_category, update_product
from pos.inventory.services import adjust_stock
from tests.factories import ean13

PRODUCTS = "/api/products/"


def scan(client, code):
    return client.get(f"{PRODUCTS}barcode/{code}/")


@pytest.fixture
def till(catalog_cache, milk, cashier, api, manager):
    client = api(cashier)
    assert scan(client, milk.barcode).status_code == 200  # read once: now in memory
    return client


def test_a_repeated_scan_costs_no_database_query(till, milk, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        answer = scan(till, milk.barcode)
    assert answer.status_code == 200
    assert answer.json()["price"] == "65.00" and answer.json()["name"] == "Brookside Milk 500ml"


def test_a_scan_from_memory_answers_what_the_api_action_answers(catalog_cache, milk, cashier, api):
    client = api(cashier)
    first = scan(client, milk.barcode)  # read by the API's action, then kept
    again = scan(client, milk.barcode)  # from memory, without DRF's dispatch
    assert again.content == first.content and again.status_code == first.status_code == 200
    for header in ("Content-Type", "Allow", "Vary", "Content-Security-Policy", "X-Frame-Options"):
        assert again.headers.get(header) == first.headers.get(header), header
    assert api(None).get(f"{PRODUCTS}barcode/{milk.barcode}/").status_code == 401


def test_the_cached_answer_is_the_product_apis_json(till, milk, manager, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        adjust_stock(milk, Decimal("7.25"), user=manager, reason="delivery")
    assert scan(till, milk.barcode).json() == api(manager).get(f"{PRODUCTS}{milk.pk}/").json()


def test_a_first_scan_takes_at_most_four_queries(catalog_cache, milk, cashier, api,
                                                 django_assert_max_num_queries):
    client = api(cashier)
    with django_assert_max_num_queries(5):  # token, its user, its permissions; the product's id, then its row
        assert scan(client, milk.barcode).status_code == 200


def test_without_the_cache_a_scan_is_two_queries(milk, cashier, api, django_assert_max_num_queries):
    client = api(cashier)
    scan(client, milk.barcode)
    with django_assert_max_num_queries(3):  # the token with its user, its permissions, the product with its category
        answer = scan(client, milk.barcode)
    assert answer.json()["category_name"] == "Dairy" and answer.json()["stock_quantity"] == "0.000"


def test_a_price_change_shows_at_the_next_scan(till, milk, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        update_product(milk, user=manager, price=Decimal("70.00"))
    assert scan(till, milk.barcode).json()["price"] == "70.00"


def test_a_barcode_change_moves_the_product(till, milk, manager, django_capture_on_commit_callbacks):
    old = milk.barcode
    with django_capture_on_commit_callbacks(execute=True):
        update_product(milk, user=manager, barcode=ean13(4242))
    assert scan(till, old).status_code == 404
    assert scan(till, ean13(4242)).json()["id"] == milk.pk


def test_a_deactivated_product_is_not_found(till, milk, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        update_product(milk, user=manager, is_active=False)
    assert scan(till, milk.barcode).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        update_product(milk, user=manager, is_active=True)
    assert scan(till, milk.barcode).status_code == 200


def test_a_stock_movement_shows_at_the_next_scan(till, milk, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        adjust_stock(milk, Decimal("12"), user=manager, reason="delivery")
    assert scan(till, milk.barcode).json()["stock_quantity"] == "12.000"


def test_a_sale_shows_in_the_stock_at_the_next_scan(till, milk, manager, cashier, django_capture_on_commit_callbacks):
    from pos.sales.services import LineRequest, create_sale, open_shift

    with django_capture_on_commit_callbacks(execute=True):
        adjust_stock(milk, Decimal("10"), user=manager, reason="delivery")
    assert scan(till, milk.barcode).json()["stock_quantity"] == "10.000"
    open_shift(cashier, Decimal("0"))
    with django_capture_on_commit_callbacks(execute=True):
        create_sale(cashier=cashier, items=[LineRequest(Decimal(3), product=milk.pk)])
    assert scan(till, milk.barcode).json()["stock_quantity"] == "7.000"


def test_a_category_rename_shows_at_the_next_scan(till, milk, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        update_category(milk.category, user=manager, name="Milk and dairy")
    assert scan(till, milk.barcode).json()["category_name"] == "Milk and dairy"


def test_a_change_not_yet_committed_is_not_cached_as_current(till, milk, manager, django_capture_on_commit_callbacks):
    """The token is read before the row: an answer read before a change commits is stored under the
    old token, so the bump on commit throws it away."""
    with django_capture_on_commit_callbacks(execute=False) as pending:
        update_product(milk, user=manager, price=Decimal("99.00"))
        lookup.clear_local()
        scan(till, milk.barcode)  # read inside the change's transaction, before its bump
    for callback in pending:
        callback()
    assert scan(till, milk.barcode).json()["price"] == "99.00"


def test_logout_stops_the_cached_token_at_once(till, milk, cashier, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logout(cashier)
    assert scan(till, milk.barcode).status_code == 401


def test_a_deactivated_user_is_refused_at_once(till, milk, cashier, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cashier.is_active = False
        cashier.save(update_fields=["is_active"])
    assert scan(till, milk.barcode).status_code == 401


def test_local_versions_are_shared_by_the_processes_of_the_machine(tmp_path):
    """A task worker (another process) that changes stock bumps the counters the web workers read."""
    import subprocess
    import sys

    store = lookup.LocalVersions(str(tmp_path / "versions"))
    before = store.read(["p7", "p8", "c"])
    subprocess.run([sys.executable, "-c", "import sys; from pos.catalog.lookup import LocalVersions; "
                    "LocalVersions(sys.argv[1]).bump(['p7'])", str(tmp_path / "versions")], check=True)
    after = store.read(["p7", "p8", "c"])
    assert after[0] == before[0] + 1 and after[1:] == before[1:]


def test_product_search_takes_at_most_four_or_five_queries(milk, cashier, api, django_assert_max_num_queries):
    from tests.factories import ProductFactory

    for n in range(30):
        ProductFactory(name=f"Milk powder {n}", category=milk.category)
    client = api(cashier)
    client.get(f"{PRODUCTS}?search=milk")
    # the token with its user, their permissions, the count, the page; on PostgreSQL one more count
    # decides whether the words matched or a similarity search takes over (pos.catalog.search)
    with django_assert_max_num_queries(5 if connection.vendor == "postgresql" else 4):
        answer = client.get(f"{PRODUCTS}?search=milk&page_size=20")
    assert answer.status_code == 200
    assert answer.json()["count"] == 31 and len(answer.json()["results"]) == 20


def test_a_withdrawn_permission_stops_the_cached_user_at_once(till, milk, cashier, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    with django_capture_on_commit_callbacks(execute=True):
        for group in Group.objects.filter(user=cashier):
            group.permissions.clear()
        cashier.user_permissions.clear()
    assert scan(till, milk.barcode).status_code == 403
