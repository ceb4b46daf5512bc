from django.urls import path
from rest_framework.routers import DefaultRouter

from pos.fiscal import api

router = DefaultRouter()
router.register("documents", api.DocumentViewSet, basename="fiscal-document")

urlpatterns = [path("day/", api.DaySummaryView.as_view(), name="fiscal-day"), *router.urls]
