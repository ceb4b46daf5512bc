"""Quick keys: the till's grid of favourite products, chosen and ordered by managers in the admin, read by
the till through the REST API."""

from decimal import Decimal

import pytest
from django.urls import reverse

from pos.catalog.models import QuickKey
from tests.conftest import client_for
from tests.factories import ProductFactory

KEYS = "/api/products/quick-keys/"


@pytest.fixture
def produce(db):
    return [ProductFactory(name=name, unit="kg", barcode=None, price=Decimal(price))
            for name, price in [("Tomatoes", "120.00"), ("Bananas", "90.00"), ("Onions", "110.00")]]


def test_the_till_reads_the_keys_in_the_managers_order(produce, cashier, api, django_assert_max_num_queries):
    tomatoes, bananas, onions = produce
    QuickKey.objects.create(product=tomatoes, position=2, colour="red")
    QuickKey.objects.create(product=bananas, position=1, colour="yellow", label="Ndizi")
    QuickKey.objects.create(product=onions, position=3, is_active=False)
    retired = ProductFactory(name="Old greens", is_active=False)
    QuickKey.objects.create(product=retired, position=0)
    client = api(cashier)
    with django_assert_max_num_queries(3):
        body = client.get(KEYS).json()
    assert [(k["label"], k["colour"], k["product"]["name"]) for k in body] == [
        ("Ndizi", "yellow", "Bananas"), ("Tomatoes", "red", "Tomatoes")]
    assert body[1]["product"]["price"] == "120.00" and body[1]["product"]["unit"] == "kg"
    assert body[1]["image"] is None


def test_only_managers_change_keys_in_the_admin(produce, manager, cashier):
    tomatoes = produce[0]
    page = client_for(manager).post(reverse("admin:catalog_quickkey_add"), {
        "product": tomatoes.pk, "label": "Nyanya", "colour": "red", "position": "5", "is_active": "on"})
    assert page.status_code == 302, page.content[:2000]
    key = QuickKey.objects.get()
    assert (key.product, key.label, key.colour, key.position) == (tomatoes, "Nyanya", "red", 5)
    assert client_for(cashier).get(reverse("admin:catalog_quickkey_add")).status_code == 403
    listing = client_for(manager).get(reverse("admin:catalog_quickkey_changelist"))
    assert listing.status_code == 200 and b"Nyanya" in listing.content


def test_an_inactive_product_cannot_be_a_key(produce, manager):
    retired = ProductFactory(name="Old greens", is_active=False)
    page = client_for(manager).post(reverse("admin:catalog_quickkey_add"), {
        "product": retired.pk, "colour": "green", "position": "1", "is_active": "on"})
    assert page.status_code == 200 and b"for sale" in page.content
    assert not QuickKey.objects.exists()
