from django.urls import path
from rest_framework.routers import DefaultRouter

from pos.c2b import api, hooks

router = DefaultRouter(trailing_slash=True)
router.register("received", api.ReceivedPaymentViewSet, basename="c2b-received")

urlpatterns = [
    # Registered with Daraja: neutral words only (no mpesa/safaricom/exec/cmd/sql/query), a secret token.
    path("notify/<str:token>/validation/", hooks.validation, name="c2b-validation"),
    path("notify/<str:token>/confirmation/", hooks.confirmation, name="c2b-confirmation"),
    path("notify/<str:token>/pull/", hooks.pull_notice, name="c2b-pull-notice"),
    path("till/<int:sale_id>/", api.TillView.as_view(), name="c2b-till"),
    path("till/<int:sale_id>/match/", api.TillMatchView.as_view(), name="c2b-till-match"),
    *router.urls,
]
