"""Payments and refunds API: thin serializers and views over pos.payments.services."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from pos.core.api import idempotency_key
from pos.core.permissions import ActionPermissions, own_rows
from pos.core.serializers import money_field
from pos.payments import services
from pos.payments.filters import PaymentFilter, RefundFilter
from pos.payments.models import Method, Payment, Refund
from pos.sales.models import Sale, SaleReturn

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                               description="A retry with the same key returns the first result; another body -> 409.")


def result_message_field():
    """A payment's `result_message` as its reader sees it (Payment.shown_result_message)."""
    return serializers.CharField(source="shown_result_message", read_only=True,
                                 help_text="The provider's answer, or the shop's own words in the reader's language.")


class PaymentSerializer(serializers.ModelSerializer):
    sale_receipt = serializers.CharField(source="sale.receipt_number", read_only=True)
    result_message = result_message_field()
    till_message = serializers.CharField(read_only=True, help_text="What the cashier is told about this state "
                                                                  "(e.g. waiting for M-Pesa to confirm).")
    in_flight = serializers.BooleanField(source="is_in_flight", read_only=True,
                                         help_text="Pending, processing or unconfirmed: may still bring money in.")

    class Meta:
        model = Payment
        fields = ["id", "sale", "sale_receipt", "method", "amount", "currency", "status", "phone_number",
                  "provider_reference", "receipt", "result_code", "result_message", "amount_tendered",
                  "change_given", "amount_received", "redirect_url", "attention", "attention_note",
                  "verify_attempts", "created_at", "completed_at", "till_message", "in_flight"]
        read_only_fields = fields


class InitiateSerializer(serializers.Serializer):
    sale = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Sale id.")
    method = serializers.ChoiceField(choices=Method.choices)
    amount = money_field(min_value=0)
    phone_number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    amount_tendered = money_field(min_value=0, required=False,
                                               allow_null=True, default=None,
                                               help_text="Cash: what the customer hands over (default: amount).")


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RefundSerializer(serializers.ModelSerializer):
    method = serializers.CharField(source="paid_by", read_only=True,
                                   help_text="How the money goes back: cash from a drawer, or the payment's method.")
    sale = serializers.IntegerField(source="payment.sale_id", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "payment", "sale", "method", "drawer_shift", "sale_return", "amount", "reason", "status",
                  "provider_reference", "provider_amount", "attention", "attention_note", "result_code",
                  "result_message", "requested_by", "approved_by",
                  "rejected_by", "decided_at", "created_at", "completed_at"]
        read_only_fields = fields


class RefundRequestSerializer(serializers.Serializer):
    payment = serializers.PrimaryKeyRelatedField(queryset=Payment.objects.all())
    amount = money_field(min_value=0)
    reason = serializers.CharField(max_length=200)
    sale_return = serializers.PrimaryKeyRelatedField(queryset=SaleReturn.objects.all(), required=False,
                                                     allow_null=True, default=None)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema_view(list=extend_schema(summary="Payments (cashiers: their own sales only)"),
                    retrieve=extend_schema(summary="One payment"))
class PaymentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PaymentSerializer
    permission_classes = [ActionPermissions]
    # Whoever takes payments may ask the provider about, or give up on, their own (others': accounts.all_cashiers).
    required_perms = {"read": "payments.view_payment", "initiate": "payments.add_payment",
                      "verify": "payments.add_payment", "cancel": "payments.add_payment"}
    filterset_class = PaymentFilter
    search_fields = ["provider_reference", "receipt", "phone_number", "sale__receipt_number"]
    ordering_fields = ["created_at", "amount", "status"]

    queryset = Payment.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return own_rows(Payment.objects.select_related("sale"), self.request.user, "sale__cashier")

    @extend_schema(summary="Start a payment (cash completes at once; mobile money and card wait for the customer)",
                   request=InitiateSerializer, responses={201: PaymentSerializer, 200: PaymentSerializer},
                   parameters=[IDEMPOTENCY])
    @action(detail=False, methods=["post"])
    def initiate(self, request):
        data = InitiateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        # Another cashier's sale is answered like a sale that does not exist: 404, never a 400 telling it is there.
        values["sale"] = own_rows(Sale.objects.all(), request.user).filter(pk=values["sale"]).first()
        if values["sale"] is None:
            raise NotFound("No sale with this id.")
        payment, created = services.initiate_payment(user=request.user, idempotency_key=idempotency_key(request),
                                                     **values)
        return Response(PaymentSerializer(payment).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Ask the provider for the payment's status (by the task worker; poll the payment)",
                   request=None, responses={200: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        payment = self.get_object()
        services.verify_later(payment)
        payment.refresh_from_db()
        return Response(PaymentSerializer(payment).data)

    @extend_schema(summary="Give up on a payment still in progress", request=CancelSerializer,
                   responses={200: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        payment = self.get_object()  # first: another cashier's payment is a 404 whatever the body
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.cancel_payment(payment, user=request.user, **data.validated_data)
        return Response(PaymentSerializer(payment).data)


@extend_schema_view(list=extend_schema(summary="Refunds"), retrieve=extend_schema(summary="One refund"))
class RefundViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RefundSerializer
    permission_classes = [ActionPermissions]
    required_perms = {"read": "payments.view_refund", "create": "payments.add_refund",
                      "approve": "payments.approve_refund", "reject": "payments.approve_refund"}
    filterset_class = RefundFilter
    ordering_fields = ["created_at", "amount", "status"]

    def get_queryset(self):
        return Refund.objects.select_related("payment")

    @extend_schema(summary="Refund (part of) a completed payment: above the approval threshold it waits for a "
                           "manager; cash is recorded at once; mobile money and card go to the provider",
                   request=RefundRequestSerializer, responses={201: RefundSerializer, 200: RefundSerializer},
                   parameters=[IDEMPOTENCY])
    def create(self, request, *args, **kwargs):
        data = RefundRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund, created = services.request_refund(user=request.user, idempotency_key=idempotency_key(request),
                                                  **data.validated_data)
        return Response(RefundSerializer(refund).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Approve a refund waiting for approval (manager/admin)", request=None,
                   responses={200: RefundSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return Response(RefundSerializer(services.approve_refund(self.get_object(), user=request.user)).data)

    @extend_schema(summary="Reject a refund waiting for approval (manager/admin)", request=RejectSerializer,
                   responses={200: RefundSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.reject_refund(self.get_object(), user=request.user, **data.validated_data)
        return Response(RefundSerializer(refund).data)

