"""Mounted at /api/inventory/."""

from rest_framework.routers import SimpleRouter

from pos.inventory.api import AlertViewSet, CountViewSet, MovementViewSet, ReceiptViewSet, SupplierViewSet

router = SimpleRouter()
router.register("movements", MovementViewSet, basename="stock-movement")
router.register("alerts", AlertViewSet, basename="stock-alert")
router.register("counts", CountViewSet, basename="stock-count")
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("receipts", ReceiptViewSet, basename="goods-receipt")

urlpatterns = router.urls
