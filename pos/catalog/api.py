"""Catalogue API: thin serializers and viewsets; every write goes through pos.catalog.services."""

from django.http import HttpResponse
from django.utils.translation import gettext
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, mixins, serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from pos.catalog import lookup, services
from pos.catalog.barcodes import ALLOWED as BARCODE_CHARS
from pos.catalog.barcodes import HELP_TEXT as BARCODE_HELP
from pos.catalog.barcodes import MAX_LENGTH as BARCODE_MAX_LENGTH
from pos.catalog.barcodes import clean_barcode
from pos.catalog.filters import CategoryFilter, ProductFilter
from pos.catalog.lookup import CachedTokenAuthentication
from pos.catalog.models import Category, Product, QuickKey
from pos.catalog.search import rank_search
from pos.core.errors import ServiceError
from pos.core.permissions import ActionPermissions

BAD_REQUEST = OpenApiResponse(description="Invalid input: field name -> list of messages.")
FORBIDDEN = OpenApiResponse(description="Your role may not change the catalogue.")


def _not_negative(label):
    return {"error_messages": {"min_value": f"{label} cannot be negative."}}


class CatalogPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ProductSearchFilter(filters.SearchFilter):
    """?search=: any word or part of a word of the name, SKU or barcode, ranked (pos.catalog.search)."""

    search_description = ("Any word or part of a word of the name, SKU or barcode (2 characters at least). "
                          "Ranked: exact barcode/SKU, then name prefix, then word prefix, then contains, then "
                          "(PostgreSQL) similar spelling. An explicit `ordering` replaces the rank.")

    def filter_queryset(self, request, queryset, view):
        text = request.query_params.get(self.search_param, "")
        if not text.strip():
            return queryset
        return rank_search(queryset, text, ordered=not request.query_params.get("ordering"))


class CategorySerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=120, validators=[
        UniqueValidator(Category.objects.all(), message="A category with this name already exists.", lookup="iexact"),
    ])

    class Meta:
        model = Category
        fields = ["id", "name", "parent", "is_active"]
        extra_kwargs = {"parent": {"error_messages": {"does_not_exist": "No category with id {pk_value}."}}}


class ProductSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True)
    sku = serializers.CharField(max_length=64, help_text="Shop's stock-keeping unit code, unique.", validators=[
        UniqueValidator(Product.objects.all(), message="A product with this SKU already exists."),
    ])
    barcode = serializers.CharField(
        max_length=BARCODE_MAX_LENGTH, required=False, allow_null=True, allow_blank=True, help_text=BARCODE_HELP,
        validators=[UniqueValidator(Product.objects.all(), message="A product with this barcode already exists.")],
    )

    class Meta:
        model = Product
        fields = ["id", "name", "sku", "barcode", "category", "category_name", "price", "cost_price", "tax_rate",
                  "unit", "stock_quantity", "reorder_level", "is_active"]
        read_only_fields = ["stock_quantity"]
        extra_kwargs = {
            "category": {"error_messages": {"does_not_exist": "No category with id {pk_value}."}},
            "price": {**_not_negative("Price"), "help_text": "Selling price, VAT inclusive."},
            "cost_price": _not_negative("Cost price"),
            "reorder_level": _not_negative("Reorder level"),
            "tax_rate": {"help_text": "VAT rate in percent, e.g. 16.00 standard, 0.00 exempt; when left out, the "
                                      "shop's DEFAULT_TAX_RATE."},
            "stock_quantity": {"help_text": "Read only: stock changes only through the inventory API."},
        }

    def validate_barcode(self, value):
        try:
            return clean_barcode(value)
        except ServiceError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc


@extend_schema_view(
    list=extend_schema(summary="List categories"),
    create=extend_schema(summary="Create a category (manager, admin)", responses={201: CategorySerializer,
                                                                                  400: BAD_REQUEST, 403: FORBIDDEN}),
    retrieve=extend_schema(summary="One category"),
    update=extend_schema(summary="Replace a category (manager, admin)", responses={200: CategorySerializer,
                                                                                   400: BAD_REQUEST, 403: FORBIDDEN}),
    partial_update=extend_schema(summary="Change a category (manager, admin)",
                                 responses={200: CategorySerializer, 400: BAD_REQUEST, 403: FORBIDDEN}),
)
class CategoryViewSet(viewsets.ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    permission_classes = [ActionPermissions]
    required_perms = {"read": "catalog.view_category", "create": "catalog.add_category",
                      "update": "catalog.change_category", "partial_update": "catalog.change_category"}
    pagination_class = CatalogPagination
    filterset_class = CategoryFilter
    search_fields = ["name"]
    ordering_fields = ["name", "id"]
    ordering = ["name"]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.create_category(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_category(serializer.instance, user=self.request.user,
                                                       **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List products",
                       description="Paginated. `search` finds any word or part of a word of the name, SKU or "
                                   "barcode, best match first: exact barcode or SKU, name starting with the "
                                   "text, every word starting a word of the name, contained, then (PostgreSQL) "
                                   "similar spelling, so 'milk' finds every milk and 'sugr' finds sugar."),
    create=extend_schema(summary="Create a product (manager, admin)",
                         responses={201: ProductSerializer, 400: BAD_REQUEST, 403: FORBIDDEN}),
    retrieve=extend_schema(summary="One product"),
    update=extend_schema(summary="Replace a product (manager, admin)",
                         responses={200: ProductSerializer, 400: BAD_REQUEST, 403: FORBIDDEN}),
    partial_update=extend_schema(summary="Change a product (manager, admin)",
                                 responses={200: ProductSerializer, 400: BAD_REQUEST, 403: FORBIDDEN}),
    destroy=extend_schema(
        summary="Delete a product (manager, admin)",
        description="Only a product with no stock movements or sales can be deleted; otherwise the answer is "
                    "400 and the product should be deactivated (PATCH is_active=false).",
        responses={204: None, 400: BAD_REQUEST, 403: FORBIDDEN},
    ),
)
class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.select_related("category")
    serializer_class = ProductSerializer
    permission_classes = [ActionPermissions]
    required_perms = {"read": "catalog.view_product", "create": "catalog.add_product",
                      "update": "catalog.change_product", "partial_update": "catalog.change_product",
                      "destroy": "catalog.delete_product"}
    pagination_class = CatalogPagination
    filterset_class = ProductFilter
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, ProductSearchFilter]
    search_fields = ["name", "sku", "barcode"]
    ordering_fields = ["name", "sku", "price", "stock_quantity", "reorder_level", "id"]
    ordering = ["name"]
    lookup_value_regex = r"\d+"

    def perform_create(self, serializer):
        serializer.instance = services.create_product(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_product(serializer.instance, user=self.request.user,
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_product(instance, user=self.request.user)

    @extend_schema(summary="Active products at or below their reorder level",
                   responses=ProductSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="low_stock")
    def low_stock(self, request):
        queryset = self.filter_queryset(self.get_queryset().low_stock())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Find an active product by barcode (the scanner's lookup)",
        description="A scale label (EAN-13 starting with 2 that a Scale label rule reads) answers the product "
                    "whose PLU is on the label, plus `scale_label`: {rule, kind: weight|price, quantity in the "
                    "product's unit, amount: the label's price or null}. Ordinary barcodes have no "
                    "`scale_label` key.",
        parameters=[OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="Scanned code.")],
        responses={200: ProductSerializer, 404: OpenApiResponse(description="No active product with this barcode.")},
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path=r"barcode/(?P<code>[^/]+)", pagination_class=None,
            authentication_classes=[CachedTokenAuthentication, SessionAuthentication], renderer_classes=[JSONRenderer])
    def barcode(self, request, code):
        if not BARCODE_CHARS.match(code):  # no barcode has other characters (a NUL would even be a 500)
            raise NotFound(gettext("No product with barcode %(code)s.") % {"code": repr(code)})
        # The scanner's hot path: the answer (ProductSerializer's JSON) comes from pos.catalog.lookup,
        # from memory while the product is unchanged; no serializer, no queryset, no filters.
        body = lookup.lookup(code)
        if body is not None:
            return HttpResponse(body, content_type="application/json")
        # Not a product's barcode: maybe a scale label (weight or price inside, pos.catalog.scale).
        scan = services.lookup_scale_label(code)
        if scan is None:
            raise NotFound(gettext("No product with barcode %(code)s.") % {"code": code})
        data = ProductSerializer(scan.product).data
        data["scale_label"] = {
            "rule": scan.label.rule.name, "kind": scan.label.rule.value_kind,
            "quantity": str(scan.quantity), "amount": None if scan.amount is None else str(scan.amount),
        }
        return Response(data)


class QuickKeyProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "sku", "barcode", "plu", "price", "tax_rate", "unit", "stock_quantity"]


class QuickKeySerializer(serializers.ModelSerializer):
    product = QuickKeyProductSerializer(read_only=True)
    label = serializers.SerializerMethodField(help_text="Text on the tile: the key's label or the product's name.")
    image = serializers.SerializerMethodField(help_text="URL of the tile's picture (the key's, else the "
                                                        "product's), or null: show the colour.")

    class Meta:
        model = QuickKey
        fields = ["id", "label", "colour", "image", "position", "product"]

    def get_label(self, key) -> str:
        return key.label or key.product.name

    def get_image(self, key) -> str | None:
        image = key.image or key.product.image
        if not image:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(image.url) if request else image.url


@extend_schema_view(list=extend_schema(
    summary="The till's quick keys (favourite products, in order)",
    description="Active keys of active products, ordered as the managers set them in the admin (Quick keys). "
                "Not paginated: a grid holds a few dozen tiles."))
class QuickKeyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = QuickKeySerializer
    permission_classes = [ActionPermissions]
    required_perms = {"read": "catalog.view_product"}
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return services.quick_keys()
