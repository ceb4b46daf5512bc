from rest_framework.routers import SimpleRouter

from pos.sales.api import SaleViewSet, ShiftViewSet

router = SimpleRouter()
router.register("sales", SaleViewSet, basename="sale")
router.register("shifts", ShiftViewSet, basename="shift")

urlpatterns = router.urls
