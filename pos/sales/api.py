"""Sales and shifts API (thin: every operation is a call to pos.sales.services or pos.payments.services).

Cashiers see only their own sales and shifts (another cashier's is a 404); managers and admins see all;
bookkeepers read only. Money is answered as decimal strings.
"""

from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from pos.accounts.services import authorise_pin
from pos.catalog.lookup import CachedTokenAuthentication
from pos.core.api import idempotency_key
from pos.core.errors import ConflictError, ServiceError
from pos.core.money import ZERO
from pos.core.permissions import ActionPermissions, can, own_rows
from pos.core.serializers import money_field, quantity_field
from pos.payments.api import result_message_field
from pos.payments.models import Method, Payment, Refund
from pos.payments.services import pay_cash
from pos.sales import receipts, services, shift_print
from pos.sales.filters import SaleFilter, ShiftFilter, today_bounds
from pos.sales.models import (
    Authorisation,
    CashMovement,
    CashMovementKind,
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


IN_FLIGHT = ("pending", "processing")


class SalePaymentSerializer(serializers.ModelSerializer):
    method_display = serializers.CharField(source="get_method_display", read_only=True)
    result_message = result_message_field()
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    in_flight = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = ["id", "method", "method_display", "status", "status_display", "in_flight", "amount",
                  "amount_tendered", "change_given", "receipt", "phone_number", "result_code", "result_message",
                  "redirect_url", "created_at", "completed_at"]
        read_only_fields = fields

    def get_in_flight(self, payment) -> bool:
        return payment.status in IN_FLIGHT


class AuthorisationSerializer(serializers.ModelSerializer):
    authorised_by_name = serializers.CharField(source="authorised_by.username", read_only=True)

    class Meta:
        model = Authorisation
        fields = ["id", "action", "authorised_by", "authorised_by_name", "requested_by", "detail", "created_at",
                  "sale_return"]
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    """A sale. `last_change` / `last_tendered`: the change and cash of the LAST cash tender (what to hand
    over now: earlier tenders' change was given when they were taken); `change_due`: all change of the
    sale (the books). With `receipt` in the serializer's context a paid sale carries its 80 mm text."""

    items = SaleItemSerializer(many=True, read_only=True)
    payments = SalePaymentSerializer(many=True, read_only=True)
    authorisations = serializers.SerializerMethodField()
    balance_due = money_field(read_only=True)
    cashier_name = serializers.CharField(source="cashier.username", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    last_change = serializers.SerializerMethodField()
    last_tendered = serializers.SerializerMethodField()
    receipt_text = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()
    receipt_pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Sale
        fields = ["id", "receipt_number", "status", "status_display", "items", "subtotal", "discount",
                  "order_discount", "tax", "rounding", "total", "paid_amount", "balance_due", "change_due",
                  "last_change", "last_tendered", "returned_amount", "currency", "cashier", "cashier_name",
                  "shift", "customer_name", "customer_phone", "payments", "authorisations", "created_at",
                  "confirmed_at", "paid_at", "cancelled_at", "cancel_reason", "receipt_text", "receipt_url",
                  "receipt_pdf_url"]
        read_only_fields = fields

    def _last_cash(self, sale):
        cash = [p for p in sale.payments.all() if p.method == "cash" and p.status == "completed"]
        return max(cash, key=lambda p: (p.completed_at or p.created_at, p.pk), default=None)

    def get_authorisations(self, sale) -> list[dict]:
        if not self.context.get("receipt"):
            return []
        just_written = "authorisations" in getattr(sale, "_prefetched_objects_cache", {})  # services.remember
        rows = sale.authorisations.all() if just_written else sale.authorisations.select_related("authorised_by")
        return AuthorisationSerializer(rows, many=True).data

    def get_last_change(self, sale) -> str:
        last = self._last_cash(sale)
        return str(last.change_given if last else ZERO)

    def get_last_tendered(self, sale) -> str | None:
        last = self._last_cash(sale)
        return str(last.amount_tendered or last.amount) if last else None

    def get_receipt_text(self, sale) -> str | None:
        if not self.context.get("receipt") or sale.status == SaleStatus.PENDING_PAYMENT:
            return None
        return receipts.receipt_text(sale)

    def get_receipt_url(self, sale) -> str:
        return reverse("sale-receipt", args=[sale.pk]) + "?format=html"

    def get_receipt_pdf_url(self, sale) -> str:
        return reverse("sale-receipt", args=[sale.pk]) + "?format=pdf"


@extend_schema_field(OpenApiTypes.DECIMAL)
class QuantityInput(serializers.Field):
    """A quantity: a number, or text with a decimal POINT. "1,5" is refused (15 or 1.5?): the rule the
    page shares (pos.sales.services.parse_quantity)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            raise serializers.ValidationError(gettext("Enter a quantity."))
        if isinstance(data, float):
            data = repr(data)
        try:
            return services.parse_quantity(data)
        except ServiceError as error:
            raise serializers.ValidationError(error.message, code=error.code) from None

    def to_representation(self, value):
        return str(value)


class LineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                       help_text="Product id (or give `barcode`).")
    barcode = serializers.CharField(required=False, max_length=64)
    quantity = QuantityInput(help_text="Decimal point, never a comma: \"1.5\" (\"1,5\" is refused).")
    discount = money_field(required=False, default=ZERO, help_text="Discount on this line (money).")
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                required=False, allow_null=True, default=None,
                                                help_text="Discount on this line in percent (wins over `discount`).")

    def validate(self, attrs):
        if not attrs.get("product") and not attrs.get("barcode"):
            raise serializers.ValidationError({"product": [gettext("Give a product id or a barcode.")]})
        return attrs


class TenderSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=Method.choices)
    amount = money_field(required=False, allow_null=True, default=None, min_value=ZERO,
                         help_text="Part of the sale paid this way; default: all that is left.")
    amount_tendered = money_field(required=False, allow_null=True, default=None, min_value=ZERO,
                                  help_text="Cash handed over (the change is computed).")
    phone_number = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")


class ManagerPinSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    pin = serializers.CharField(max_length=8, trim_whitespace=True)


class CartSerializer(serializers.Serializer):
    items = LineInputSerializer(many=True, allow_empty=True, max_length=300)
    discount = money_field(required=False, default=ZERO, help_text="Discount on the whole sale (money).")
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                required=False, allow_null=True, default=None,
                                                help_text="Order discount in percent of what is left after the "
                                                          "line discounts (wins over `discount`).")
    manager = ManagerPinSerializer(required=False, allow_null=True, default=None,
                                   help_text="A manager's username and PIN typed at this till: lifts the "
                                             "cashier's discount cap (recorded on the sale).")


class SaleCreateSerializer(CartSerializer):
    items = LineInputSerializer(many=True, allow_empty=False, max_length=300)
    customer_phone = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    customer_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    payments = TenderSerializer(many=True, required=False, default=list,
                                help_text="Tenders to take in the same request (one-request checkout).")


class PricedLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.pk")
    name = serializers.CharField(source="product.name")
    barcode = serializers.CharField(source="product.barcode", allow_null=True)
    unit = serializers.CharField(source="product.unit")
    quantity = quantity_field(normalize_output=True)
    unit_price = money_field()
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    gross = money_field()
    discount = money_field()
    order_discount = money_field()
    tax = money_field()
    total = money_field()


class PricedCartSerializer(serializers.Serializer):
    lines = PricedLineSerializer(many=True)
    subtotal = money_field()
    discount = money_field()
    tax = money_field()
    rounding = money_field(help_text="The cash rounding line (CASH_ROUNDING_STEP).")
    total = money_field()


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
    refund = serializers.ChoiceField(choices=services.REFUND_CHOICES, required=False, default="owe",
                                     help_text="Pay the refund now (cash from the drawer, mpesa/airtel reversal, "
                                               "card refund) or leave it owed.")
    manager = ManagerPinSerializer(required=False, allow_null=True, default=None,
                                   help_text="A manager's PIN typed at a cashier's till.")


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    refund = serializers.ChoiceField(choices=[c for c in services.REFUND_CHOICES if c != "owe"], required=False,
                                     allow_null=True, default=None)
    manager = ManagerPinSerializer(required=False, allow_null=True, default=None)


class RefundNowSerializer(serializers.Serializer):
    refund = serializers.ChoiceField(choices=services.REFUND_CHOICES)
    manager = ManagerPinSerializer(required=False, allow_null=True, default=None)


class SaleReturnLineSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="sale_item.name", read_only=True)

    class Meta:
        model = SaleReturnLine
        fields = ["id", "sale_item", "name", "quantity", "amount", "tax"]
        read_only_fields = fields


class ReturnRefundSerializer(serializers.ModelSerializer):
    method = serializers.CharField(source="paid_by", read_only=True,
                                   help_text="cash (from a till's drawer, whatever the sale was paid by) or the "
                                             "payment's own method")
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "method", "amount", "status", "status_display", "result_message", "created_at",
                  "completed_at"]
        read_only_fields = fields


class SaleReturnSerializer(serializers.ModelSerializer):
    lines = SaleReturnLineSerializer(many=True, read_only=True)
    sale = SaleSerializer(read_only=True)
    refunds = ReturnRefundSerializer(many=True, read_only=True)
    owed = serializers.SerializerMethodField()

    class Meta:
        model = SaleReturn
        fields = ["id", "amount", "rounding", "tax", "reason", "created_by", "shift", "created_at", "lines", "sale",
                  "refunds", "owed"]
        read_only_fields = fields

    def get_owed(self, sale_return) -> str:
        return str(services.owed_on(sale_return))


class RefundOwedSerializer(serializers.ModelSerializer):
    receipt_number = serializers.CharField(source="sale.receipt_number", read_only=True)
    owed = money_field(read_only=True)
    refunded = money_field(read_only=True)
    created_by_name = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = SaleReturn
        fields = ["id", "sale", "receipt_number", "amount", "refunded", "owed", "reason", "created_by",
                  "created_by_name", "shift", "created_at"]
        read_only_fields = fields


class WaitingRefundSerializer(serializers.ModelSerializer):
    """A refund waiting for a manager's approval, as the till lists it."""

    method = serializers.CharField(source="paid_by", read_only=True)
    receipt_number = serializers.CharField(source="payment.sale.receipt_number", read_only=True)
    requested_by_name = serializers.CharField(source="requested_by.username", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "sale_return", "receipt_number", "method", "amount", "reason", "requested_by",
                  "requested_by_name", "created_at"]
        read_only_fields = fields


class ApproveSerializer(serializers.Serializer):
    manager = ManagerPinSerializer(required=False, allow_null=True, default=None,
                                   help_text="A manager's PIN typed at a cashier's till.")


class CashMovementSerializer(serializers.ModelSerializer):
    created_by_name = serializers.CharField(source="created_by.username", read_only=True)
    authorised_by_name = serializers.CharField(source="authorised_by.username", read_only=True, default=None)

    class Meta:
        model = CashMovement
        fields = ["id", "shift", "kind", "amount", "reason", "created_by", "created_by_name", "authorised_by",
                  "authorised_by_name", "created_at"]
        read_only_fields = fields


class CashMovementInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CashMovementKind.choices, help_text="in (paid in) or out (paid out).")
    amount = money_field(help_text="Greater than zero.")
    reason = serializers.CharField(max_length=200)
    shift = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                     help_text="Default: my open shift.")
    manager = ManagerPinSerializer(required=False, allow_null=True, default=None,
                                   help_text="A manager's PIN: a cash out above the limit needs one.")


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
    cash_in = money_field(help_text="Cash put into the drawer (paid in); cash only.")
    cash_out = money_field(help_text="Cash taken out of the drawer (paid out); cash only.")
    expected = money_field()
    counted = money_field(allow_null=True)
    difference = money_field(allow_null=True)


class VatTotalSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    net = money_field(help_text="Sales net of VAT at this rate (before returns).")
    tax = money_field(help_text="VAT on sales.")
    total = money_field(help_text="Sales at this rate, VAT incl.")
    returned_total = money_field(help_text="Returns taken in the shift at this rate, VAT incl.")
    returned_tax = money_field(help_text="VAT on returns.")
    net_total = money_field()
    net_tax = money_field(help_text="VAT on sales - VAT on returns: the VAT to file.")


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
    returns_tax = money_field(help_text="VAT on returns taken in the shift.")
    net_tax = money_field(help_text="VAT on sales - VAT on returns.")
    rounding_total = money_field(help_text="Sum of the sales' cash rounding lines.")
    cash_sales = money_field()
    cash_refunds = money_field(help_text="Cash paid out of the drawer for refunds in this shift.")
    change_total = money_field(help_text="All change handed out.")
    cash_in = money_field(help_text="Cash put into the drawer (paid in).")
    cash_out = money_field(help_text="Cash taken out of the drawer (paid out).")
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
# handles only their own sales and shifts: another cashier's is a 404. A return, a void of a paid sale
# and a refund at a cashier's till need `sales.return_sale` of the user OR of the manager whose PIN was
# typed (the services check it): the endpoint itself needs only the right to sell.
SALE_PERMS = {"read": "sales.view_sale", "create": "sales.add_sale", "cancel": "sales.add_sale",
              "price": "sales.add_sale", "pay": ("sales.view_sale", "payments.add_payment"),
              "pay_cash": ("sales.view_sale", "payments.add_payment"), "take_return": "sales.add_sale",
              "void": "sales.add_sale"}
SHIFT_PERMS = {"read": "sales.view_shift", "open": "sales.add_shift", "close": "sales.add_shift"}
RETURN_PERMS = {"read": "sales.view_sale", "owed": "sales.view_sale", "refund": "sales.add_sale",
                "waiting": "sales.view_sale", "approve": "sales.add_sale"}
CASH_PERMS = {"read": "sales.view_cashmovement", "create": "sales.add_cashmovement"}


def manager_from(request, data, action) -> object:
    """The manager whose PIN was typed at this till (`manager`: {username, pin}), or None."""
    wanted = data.get("manager")
    if not wanted:
        return None
    return authorise_pin(username=wanted["username"], pin=wanted["pin"], requested_by=request.user, action=action)


def refund_now(request, sale_return, how, manager):
    """Pay a return's refund now; a refusal (e.g. no payment of that method) leaves it owed and is told."""
    approver = manager or (request.user if can(request.user, "sales.return_sale") else None)
    try:
        services.refund_return(sale_return, how, user=request.user, authorised_by=approver,
                               idempotency_key=f"return-{sale_return.pk}-{how}")
    except ServiceError as error:
        return error.as_dict()
    return None


def line_requests(items):
    return [services.LineRequest(line["quantity"], product=line.get("product"), barcode=line.get("barcode", ""),
                                 discount=line["discount"], discount_percent=line.get("discount_percent"))
            for line in items]


def tenders(values):
    return [services.Tender(method=t["method"], amount=t["amount"], amount_tendered=t["amount_tendered"],
                            phone_number=t["phone_number"]) for t in values]


def scoped(queryset, user, field="cashier"):
    """Without accounts.all_cashiers, a user's own rows only."""
    return own_rows(queryset, user, field=field)


# --- Views ---------------------------------------------------------------------------------------------

REPORT_FORMATS = {
    "text": ("text/plain; charset=utf-8", "txt", shift_print.report_text),
    "html": ("text/html; charset=utf-8", "html", shift_print.report_html),
    "pdf": ("application/pdf", "pdf", shift_print.report_pdf),
}

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
    # The till's token and its user (with their permissions) from memory while unchanged (pos.catalog.lookup)
    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    permission_classes = [ActionPermissions]
    required_perms = SALE_PERMS
    filterset_class = SaleFilter
    search_fields = ["receipt_number", "customer_phone", "customer_name"]
    ordering_fields = ["created_at", "total", "receipt_number"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = Sale.objects.select_related("cashier").prefetch_related(
            "items", Prefetch("payments", Payment.objects.order_by("created_at", "id")))
        return scoped(queryset, self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # `?format=` picks the receipt's format, not the API renderer: errors stay JSON.
        if getattr(self, "action", None) == "receipt":
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    def answer(self, sale, code=status.HTTP_200_OK, loaded=False, **extra):
        """The sale as the API shows it; `loaded`: the sale this request has just written, with its lines,
        payments and cashier in memory (services.create_cash_sale), answered without reading it again."""
        data = SaleSerializer(sale if loaded else self.get_queryset().get(pk=sale.pk), context=self.detail_context()).data
        return Response({**data, **extra}, status=code)

    def detail_context(self):
        """`?receipt=1` (the till): the paid sale's 80 mm receipt text and its authorisations too."""
        return {"receipt": self.request.query_params.get("receipt") in ("1", "true")}

    def retrieve(self, request, *args, **kwargs):
        return Response(SaleSerializer(self.get_object(), context=self.detail_context()).data)

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
        manager = manager_from(request, values, "discount")
        try:
            sale, created, results = services.checkout(
                cashier=request.user, items=line_requests(values["items"]), tenders=tenders(values["payments"]),
                discount=values["discount"], discount_percent=values["discount_percent"], authorised_by=manager,
                customer_name=values["customer_name"], customer_phone=values["customer_phone"], note=values["note"],
                idempotency_key=key, receipt_prefix=receipt_prefix_for(request),
            )
        except ConflictError as conflict:
            sale = getattr(conflict, "existing", None)
            body = conflict.as_dict()
            if isinstance(sale, Sale):  # what the key already made: the till offers to resume it or void it
                body["sale"] = SaleSerializer(self.get_queryset().get(pk=sale.pk)).data
            return Response(body, status=conflict.status_code)
        loaded = created and {"items", "payments"} <= set(getattr(sale, "_prefetched_objects_cache", {}))
        return self.answer(sale, status.HTTP_201_CREATED if created else status.HTTP_200_OK, loaded=loaded,
                           tenders=[{"payment": r.payment.pk if r.payment else None,
                                     "error": r.error.as_dict() if r.error else None} for r in results])

    @extend_schema(summary="Price a cart as the sale would be (nothing is written)", request=CartSerializer,
                   responses=PricedCartSerializer)
    @action(detail=False, methods=["post"])
    def price(self, request):
        data = CartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not values["items"]:
            return Response({"lines": [], "subtotal": "0.00", "discount": "0.00", "tax": "0.00", "rounding": "0.00",
                             "total": "0.00"})
        manager = manager_from(request, values, "discount")
        cart = services.price_cart(line_requests(values["items"]), values["discount"], request.user,
                                   order_discount_percent=values["discount_percent"], authorised_by=manager)
        return Response(PricedCartSerializer(cart).data)

    @extend_schema(summary="Take one more tender on a sale waiting for payment (answers the sale and `payment`)",
                   request=TenderSerializer, responses=SaleSerializer,
                   parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)])
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        sale = self.get_object()  # another cashier's sale is a 404 before anything else
        data = TenderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment, created = services.take_payment(sale, tenders([data.validated_data])[0], user=request.user,
                                                 idempotency_key=idempotency_key(request))
        return self.answer(sale, status.HTTP_201_CREATED if created else status.HTTP_200_OK, payment=payment.pk)

    @extend_schema(summary="Void a PAID sale: everything back and refunded (a manager, or a manager's PIN)",
                   request=VoidSerializer, responses={201: SaleReturnSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        data = VoidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        manager = manager_from(request, values, "void") or (request.user if can(request.user, "sales.return_sale")
                                                             else None)
        sale_return = services.void_paid_sale(self.get_object(), user=request.user, authorised_by=manager,
                                              refund_by=values["refund"], reason=values["reason"])
        return self.return_answer(sale_return)

    def return_answer(self, sale_return, refund_error=None):
        sale_return = SaleReturn.objects.prefetch_related("lines__sale_item", "refunds__payment").get(pk=sale_return.pk)
        sale_return.sale = self.get_queryset().get(pk=sale_return.sale_id)
        return Response({**SaleReturnSerializer(sale_return).data, "refund_error": refund_error},
                        status=status.HTTP_201_CREATED)

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

    @extend_schema(summary="Return goods of a paid sale (managers, or a cashier with a manager's PIN) and pay "
                           "the refund now (`refund`) or leave it owed", request=ReturnInputSerializer,
                   responses={201: SaleReturnSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def take_return(self, request, pk=None):
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        manager = manager_from(request, values, "return")
        sale_return = services.return_items(
            self.get_object(), [(line["item"], line["quantity"]) for line in values["items"]],
            request.user, values["reason"], authorised_by=manager,
        )
        return self.return_answer(sale_return, refund_now(request, sale_return, values["refund"], manager))

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
            raise serializers.ValidationError({"format": [gettext("Choose one of: %(formats)s.")
                                                          % {"formats": ", ".join(RECEIPT_FORMATS)}]})
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
            raise Http404(gettext("No open shift."))
        return Response(ShiftSerializer(shift).data)

    def perform_content_negotiation(self, request, force=False):
        # `?format=` picks the printed report's format, not the API renderer: errors stay JSON.
        if getattr(self, "action", None) == "report":
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(summary="X report of an open shift (Z report once closed): JSON, or printed "
                           "(?format=text|html for 80 mm, pdf)",
                   parameters=[OpenApiParameter("format", str, enum=["json", *REPORT_FORMATS], default="json")],
                   responses=ShiftReportSerializer)
    @action(detail=True)
    def report(self, request, pk=None):
        report = services.shift_report(self.get_object())
        fmt = request.query_params.get("format", "json")
        if fmt == "json":
            return Response(ShiftReportSerializer(report).data)
        if fmt not in REPORT_FORMATS:
            raise serializers.ValidationError({"format": [gettext("Choose one of: %(formats)s.")
                                                          % {"formats": ", ".join(["json", *REPORT_FORMATS])}]})
        content_type, ext, render = REPORT_FORMATS[fmt]
        response = HttpResponse(render(report), content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="{report.kind}-report-shift-{report.shift.pk}.{ext}"'
        return response

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


@extend_schema_view(
    list=extend_schema(summary="Returns (cashiers: of their own sales)", responses=SaleReturnSerializer(many=True)),
    retrieve=extend_schema(summary="One return", responses=SaleReturnSerializer),
)
class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SaleReturnSerializer
    permission_classes = [ActionPermissions]
    required_perms = RETURN_PERMS
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        returns = SaleReturn.objects.select_related("sale__cashier").prefetch_related(
            "lines__sale_item", "refunds__payment", "sale__items", "sale__payments", "sale__authorisations")
        return scoped(returns, self.request.user, field="sale__cashier")

    @extend_schema(summary="Refunds owed: returns with money still to pay back (oldest first)",
                   responses=RefundOwedSerializer(many=True))
    @action(detail=False)
    def owed(self, request):
        rows = services.refunds_owed(scoped(SaleReturn.objects.all(), request.user, field="sale__cashier"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RefundOwedSerializer(page, many=True).data)

    @extend_schema(summary="Pay what a return owes now: cash from the drawer, M-Pesa/Airtel reversal or card refund "
                           "(a cashier needs a manager's PIN)", request=RefundNowSerializer,
                   responses={200: SaleReturnSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        data = RefundNowSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        manager = manager_from(request, values, "refund")
        sale_return = self.get_object()
        services.refund_return(sale_return, values["refund"], user=request.user,
                               authorised_by=manager or request.user, idempotency_key=idempotency_key(request))
        return Response(SaleReturnSerializer(self.get_queryset().get(pk=sale_return.pk)).data)

    @extend_schema(summary="Refunds waiting for a manager's approval (cashiers: of their own sales)",
                   responses=WaitingRefundSerializer(many=True))
    @action(detail=False)
    def waiting(self, request):
        rows = services.refunds_waiting(scoped(Refund.objects.all(), request.user, field="payment__sale__cashier"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WaitingRefundSerializer(page, many=True).data)

    @extend_schema(summary="Approve the refunds of a return waiting for approval, at the till (a manager, or a "
                           "manager's PIN): cash is paid out of this till's drawer", request=ApproveSerializer,
                   responses={200: SaleReturnSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sale_return = self.get_object()
        manager = manager_from(request, data.validated_data, "refund") or request.user
        services.approve_return_refunds(sale_return, user=manager, till_user=request.user)
        return Response(SaleReturnSerializer(self.get_queryset().get(pk=sale_return.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="Cash in / cash out of the drawers (cashiers: their own shifts)",
                       responses=CashMovementSerializer(many=True)),
    retrieve=extend_schema(summary="One cash in / cash out", responses=CashMovementSerializer),
)
class CashMovementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CashMovementSerializer
    permission_classes = [ActionPermissions]
    required_perms = CASH_PERMS
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        rows = CashMovement.objects.select_related("created_by", "authorised_by")
        return scoped(rows, self.request.user, field="shift__cashier")

    @extend_schema(summary="Record cash put into or taken out of my drawer (a reason is required; a cash out above "
                           "the limit needs a manager's PIN)", request=CashMovementInputSerializer,
                   responses={201: CashMovementSerializer})
    def create(self, request):
        data = CashMovementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["shift"]:
            shift = own_rows(Shift.objects.all(), request.user).filter(pk=values["shift"]).first()
            if shift is None:
                raise Http404(gettext("No such shift."))
        else:
            shift = services.get_open_shift(request.user)
            if shift is None:
                raise ServiceError(gettext("Open a shift first: cash in and out is counted in a shift."), field="shift",
                                   code="no_open_shift")
        manager = manager_from(request, values, "cash_out")
        movement = services.record_cash_movement(shift, values["kind"], values["amount"], values["reason"],
                                                 user=request.user, authorised_by=manager)
        return Response(CashMovementSerializer(movement).data, status=status.HTTP_201_CREATED)
