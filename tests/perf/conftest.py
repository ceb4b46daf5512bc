from decimal import Decimal

import pytest

from pos.catalog import lookup
from tests.factories import CategoryFactory, ProductFactory, ean13

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "perf-tests"}}


@pytest.fixture
def catalog_cache(settings):
    """The catalogue cache on, over a cache shared by this process (Redis in production)."""
    settings.CACHES = LOCAL_CACHE
    settings.CATALOG_CACHE = True
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
