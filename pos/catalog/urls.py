"""Mounted at /api/products/. The category, low-stock and barcode routes come before the product detail
route, and product ids are digits only, so no word is ever taken for an id."""

from rest_framework.routers import SimpleRouter

from pos.catalog.api import CategoryViewSet, ProductViewSet

categories = SimpleRouter()
categories.register("categories", CategoryViewSet, basename="category")
products = SimpleRouter()
products.register("", ProductViewSet, basename="product")

urlpatterns = categories.urls + products.urls
