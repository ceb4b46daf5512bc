"""Mounted at /api/products/. The category, quick-key, low-stock and barcode routes come before the product detail
route, and product ids are digits only, so no word is ever taken for an id."""

from rest_framework.routers import SimpleRouter

from pos.catalog.api import CategoryViewSet, ProductViewSet, QuickKeyViewSet
from pos.catalog.lookup import scanner_route

categories = SimpleRouter()
categories.register("categories", CategoryViewSet, basename="category")
categories.register("quick-keys", QuickKeyViewSet, basename="quick-key")
products = SimpleRouter()
products.register("", ProductViewSet, basename="product")

# The scanner's lookup answered from memory in front of its API action (pos.catalog.lookup.scanner_route).
urlpatterns = categories.urls + [scanner_route(products.urls)] + products.urls
