"""A product with history offers Deactivate (with a confirmation) instead of a Delete that cannot work."""

from decimal import Decimal

import pytest

from pos.catalog.models import Product
from pos.inventory.services import adjust_stock
from tests.conftest import client_for
from tests.factories import ProductFactory

PRODUCTS = "/admin/catalog/product"


@pytest.mark.django_db
def test_a_product_with_history_is_deactivated_not_deleted(manager):
    soap = ProductFactory(name="Geisha Soap")
    adjust_stock(soap, Decimal(5), user=manager, reason="opening")
    client = client_for(manager)
    page = client.get(f"{PRODUCTS}/{soap.pk}/change/").content.decode()
    assert f"{PRODUCTS}/{soap.pk}/delete/" not in page and f"{PRODUCTS}/{soap.pk}/deactivate/" in page
    assert client.get(f"{PRODUCTS}/{soap.pk}/delete/").status_code == 403
    confirm = client.get(f"{PRODUCTS}/{soap.pk}/deactivate/")
    assert confirm.status_code == 200 and "Deactivate Geisha Soap?" in confirm.content.decode()
    soap.refresh_from_db()
    assert soap.is_active  # asking moved nothing
    assert client.post(f"{PRODUCTS}/{soap.pk}/deactivate/", {"confirm": "yes"}).status_code == 302
    soap.refresh_from_db()
    assert not soap.is_active and soap.stock_quantity == 5
    page = client.get(f"{PRODUCTS}/{soap.pk}/change/").content.decode()
    assert f"{PRODUCTS}/{soap.pk}/reactivate/" in page and f"{PRODUCTS}/{soap.pk}/deactivate/" not in page
    client.post(f"{PRODUCTS}/{soap.pk}/reactivate/", {"confirm": "yes"})
    soap.refresh_from_db()
    assert soap.is_active


@pytest.mark.django_db
def test_a_product_without_history_can_still_be_deleted(manager, bookkeeper):
    typo = ProductFactory(name="Sugr typo")
    client = client_for(manager)
    assert f"{PRODUCTS}/{typo.pk}/delete/" in client.get(f"{PRODUCTS}/{typo.pk}/change/").content.decode()
    client.post(f"{PRODUCTS}/{typo.pk}/delete/", {"post": "yes"})
    assert not Product.objects.filter(pk=typo.pk).exists()
    other = ProductFactory(name="Other")
    assert client_for(bookkeeper).post(f"{PRODUCTS}/{other.pk}/deactivate/", {"confirm": "yes"}).status_code == 403


@pytest.mark.django_db
def test_bulk_deactivate(manager):
    a, b = ProductFactory(name="A"), ProductFactory(name="B")
    adjust_stock(a, Decimal(1), user=manager, reason="opening")
    client_for(manager).post(f"{PRODUCTS}/", {"action": "deactivate_selected", "_selected_action": [a.pk, b.pk]})
    assert not Product.objects.filter(is_active=True).exists()
