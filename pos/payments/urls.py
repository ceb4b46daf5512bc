from django.urls import path
from rest_framework.routers import DefaultRouter

from pos.payments import api, webhooks

router = DefaultRouter(trailing_slash=True)
router.register("payments", api.PaymentViewSet, basename="payment")
router.register("refunds", api.RefundViewSet, basename="refund")

# M-Pesa results are routed by URL (one path per kind of result), never by guessing from the body.
urlpatterns = [
    path("webhooks/mpesa/callback/", webhooks.MpesaCallbackView.as_view(), name="webhook-mpesa"),
    path("webhooks/mpesa/callback/<str:token>/", webhooks.MpesaTokenCallbackView.as_view(),
         name="webhook-mpesa-token"),
    path("webhooks/mpesa/reversal/", webhooks.MpesaReversalView.as_view(), name="webhook-mpesa-reversal"),
    path("webhooks/mpesa/reversal/<str:token>/", webhooks.MpesaReversalTokenView.as_view(),
         name="webhook-mpesa-reversal-token"),
    path("webhooks/mpesa/reversal/<str:token>/<int:ref>/", webhooks.MpesaReversalRefundView.as_view(),
         name="webhook-mpesa-reversal-refund"),
    path("webhooks/mpesa/reversal-timeout/<str:token>/<int:ref>/",
         webhooks.MpesaReversalTimeoutRefundView.as_view(), name="webhook-mpesa-reversal-timeout"),
    path("webhooks/mpesa/status/<str:token>/<int:ref>/", webhooks.MpesaStatusRefundView.as_view(),
         name="webhook-mpesa-status"),
    path("webhooks/mpesa/status-timeout/<str:token>/<int:ref>/", webhooks.MpesaStatusTimeoutRefundView.as_view(),
         name="webhook-mpesa-status-timeout"),
    path("webhooks/airtel/callback/", webhooks.AirtelCallbackView.as_view(), name="webhook-airtel"),
    path("webhooks/card/callback/", webhooks.CardCallbackView.as_view(), name="webhook-card"),
    *router.urls,
]
