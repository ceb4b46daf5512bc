from django.urls import path
from rest_framework.routers import DefaultRouter

from pos.payments import api, webhooks

router = DefaultRouter(trailing_slash=True)
router.register("payments", api.PaymentViewSet, basename="payment")
router.register("refunds", api.RefundViewSet, basename="refund")

urlpatterns = [
    path("webhooks/mpesa/callback/", webhooks.MpesaCallbackView.as_view(), name="webhook-mpesa"),
    path("webhooks/mpesa/callback/<str:token>/", webhooks.MpesaTokenCallbackView.as_view(),
         name="webhook-mpesa-token"),
    path("webhooks/mpesa/reversal/", webhooks.MpesaReversalView.as_view(), name="webhook-mpesa-reversal"),
    path("webhooks/mpesa/reversal/<str:token>/", webhooks.MpesaReversalTokenView.as_view(),
         name="webhook-mpesa-reversal-token"),
    path("webhooks/airtel/callback/", webhooks.AirtelCallbackView.as_view(), name="webhook-airtel"),
    path("webhooks/card/callback/", webhooks.CardCallbackView.as_view(), name="webhook-card"),
    *router.urls,
]
