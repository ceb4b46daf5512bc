"""C2B REST API (thin: every operation is a pos.c2b.services call).

Till panel (cashiers: own sales only, another cashier's sale is a 404):
    GET  /api/c2b/till/{sale_id}/          where to pay, money matched to the sale, money arriving (reads only)
    POST /api/c2b/till/{sale_id}/          the same after matching money that provably pays it (the till polls this)
    POST /api/c2b/till/{sale_id}/match/    {"code": "<SMS code>"} or {"receipt": <id picked from the list>}
Back office (managers; bookkeepers read):
    GET  /api/c2b/received/?state=unmatched          the register of received M-Pesa money
    GET  /api/c2b/received/shift-summary/?shift=<id> money received in a shift: matched / deposit / unmatched
    POST /api/c2b/received/{id}/match/ {"sale": id}  match unmatched money to a sale waiting for payment
    POST /api/c2b/received/{id}/deposit/ {"note"}    keep it as the customer's deposit / overpayment
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from pos.c2b import services
from pos.c2b.models import MatchRule, ReceiptState, ReceivedPayment
from pos.core.permissions import ActionPermissions, can, own_rows
from pos.core.serializers import money_field
from pos.sales.models import Sale, Shift


class TillPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        return can(request.user, "sales.use_checkout")


def _sale_for(request, pk):
    return get_object_or_404(own_rows(Sale.objects.all(), request.user), pk=pk)


TILL_ANSWER = inline_serializer("C2BTillView", {
    "sale": serializers.DictField(), "pay_to": serializers.DictField(),
    "matched": serializers.ListField(child=serializers.DictField()),
    "incoming": serializers.ListField(child=serializers.DictField()), "window_minutes": serializers.IntegerField(),
})


class MatchInput(serializers.Serializer):
    code = serializers.CharField(required=False, allow_blank=True, max_length=40,
                                 help_text="The M-Pesa code from the customer's SMS.")
    receipt = serializers.IntegerField(required=False, min_value=1, help_text="A receipt id picked from `incoming`.")

    def validate(self, attrs):
        if not attrs.get("code") and not attrs.get("receipt"):
            raise serializers.ValidationError({"code": ["Type the M-Pesa code or pick a payment."]})
        return attrs


class TillView(APIView):
    permission_classes = [TillPermission]

    @extend_schema(responses={200: TILL_ANSWER}, summary="The till's M-Pesa panel for a waiting sale (reads only)")
    def get(self, request, sale_id):
        return Response(services.till_view(_sale_for(request, sale_id)))

    @extend_schema(request=None, responses={200: TILL_ANSWER},
                   summary="Match M-Pesa money that provably pays the waiting sale, then the panel (poll it)")
    def post(self, request, sale_id):
        return Response(services.look_for_payment(_sale_for(request, sale_id)))


class TillMatchView(APIView):
    permission_classes = [TillPermission]

    @extend_schema(request=MatchInput, responses={200: TILL_ANSWER},
                   summary="Settle the sale (or part of it) with received M-Pesa money")
    def post(self, request, sale_id):
        sale = _sale_for(request, sale_id)
        data = MatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("code"):
            services.match_by_code(sale, data.validated_data["code"], user=request.user)
        else:
            receipt = get_object_or_404(ReceivedPayment, pk=data.validated_data["receipt"])
            services.match_receipt(receipt, sale, user=request.user, rule=MatchRule.PICKED)
        return Response(services.till_view(sale))


class ReceivedPaymentSerializer(serializers.ModelSerializer):
    payer = serializers.CharField(read_only=True)
    sale = serializers.CharField(source="payment.sale.receipt_number", default=None, read_only=True)

    class Meta:
        model = ReceivedPayment
        fields = ["id", "trans_id", "trans_type", "trans_time", "amount", "shortcode", "bill_ref", "payer", "msisdn",
                  "source", "state", "payment", "sale", "match_rule", "matched_at", "shift", "note", "flagged",
                  "flag_reason", "seen_at_safaricom", "received_at"]
        read_only_fields = fields


class MatchToSaleInput(serializers.Serializer):
    sale = serializers.IntegerField(min_value=1, help_text="Id of a sale waiting for payment.")


class DepositInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, help_text="Whose deposit it is (name, phone, what for).")


class ReceivedPaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReceivedPaymentSerializer
    permission_classes = [ActionPermissions]
    required_perms = {"read": "c2b.view_receivedpayment", "match": "c2b.match_receivedpayment",
                      "deposit": "c2b.match_receivedpayment"}
    queryset = ReceivedPayment.objects.select_related("payment__sale")
    filterset_fields = ["state", "source", "flagged", "shift"]
    search_fields = ["trans_id", "bill_ref", "first_name", "last_name"]
    ordering_fields = ["received_at", "amount"]

    @extend_schema(parameters=[OpenApiParameter("shift", int, required=True)],
                   responses={200: inline_serializer("C2BShiftSummary", {
                       state: inline_serializer(f"C2BShiftSummary{state.title()}", {
                           "count": serializers.IntegerField(),
                           "total": money_field()})
                       for state in ReceiptState.values})},
                   summary="M-Pesa money received during a shift: matched, deposits, still unmatched")
    @action(detail=False, methods=["get"], url_path="shift-summary")
    def shift_summary(self, request):
        shift_id = serializers.IntegerField(min_value=1).run_validation(request.query_params.get("shift"))
        summary = services.shift_summary(get_object_or_404(Shift, pk=shift_id))
        return Response({state: {"count": row["count"], "total": f"{row['total']:.2f}"}
                         for state, row in summary.items()})

    @extend_schema(request=MatchToSaleInput, responses={200: ReceivedPaymentSerializer})
    @action(detail=True, methods=["post"])
    def match(self, request, pk=None):
        data = MatchToSaleInput(data=request.data)
        data.is_valid(raise_exception=True)
        sale = get_object_or_404(Sale, pk=data.validated_data["sale"])
        services.match_receipt(self.get_object(), sale, user=request.user, rule=MatchRule.MANAGER)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=DepositInput, responses={200: ReceivedPaymentSerializer})
    @action(detail=True, methods=["post"])
    def deposit(self, request, pk=None):
        data = DepositInput(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = services.record_deposit(self.get_object(), user=request.user, note=data.validated_data["note"])
        return Response(self.get_serializer(receipt).data)
