"""Public endpoints the providers call. Thin: every decision is in services.handle_callback, which
stores the raw body first and always returns the acknowledgement the provider expects."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from pos.payments import services


class WebhookView(APIView):
    """POST only, no authentication (so no CSRF check), throttled per source address."""

    provider = ""
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    @extend_schema(request={"application/json": dict}, responses={200: dict}, auth=[],
                   summary="Provider callback: stored raw, checked, applied; always acknowledged",
                   parameters=[OpenApiParameter("token", str, OpenApiParameter.QUERY, required=False,
                                                description="M-Pesa: the payment's callback token.")])
    def post(self, request, token=None):
        # The raw bytes, never request.data: a malformed body must be recorded, not refused by a parser.
        body = request._request.body
        answer = services.handle_callback(
            self.provider, body, dict(request.headers), source_ip=request.META.get("REMOTE_ADDR"),
            token=token or request.query_params.get("token"), path=request.get_full_path(),
        )
        return Response(answer.body, status=answer.http_status)


class MpesaCallbackView(WebhookView):
    """STK Push results and reversal results from Daraja."""

    provider = "mpesa"


class AirtelCallbackView(WebhookView):
    provider = "airtel"


class CardCallbackView(WebhookView):
    provider = "card"



def named(view, operation_id):
    """The same view under another OpenAPI operationId (one view class serves several URL forms)."""
    return extend_schema_view(post=extend_schema(operation_id=operation_id))(type(view.__name__, (view,), {}))


MpesaTokenCallbackView = named(MpesaCallbackView, "payments_webhook_mpesa_callback_with_token")
MpesaReversalView = named(MpesaCallbackView, "payments_webhook_mpesa_reversal")
MpesaReversalTokenView = named(MpesaCallbackView, "payments_webhook_mpesa_reversal_with_token")
