from rest_framework.routers import SimpleRouter

from pos.sales.api import ReturnViewSet, SaleViewSet, ShiftViewSet

router = SimpleRouter()
router.register("sales", SaleViewSet, basename="sale")
router.register("shifts", ShiftViewSet, basename="shift")
router.register("returns", ReturnViewSet, basename="salereturn")

urlpatterns = router.urls
