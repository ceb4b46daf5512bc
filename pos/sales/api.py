"""Sales and shifts API (thin: every operation is a call to pos.sales.services or pos.payments.services).

Cashiers see only their own sales and shifts (another cashier's is a 404); managers and admins see all;
bookkeepers read only. Money is answered as decimal strings.
"""

from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from pos.core.api import idempotency_key
from pos.core.money import ZERO
from pos.core.permissions import ActionPermissions, own_rows
from pos.core.serializers import money_field, quantity_field
from pos.payments.models import Payment
from pos.payments.services import pay_cash
from pos.sales import receipts, services
from pos.sales.filters import SaleFilter, ShiftFilter, today_bounds
from pos.sales.models import (
    Sale,
    SaleItem,
    SaleReturn,
    SaleReturnLine,
    SaleStatus,
    Shift,
    ShiftTotal,
)
from pos.tills.services import receipt_prefix_for

# --- Serializers ---------------------------------------------------------------------------------------

class SaleItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = SaleItem
        fields = ["id", "product", "name", "sku", "barcode", "quantity", "unit_price", "tax_rate", "gross",
                  "discount", "order_discount", "tax", "total", "returned_quantity"]
        read_only_fields = fields


class SalePaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "method", "status", "amount", "amount_tendered", "change_given", "receipt", "created_at",
                  "completed_at"]
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    items = SaleItemSerializer(many=True, read_only=True)
    payments = SalePaymentSerializer(many=True, read_only=True)
    balance_due = money_field(read_only=True)
    cashier_name = serializers.CharField(source="cashier.username", read_only=True)

    class Meta:
        model = Sale
        fields = ["id", "receipt_number", "status", "items", "subtotal", "discount", "order_discount", "tax", "total",
                  "paid_amount", "balance_due", "change_due", "returned_amount", "currency", "cashier",
                  "cashier_name", "shift", "customer_name", "customer_phone", "payments", "created_at",
                  "confirmed_at", "paid_at", "cancelled_at", "cancel_reason"]
        read_only_fields = fields


class LineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                       help_text="Product id (or give `barcode`).")
    barcode = serializers.CharField(required=False, max_length=64)
    quantity = quantity_field()
    discount = money_field(required=False, default=ZERO, help_text="Discount on this line (money).")

    def validate(self, attrs):
        if not attrs.get("product") and not attrs.get("barcode"):
            raise serializers.ValidationError({"product": ["Give a product id or a barcode."]})
        return attrs


class SaleCreateSerializer(serializers.Serializer):
    items = LineInputSerializer(many=True, allow_empty=False)
    discount = money_field(required=False, default=ZERO, help_text="Discount on the whole sale (money).")
    customer_phone = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    customer_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SaleCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class PayCashSerializer(serializers.Serializer):
    amount_tendered = money_field(help_text="Cash handed over by the customer.")
    amount = money_field(required=False, allow_null=True, default=None,
                         help_text="Part of the sale paid in cash (split tender); default: all that is due.")


class ReturnLineInputSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text="Sale item id.")
    quantity = quantity_field()


class ReturnInputSerializer(serializers.Serializer):
    items = ReturnLineInputSerializer(many=True, allow_empty=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class SaleReturnLineSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="sale_item.name", read_only=True)

    class Meta:
        model = SaleReturnLine
        fields = ["id", "sale_item", "name", "quantity", "amount", "tax"]
        read_only_fields = fields


class SaleReturnSerializer(serializers.ModelSerializer):
    lines = SaleReturnLineSerializer(many=True, read_only=True)
    sale = SaleSerializer(read_only=True)

    class Meta:
        model = SaleReturn
        fields = ["id", "amount", "tax", "reason", "created_by", "shift", "created_at", "lines", "sale"]
        read_only_fields = fields


class TodaySummarySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Sales not cancelled.")
    total = money_field()
    paid = money_field()
    cancelled = serializers.IntegerField()


class TodaySerializer(serializers.Serializer):
    summary = TodaySummarySerializer()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SaleSerializer(many=True)


class ShiftTotalSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShiftTotal
        fields = ["method", "opening", "expected", "counted", "difference"]
        read_only_fields = fields


class ShiftSerializer(serializers.ModelSerializer):
    totals = ShiftTotalSerializer(many=True, read_only=True)
    cashier_name = serializers.CharField(source="cashier.username", read_only=True)

    class Meta:
        model = Shift
        fields = ["id", "cashier", "cashier_name", "status", "opening_float", "opened_at", "closed_at",
                  "expected_cash", "counted_cash", "cash_variance", "closed_by", "note", "totals"]
        read_only_fields = fields


class OpenShiftSerializer(serializers.Serializer):
    opening_float = money_field(min_value=ZERO)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class CloseShiftSerializer(serializers.Serializer):
    counted_cash = money_field(min_value=ZERO)
    counted = serializers.DictField(child=money_field(min_value=ZERO), required=False, default=dict,
                                    help_text="Other methods counted, e.g. {\"card\": \"1500.00\"}.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class MethodTotalSerializer(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()
    opening = money_field()
    payments = money_field(help_text="Completed payments applied to sales.")
    count = serializers.IntegerField()
    tendered = money_field(help_text="Money received (cash: handed over).")
    change = money_field()
    refunds = money_field(help_text="Completed refunds paid out in this shift.")
    expected = money_field()
    counted = money_field(allow_null=True)
    difference = money_field(allow_null=True)


class VatTotalSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    net = money_field()
    tax = money_field()
    total = money_field()


class ShiftReportSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["X", "Z"], help_text="X: mid-shift, read-only. Z: at close.")
    shift = serializers.IntegerField(source="shift.pk")
    cashier = serializers.IntegerField(source="shift.cashier_id")
    status = serializers.CharField(source="shift.status")
    opened_at = serializers.DateTimeField(source="shift.opened_at")
    closed_at = serializers.DateTimeField(source="shift.closed_at", allow_null=True)
    opening_float = money_field(source="shift.opening_float")
    sales_count = serializers.IntegerField()
    sales_total = money_field()
    discount_total = money_field()
    tax_total = money_field()
    returns_count = serializers.IntegerField()
    returns_total = money_field()
    net_sales = money_field()
    pending_count = serializers.IntegerField()
    cancelled_count = serializers.IntegerField()
    expected_cash = money_field(source="cash.expected")
    counted_cash = money_field(source="cash.counted", allow_null=True)
    cash_variance = money_field(source="cash.difference", allow_null=True)
    methods = MethodTotalSerializer(many=True)
    vat = VatTotalSerializer(many=True)
    generated_at = serializers.DateTimeField()


# --- Permissions ---------------------------------------------------------------------------------------

# What each operation needs (pos.core.permissions). Without accounts.all_cashiers a user sees and
# handles only their own sales and shifts: another cashier's is a 404.
SALE_PERMS = {"read": "sales.view_sale", "create": "sales.add_sale", "cancel": "sales.add_sale",
              "pay_cash": ("sales.view_sale", "payments.add_payment"), "take_return": "sales.return_sale"}
SHIFT_PERMS = {"read": "sales.view_shift", "open": "sales.add_shift", "close": "sales.add_shift"}


# --- Views ---------------------------------------------------------------------------------------------

RECEIPT_FORMATS = {
    "pdf": ("application/pdf", "inline", "pdf", receipts.receipt_pdf),
    "text": ("text/plain; charset=utf-8", "inline", "txt", receipts.receipt_text),
    "escpos": ("application/octet-stream", "attachment", "bin", receipts.receipt_escpos),
    "html": ("text/html; charset=utf-8", "inline", "html", receipts.receipt_html),
}


@extend_schema_view(
    list=extend_schema(summary="Sales (cashiers: their own)", responses=SaleSerializer(many=True)),
    retrieve=extend_schema(summary="One sale", responses=SaleSerializer),
)
class SaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SaleSerializer
    permission_classes = [ActionPermissions]
    required_perms = SALE_PERMS
    filterset_class = SaleFilter
    search_fields = ["receipt_number", "customer_phone", "customer_name"]
    ordering_fields = ["created_at", "total", "receipt_number"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = Sale.objects.select_related("cashier").prefetch_related("items", "payments")
        return own_rows(queryset, self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # `?format=` picks the receipt's format, not the API renderer: errors stay JSON.
        if getattr(self, "action", None) == "receipt":
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    def answer(self, sale, code=status.HTTP_200_OK):
        return Response(SaleSerializer(self.get_queryset().get(pk=sale.pk)).data, status=code)

    @extend_schema(
        summary="Confirm a sale (stock leaves now; it waits for payment)",
        request=SaleCreateSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="Same key and body: the first sale again (200); "
                                                 "same key, other body: 409.")],
        responses={201: SaleSerializer, 200: SaleSerializer, 400: OpenApiResponse(description="Bad line"),
                   409: OpenApiResponse(description="Idempotency-Key reused with another body")},
    )
    def create(self, request):
        if isinstance(request.data, dict) and "client_uuid" in request.data:  # a sale made offline, replayed
            from pos.tills.api import create_offline_sale

            return create_offline_sale(self, request)
        key = idempotency_key(request)
        data = SaleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        lines = [services.LineRequest(line["quantity"], product=line.get("product"), barcode=line.get("barcode", ""),
                                      discount=line["discount"]) for line in values["items"]]
        sale, created = services.create_sale(
            cashier=request.user, items=lines, discount=values["discount"], customer_name=values["customer_name"],
            customer_phone=values["customer_phone"], note=values["note"], idempotency_key=key,
            receipt_prefix=receipt_prefix_for(request),
        )
        return self.answer(sale, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Cancel an unpaid sale (stock back)", request=SaleCancelSerializer, responses=SaleSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        sale = self.get_object()
        data = SaleCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sale = services.cancel_sale(sale, user=request.user, reason=data.validated_data["reason"])
        return self.answer(sale)

    @extend_schema(summary="Take cash for a sale (change computed)", request=PayCashSerializer,
                   responses=SaleSerializer,
                   parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                                description="A retry with the same key takes the cash once; "
                                                            "another body -> 409.")])
    @action(detail=True, methods=["post"])
    def pay_cash(self, request, pk=None):
        sale = self.get_object()  # first: another cashier's sale is a 404 whatever the body
        data = PayCashSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pay_cash(sale, amount_tendered=data.validated_data["amount_tendered"], user=request.user,
                 amount=data.validated_data["amount"], idempotency_key=idempotency_key(request))
        return self.answer(sale)

    @extend_schema(summary="Return goods of a paid sale (managers)", request=ReturnInputSerializer,
                   responses={201: SaleReturnSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def take_return(self, request, pk=None):
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sale_return = services.return_items(
            self.get_object(), [(line["item"], line["quantity"]) for line in data.validated_data["items"]],
            request.user, data.validated_data["reason"],
        )
        sale_return = SaleReturn.objects.prefetch_related("lines__sale_item").get(pk=sale_return.pk)
        sale_return.sale = self.get_queryset().get(pk=sale_return.sale_id)
        return Response(SaleReturnSerializer(sale_return).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Today's sales (cashiers: their own) with a summary",
        responses=TodaySerializer,
    )
    @action(detail=False)
    def today(self, request):
        start, end = today_bounds()
        queryset = self.filter_queryset(self.get_queryset()).filter(created_at__gte=start, created_at__lt=end)
        summary = queryset.aggregate(
            count=Count("id", filter=~Q(status=SaleStatus.CANCELLED)),
            total=Sum("total", filter=~Q(status=SaleStatus.CANCELLED), default=ZERO),
            paid=Sum("paid_amount", default=ZERO),
            cancelled=Count("id", filter=Q(status=SaleStatus.CANCELLED)),
        )
        page = self.paginate_queryset(queryset)
        answer = self.get_paginated_response(SaleSerializer(page, many=True).data).data
        return Response({"summary": TodaySummarySerializer(summary).data, **answer})

    @extend_schema(
        summary="Receipt: PDF, 80 mm text, ESC/POS bytes or printable HTML",
        parameters=[OpenApiParameter("format", str, enum=list(RECEIPT_FORMATS), default="pdf"),
                    OpenApiParameter("copy", str, enum=["0", "1"], default="0", description="1: a reprint (COPY)")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, (200, "text/plain"): OpenApiTypes.STR,
                   (200, "application/octet-stream"): OpenApiTypes.BINARY, (200, "text/html"): OpenApiTypes.STR},
    )
    @action(detail=True)
    def receipt(self, request, pk=None):
        fmt = request.query_params.get("format", "pdf")
        if fmt not in RECEIPT_FORMATS:
            raise serializers.ValidationError({"format": [f"Choose one of: {', '.join(RECEIPT_FORMATS)}."]})
        content_type, disposition, ext, render = RECEIPT_FORMATS[fmt]
        sale = self.get_object()
        response = HttpResponse(render(sale, copy=request.query_params.get("copy") == "1"), content_type=content_type)
        response["Content-Disposition"] = f'{disposition}; filename="{sale.receipt_number}.{ext}"'
        return response


@extend_schema_view(
    list=extend_schema(summary="Shifts (cashiers: their own)", responses=ShiftSerializer(many=True)),
    retrieve=extend_schema(summary="One shift", responses=ShiftSerializer),
)
class ShiftViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ShiftSerializer
    permission_classes = [ActionPermissions]
    required_perms = SHIFT_PERMS
    filterset_class = ShiftFilter
    ordering_fields = ["opened_at", "closed_at"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return own_rows(Shift.objects.select_related("cashier").prefetch_related("totals"), self.request.user)

    @extend_schema(summary="Open my shift with the cash float", request=OpenShiftSerializer,
                   responses={201: ShiftSerializer})
    @action(detail=False, methods=["post"])
    def open(self, request):
        data = OpenShiftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = services.open_shift(request.user, data.validated_data["opening_float"],
                                    note=data.validated_data["note"])
        return Response(ShiftSerializer(shift).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="My open shift (404 when none)", responses={200: ShiftSerializer, 404: None})
    @action(detail=False)
    def current(self, request):
        shift = services.get_open_shift(request.user)
        if shift is None:
            raise Http404("No open shift.")
        return Response(ShiftSerializer(shift).data)

    @extend_schema(summary="X report of an open shift (Z report once closed)", responses=ShiftReportSerializer)
    @action(detail=True)
    def report(self, request, pk=None):
        return Response(ShiftReportSerializer(services.shift_report(self.get_object())).data)

    @extend_schema(summary="Close a shift with the cash counted: answers the Z report",
                   request=CloseShiftSerializer, responses=ShiftReportSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        shift = self.get_object()  # first: another cashier's shift is a 404 whatever the body
        data = CloseShiftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        report = services.close_shift(shift, values["counted_cash"], request.user,
                                      counted=values["counted"], note=values["note"])
        return Response(ShiftReportSerializer(report).data)
