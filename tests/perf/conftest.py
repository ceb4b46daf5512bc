from decimal import Decimal

import pytest

from pos.catalog import lookup
from tests.factories import CategoryFactory, ProductFactory, ean13
from tests.sales.conftest import give_stock

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "perf-tests"}}


@pytest.fixture(params=["local", "redis"])
def catalog_cache(request, settings, tmp_path):
    """The catalogue cache on: versions in a shared-memory file (local), or in the shared cache (redis
    mode; here over the process's own memory cache, the same code as over Redis)."""
    settings.CACHES = LOCAL_CACHE
    settings.CATALOG_CACHE = request.param
    settings.CATALOG_CACHE_PATH = str(tmp_path / "catalog-versions")
    lookup.clear_local()
    from django.core.cache import caches

    caches["default"].clear()
    yield
    lookup.clear_local()


@pytest.fixture
def dairy(db):
    return CategoryFactory(name="Dairy")


@pytest.fixture
def milk(dairy):
    return ProductFactory(name="Brookside Milk 500ml", sku="DAI-001", barcode=ean13(9001), category=dairy,
                          price=Decimal("65.00"), cost_price=Decimal("52.00"), tax_rate=Decimal("0.00"),
                          reorder_level=Decimal(10))


@pytest.fixture
def shelf(manager):
    """51 products at 100.00 with 100 in stock each."""
    products = [ProductFactory(price=Decimal("100.00")) for _ in range(51)]
    give_stock(products, "100", user=manager)
    return products


def pay_cash(client, products, key):
    """The till's one-request cash checkout of one of each product, 6000 handed over."""
    return client.post("/api/sales/sales/?receipt=1",
                       {"items": [{"product": p.pk, "quantity": "1"} for p in products],
                        "payments": [{"method": "cash", "amount_tendered": "6000"}]},
                       format="json", HTTP_IDEMPOTENCY_KEY=key)
