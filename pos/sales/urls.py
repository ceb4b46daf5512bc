from rest_framework.routers import SimpleRouter

from pos.sales.api import CashMovementViewSet, ReturnViewSet, SaleViewSet, ShiftViewSet

router = SimpleRouter()
router.register("sales", SaleViewSet, basename="sale")
router.register("shifts", ShiftViewSet, basename="shift")
router.register("returns", ReturnViewSet, basename="salereturn")
router.register("cash-movements", CashMovementViewSet, basename="cashmovement")

urlpatterns = router.urls
