"""Public endpoints the providers call. Thin: every decision is in services.handle_callback, which
stores the raw body first and always returns the acknowledgement the provider expects.

Nothing runs before the body is stored: no DRF throttle, no parser, no cache. A rate limit applies
after storing, only to callbacks that match no payment, and a cache outage skips it (never a 500).
"""

import logging

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pos.payments import services

log = logging.getLogger("pos.payments.webhooks")


def over_limit(source_ip) -> bool:
    """A per-source limit (THROTTLE_WEBHOOK, e.g. "120/min") for callbacks matching nothing. The cache
    being down means no limit, never an error."""
    rate = str(settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("webhook") or "")
    try:
        count, _, period = rate.partition("/")
        limit, seconds = int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1] or "m"]
    except (ValueError, KeyError):
        return False
    key = f"webhook-unmatched:{source_ip}"
    try:
        if cache.add(key, 1, seconds):
            return False
        return cache.incr(key) > limit
    except Exception:
        log.warning("webhook rate limit skipped: cache unavailable", exc_info=True)
        return False


class WebhookView(APIView):
    """POST only, no authentication (so no CSRF check); stored before anything else."""

    provider = ""
    route = "payment"
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(request={"application/json": dict}, responses={200: dict}, auth=[],
                   summary="Provider callback: stored raw, checked, applied; always acknowledged",
                   parameters=[OpenApiParameter("token", str, OpenApiParameter.QUERY, required=False,
                                                description="M-Pesa: the payment's callback token.")])
    def post(self, request, token=None, ref=None):
        # The raw bytes, never request.data: a malformed body must be recorded, not refused by a parser.
        body = request._request.body
        source_ip = request.META.get("REMOTE_ADDR")
        answer = services.handle_callback(
            self.provider, body, dict(request.headers), source_ip=source_ip,
            token=token or request._request.GET.get("token"), path=request._request.get_full_path(),
            route=self.route, ref=ref,
        )
        if answer.callback.payment_id is None and answer.callback.refund_id is None and over_limit(source_ip):
            return Response({"detail": "Too many unmatched callbacks (stored)."}, status=429)
        return Response(answer.body, status=answer.http_status)


class MpesaCallbackView(WebhookView):
    """STK Push results from Daraja (CallBackURL)."""

    provider = "mpesa"


class MpesaReversalResultView(WebhookView):
    """Reversal results (ResultURL)."""

    provider = "mpesa"
    route = "reversal"


class MpesaReversalTimeoutView(WebhookView):
    """Reversal queue-timeout notices (QueueTimeOutURL): not final."""

    provider = "mpesa"
    route = "reversal_timeout"


class MpesaStatusResultView(WebhookView):
    """Transaction Status results about a refund (its own ResultURL)."""

    provider = "mpesa"
    route = "status"


class AirtelCallbackView(WebhookView):
    provider = "airtel"


class CardCallbackView(WebhookView):
    provider = "card"


def named(view, operation_id):
    """The same view under another OpenAPI operationId (one view class serves several URL forms)."""
    return extend_schema_view(post=extend_schema(operation_id=operation_id))(type(view.__name__, (view,), {}))


MpesaTokenCallbackView = named(MpesaCallbackView, "payments_webhook_mpesa_callback_with_token")
MpesaReversalView = named(MpesaReversalResultView, "payments_webhook_mpesa_reversal")
MpesaReversalTokenView = named(MpesaReversalResultView, "payments_webhook_mpesa_reversal_with_token")
MpesaReversalRefundView = named(MpesaReversalResultView, "payments_webhook_mpesa_reversal_of_refund")
MpesaReversalTimeoutRefundView = named(MpesaReversalTimeoutView, "payments_webhook_mpesa_reversal_timeout")
MpesaStatusRefundView = named(MpesaStatusResultView, "payments_webhook_mpesa_status_of_refund")
MpesaStatusTimeoutRefundView = named(MpesaReversalTimeoutView, "payments_webhook_mpesa_status_timeout")
