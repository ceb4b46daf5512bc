"""Inventory API: thin serializers and viewsets; every write goes through pos.inventory.services.

Managers and admins write, bookkeepers read, cashiers get 403. Nothing here is ever edited or deleted
(no PUT/PATCH/DELETE: 405): movements are an append-only ledger, and counts and goods-received notes
change state only through their actions.
"""

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pos.catalog.models import Category, Product
from pos.core.errors import InsufficientStock, ServiceError
from pos.core.money import to_money
from pos.core.permissions import ActionPermissions
from pos.core.serializers import money_field, quantity_field
from pos.inventory import services
from pos.inventory.filters import AlertFilter, CountFilter, MovementFilter, ReceiptFilter
from pos.inventory.models import (
    AlertStatus,
    GoodsReceipt,
    StockAlert,
    StockCount,
    StockMovement,
    Supplier,
)

BAD_REQUEST = OpenApiResponse(description="Invalid input: field name -> list of messages. Nothing was written.")
FORBIDDEN = OpenApiResponse(description="Only managers and admins change stock; bookkeepers read; cashiers none.")
WRITE_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN}


def _product_field(**kwargs):
    return serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), error_messages={"does_not_exist": "No product with id {pk_value}."}, **kwargs
    )


class InventoryViewSet(viewsets.GenericViewSet):
    permission_classes = [ActionPermissions]  # each viewset's model permissions
    lookup_value_regex = r"\d+"


# --- Movements ------------------------------------------------------------------------------------


class MovementSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    user = serializers.CharField(source="user.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = StockMovement
        fields = ["id", "product", "product_name", "product_sku", "quantity", "kind", "reference", "unit_cost",
                  "balance_after", "user", "note", "created_at"]


MANUAL_KIND_CHOICES = [(k.value, k.label) for k in services.MANUAL_KINDS]


class MovementCreateSerializer(serializers.Serializer):
    product = _product_field()
    quantity = quantity_field(help_text="Signed: negative removes stock. Not zero.")
    kind = serializers.ChoiceField(choices=MANUAL_KIND_CHOICES,
                                   help_text="Sales, returns and counts come from their own operations.")
    reason = serializers.CharField(max_length=500, help_text="Why the stock changed (required).")
    unit_cost = money_field(min_value=0, required=False, allow_null=True,
                                         help_text="Purchases only: updates the weighted average cost.")


@extend_schema_view(
    list=extend_schema(summary="Stock movements (the ledger), newest first"),
    retrieve=extend_schema(summary="One stock movement"),
    create=extend_schema(summary="Post a manual stock change (manager, admin)", request=MovementCreateSerializer,
                         responses={201: MovementSerializer, **WRITE_ERRORS}),
)
class MovementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, InventoryViewSet):
    queryset = StockMovement.objects.select_related("product", "user")
    serializer_class = MovementSerializer
    filterset_class = MovementFilter
    search_fields = ["product__name", "product__sku", "product__barcode", "reference"]
    ordering_fields = ["created_at", "id", "quantity"]
    ordering = ["-created_at", "-id"]

    def create(self, request, *args, **kwargs):
        data = _valid(MovementCreateSerializer, request.data)
        try:
            movement = services.record_manual_movement(
                data["product"], data["quantity"], kind=data["kind"], user=request.user, reason=data["reason"],
                unit_cost=data.get("unit_cost"),
            )
        except InsufficientStock as exc:
            raise ServiceError(exc.message, field="quantity", code=exc.code) from exc
        return Response(MovementSerializer(movement).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Alerts ---------------------------------------------------------------------------------------


class AlertSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    stock_quantity = quantity_field(source="product.stock_quantity", read_only=True)
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = StockAlert
        fields = ["id", "product", "product_name", "product_sku", "status", "quantity", "reorder_level",
                  "stock_quantity", "created_at", "resolved_at", "resolved_by", "notified_at"]


@extend_schema_view(
    list=extend_schema(summary="Low-stock alerts, newest first"),
    retrieve=extend_schema(summary="One low-stock alert"),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, InventoryViewSet):
    queryset = StockAlert.objects.select_related("product", "resolved_by")
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    search_fields = ["product__name", "product__sku", "product__barcode"]
    ordering = ["-created_at", "-id"]

    @extend_schema(summary="Active alerts only", responses=AlertSerializer(many=True))
    @action(detail=False, methods=["get"])
    def active(self, request):
        queryset = self.filter_queryset(self.get_queryset().filter(status=AlertStatus.ACTIVE))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Resolve an alert (manager, admin)", request=None,
        description="A product still at or below its reorder level gets status `dismissed`: no new alert for it "
                    "until its stock has been above the level again.",
        responses={200: AlertSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        alert = services.resolve_alert(self.get_object(), user=request.user)
        return Response(self.get_serializer(alert).data)


# --- Stock counts ---------------------------------------------------------------------------------


class CountLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(source="product_id")
    product_name = serializers.CharField(source="product.name")
    product_sku = serializers.CharField(source="product.sku")
    barcode = serializers.CharField(source="product.barcode", allow_null=True)
    expected_quantity = quantity_field()
    counted_quantity = quantity_field(allow_null=True)
    variance = quantity_field(allow_null=True, help_text="Counted minus expected.")
    unit_cost = money_field(help_text="Cost price when the count started.")
    variance_value = money_field(allow_null=True, help_text="Variance at cost.")


class CountSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True, default=None, allow_null=True)
    started_by = serializers.CharField(source="started_by.username", read_only=True)
    lines_total = serializers.IntegerField(read_only=True)
    counted_lines = serializers.IntegerField(read_only=True)
    variance_value = money_field(read_only=True,
                                              help_text="Sum of the counted lines' variance at cost.")

    class Meta:
        model = StockCount
        fields = ["id", "reference", "status", "category", "category_name", "note", "started_by", "started_at",
                  "completed_at", "cancelled_at", "lines_total", "counted_lines", "variance_value"]


class CountDetailSerializer(CountSerializer):
    lines = CountLineSerializer(many=True, read_only=True)

    class Meta(CountSerializer.Meta):
        fields = [*CountSerializer.Meta.fields, "lines"]


class CountCreateSerializer(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True,
        error_messages={"does_not_exist": "No category with id {pk_value}."},
        help_text="Count one category (and its sub-categories); empty: every active product.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CountEntrySerializer(serializers.Serializer):
    product = serializers.IntegerField(required=False, help_text="Product id (or give barcode).")
    barcode = serializers.CharField(required=False, allow_blank=True, default="")
    counted = quantity_field(min_value=0)

    def validate(self, attrs):
        if not attrs.get("product") and not attrs.get("barcode"):
            raise serializers.ValidationError("Give the product id or its barcode.")
        return attrs


class CountEntriesSerializer(serializers.Serializer):
    lines = CountEntrySerializer(many=True, allow_empty=False)


@extend_schema_view(
    list=extend_schema(summary="Stock counts, newest first"),
    retrieve=extend_schema(summary="One stock count with its lines, variances and their value at cost",
                           responses=CountDetailSerializer),
    create=extend_schema(summary="Start a count: snapshot expected quantities (manager, admin)",
                         request=CountCreateSerializer, responses={201: CountDetailSerializer, **WRITE_ERRORS}),
)
class CountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, InventoryViewSet):
    queryset = StockCount.objects.with_totals().select_related("category", "started_by")
    serializer_class = CountSerializer
    filterset_class = CountFilter
    ordering = ["-started_at", "-id"]

    def get_serializer_class(self):
        return CountSerializer if self.action == "list" else CountDetailSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset if self.action == "list" else queryset.prefetch_related("lines__product")

    def _detail(self, count, code=status.HTTP_200_OK):
        count = self.get_queryset().get(pk=count.pk)
        return Response(CountDetailSerializer(count).data, status=code)

    def create(self, request, *args, **kwargs):
        data = _valid(CountCreateSerializer, request.data)
        count = services.start_count(user=request.user, category=data.get("category"), note=data["note"])
        return self._detail(count, status.HTTP_201_CREATED)

    @extend_schema(summary="Enter counted quantities (manager, admin)", request=CountEntriesSerializer,
                   responses={200: CountDetailSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def lines(self, request, pk=None):
        entries = _valid(CountEntriesSerializer, request.data)["lines"]
        count = self.get_object()
        services.record_counts(count, [services.CountEntry(**entry) for entry in entries], user=request.user)
        return self._detail(count)

    @extend_schema(summary="Complete: post one count movement per variance and lock the count (manager, admin)",
                   request=None, responses={200: CountDetailSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        count = self.get_object()
        services.complete_count(count, user=request.user)
        return self._detail(count)

    @extend_schema(summary="Cancel a count in progress (manager, admin)", request=None,
                   responses={200: CountDetailSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        count = self.get_object()
        services.cancel_count(count, user=request.user)
        return self._detail(count)


# --- Suppliers and goods received -------------------------------------------------------------------


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "name", "contact_name", "phone", "email", "kra_pin", "address", "is_active"]
        extra_kwargs = {"name": {"validators": []}}


@extend_schema_view(
    list=extend_schema(summary="Suppliers"),
    retrieve=extend_schema(summary="One supplier"),
    create=extend_schema(summary="Add a supplier (manager, admin)", responses={201: SupplierSerializer,
                                                                              **WRITE_ERRORS}),
)
class SupplierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, InventoryViewSet):
    queryset = Supplier.objects.all()
    serializer_class = SupplierSerializer
    filterset_fields = ["is_active"]
    search_fields = ["name", "contact_name", "phone", "kra_pin"]
    ordering = ["name"]

    def perform_create(self, serializer):
        serializer.instance = services.create_supplier(**serializer.validated_data)


class ReceiptLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product_id")
    product_name = serializers.CharField(source="product.name", read_only=True)
    quantity = quantity_field()
    unit_cost = money_field()
    value = money_field(read_only=True)


class ReceiptSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    supplier_name = serializers.CharField(source="supplier.name", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    lines = ReceiptLineSerializer(many=True, read_only=True)
    total_value = serializers.SerializerMethodField()

    class Meta:
        model = GoodsReceipt
        fields = ["id", "reference", "supplier", "supplier_name", "supplier_reference", "status", "note",
                  "created_by", "created_at", "posted_at", "lines", "total_value"]

    def get_total_value(self, receipt) -> str:
        return str(to_money(sum((line.value for line in receipt.lines.all()), Decimal(0))))


class ReceiptLineCreateSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    quantity = quantity_field(min_value=Decimal("0.001"))
    unit_cost = money_field(min_value=0)


class ReceiptCreateSerializer(serializers.Serializer):
    supplier = serializers.PrimaryKeyRelatedField(
        queryset=Supplier.objects.all(), error_messages={"does_not_exist": "No supplier with id {pk_value}."},
    )
    supplier_reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    lines = ReceiptLineCreateSerializer(many=True, allow_empty=False)


@extend_schema_view(
    list=extend_schema(summary="Goods-received notes, newest first"),
    retrieve=extend_schema(summary="One goods-received note with its lines"),
    create=extend_schema(summary="Record a draft goods-received note (manager, admin)",
                         request=ReceiptCreateSerializer, responses={201: ReceiptSerializer, **WRITE_ERRORS}),
)
class ReceiptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, InventoryViewSet):
    queryset = GoodsReceipt.objects.select_related("supplier", "created_by").prefetch_related("lines__product")
    serializer_class = ReceiptSerializer
    filterset_class = ReceiptFilter
    search_fields = ["supplier__name", "supplier_reference"]
    ordering = ["-created_at", "-id"]

    def create(self, request, *args, **kwargs):
        data = _valid(ReceiptCreateSerializer, request.data)
        lines = [services.ReceiptLineRequest(**line) for line in data.pop("lines")]
        receipt = services.create_receipt(user=request.user, lines=lines, **data)
        return Response(self.get_serializer(self.get_queryset().get(pk=receipt.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Post the note: purchase movements and average cost update (manager, admin)",
                   request=None, responses={200: ReceiptSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"], url_path="post")
    def post_receipt(self, request, pk=None):
        receipt = services.post_receipt(self.get_object(), user=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=receipt.pk)).data)
