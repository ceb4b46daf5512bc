"""Bad input is a clear 400/404 with nothing written, never a 500: huge or non-numeric quantities and
amounts, a line too big for the money columns, NUL in a barcode, JSON nested 100,000 deep, a non-numeric
id in an admin URL."""

import json
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site

from pos.inventory.models import StockMovement
from pos.inventory.services import adjust_stock
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import open_shift
from tests.conftest import client_for
from tests.factories import ProductFactory


@pytest.fixture
def till(api, cashier, manager):
    product = ProductFactory(price=Decimal("100.00"))
    adjust_stock(product, Decimal(100), user=manager, reason="opening")
    open_shift(cashier, Decimal(0))
    return api(cashier), product


def post(client, url, body):
    return client.post(url, body if isinstance(body, str) else json.dumps(body), content_type="application/json")


def written():
    return Sale.objects.count(), Payment.objects.count(), StockMovement.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("line", [
    {"quantity": "1e30"}, {"quantity": 1e30}, {"quantity": "NaN"}, {"quantity": "Infinity"}, {"quantity": True},
    {"product": "²"}, {"product": None, "barcode": "²"}, {"product": 10**30}, {"quantity": "-1"},
])
def test_bad_lines_are_400_and_write_nothing(till, line):
    client, product = till
    before = written()
    wanted = {key: value for key, value in {"product": product.pk, "quantity": "1", **line}.items() if value is not None}
    answer = post(client, "/api/sales/sales/", {"items": [wanted]})
    assert answer.status_code == 400, answer.content
    assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize("tendered", ["1e15", 1e15, "NaN", True, "Infinity", "1e400", "-5", [], {}])
def test_bad_tendered_amounts_are_400_and_write_nothing(till, tendered):
    client, product = till
    sale = post(client, "/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "1"}]}).json()
    before = written()
    assert post(client, f"/api/sales/sales/{sale['id']}/pay_cash/", {"amount_tendered": tendered}).status_code == 400
    answer = post(client, "/api/payments/payments/initiate/",
                  {"sale": sale["id"], "method": "cash", "amount": "100.00", "amount_tendered": tendered})
    assert answer.status_code == 400
    assert written() == before
    assert Sale.objects.get(pk=sale["id"]).status == "pending_payment"


@pytest.mark.django_db
def test_a_line_too_big_for_the_money_columns_is_400(till, manager):
    client, _ = till
    dear = ProductFactory(price=Decimal("999999999999.99"))
    adjust_stock(dear, Decimal(100), user=manager, reason="opening")
    before = written()
    answer = post(client, "/api/sales/sales/", {"items": [{"product": dear.pk, "quantity": "99"}]})
    assert answer.status_code == 400 and answer.json()["code"] == "too_large"
    assert written() == before


@pytest.mark.django_db
def test_a_price_too_big_for_its_column_is_400(api, manager, till):
    _, product = till
    answer = post(api(manager), "/api/products/", {"name": "Gold", "sku": "GOLD", "price": "1e20", "cost_price": "1",
                                                   "tax_rate": "16", "category": product.category_id})
    assert answer.status_code == 400 and "price" in answer.json()


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["%00", "abc%00def", "%00%00%00"])
def test_nul_in_a_barcode_lookup_is_404(till, code):
    client, _ = till
    assert client.get(f"/api/products/barcode/{code}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/sales/sales/", "/api/auth/login/", "/api/payments/payments/initiate/",
                                 "/api/sales/shifts/open/"])
def test_json_nested_100000_deep_is_400(till, url):
    client, _ = till
    before = written()
    answer = post(client, url, "[" * 100_000 + "]" * 100_000)
    assert answer.status_code == 400
    assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["null", "3", '"text"', "true"])
def test_a_body_that_is_not_a_json_object_is_400(till, body):
    client, _ = till
    before = written()
    for url in ("/api/sales/sales/", "/api/payments/payments/initiate/", "/api/sales/shifts/open/"):
        assert post(client, url, body).status_code == 400, (url, body)
    assert written() == before


@pytest.mark.django_db
def test_a_provider_callback_nested_100000_deep_is_recorded_not_a_500(api):
    answer = post(api(None), "/api/payments/webhooks/mpesa/callback/", "[" * 100_000 + "]" * 100_000)
    assert answer.status_code < 500


@pytest.mark.django_db
def test_a_non_numeric_id_in_any_admin_change_url_is_not_a_500(admin_user):
    client = client_for(admin_user)
    for model in site._registry:
        opts = model._meta
        answer = client.get(f"/admin/{opts.app_label}/{opts.model_name}/abc/change/")
        assert answer.status_code in (302, 404), (opts.label, answer.status_code)
