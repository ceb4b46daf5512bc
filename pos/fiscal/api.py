"""eTIMS API: the signing queue (read, resend) and the day's count. Thin: services do the work."""

from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from pos.fiscal import services
from pos.fiscal.models import Document


class DjangoPerm(permissions.BasePermission):
    """Reading needs fiscal.view_document; resending needs fiscal.resend_document."""

    def has_permission(self, request, view):
        wanted = "fiscal.resend_document" if getattr(view, "action", "") == "resend" else "fiscal.view_document"
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(wanted))


class DocumentSerializer(serializers.ModelSerializer):
    receipt_number = serializers.CharField(source="sale.receipt_number", read_only=True)
    cu_invoice_no = serializers.CharField(read_only=True)

    class Meta:
        model = Document
        fields = ["id", "kind", "receipt_number", "trade_invoice_no", "status", "invoice_no", "original_invoice_no",
                  "cu_invoice_no", "receipt_counter", "receipt_total", "internal_data", "signature", "sdc_datetime",
                  "attempts", "next_attempt_at", "last_error", "result_code", "result_message", "stock_status",
                  "stock_no", "stock_error", "created_at", "signed_at"]
        read_only_fields = fields


class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DocumentSerializer
    permission_classes = [DjangoPerm]
    filterset_fields = ["status", "kind", "stock_status"]
    search_fields = ["trade_invoice_no", "sale__receipt_number"]
    ordering_fields = ["id", "invoice_no", "created_at"]

    def get_queryset(self):
        return Document.objects.select_related("sale").order_by("-id")

    @extend_schema(request=None, responses=DocumentSerializer, summary="Send a failed or blocked document again")
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        document = services.resend_document(self.get_object(), user=request.user)
        services.kick()
        document.refresh_from_db()
        return Response(DocumentSerializer(document).data)


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    sales = serializers.IntegerField()
    sales_signed = serializers.IntegerField()
    returns = serializers.IntegerField()
    returns_signed = serializers.IntegerField()
    all_signed = serializers.BooleanField()
    unsigned_sales = serializers.ListField(child=serializers.CharField())
    unsigned_returns = serializers.ListField(child=serializers.CharField())
    documents_by_status = serializers.DictField(child=serializers.IntegerField())


class DaySummaryView(APIView):
    permission_classes = [DjangoPerm]

    @extend_schema(parameters=[OpenApiParameter("day", str, description="YYYY-MM-DD (default: today)")],
                   responses=DaySerializer, summary="Every sale and credit note of a day: how many are signed")
    def get(self, request):
        raw = request.query_params.get("day")
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise serializers.ValidationError({"day": ["Use YYYY-MM-DD."]}) from None
        return Response(DaySerializer(services.day_summary(day)).data)
