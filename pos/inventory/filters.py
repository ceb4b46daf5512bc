import django_filters

from pos.inventory.models import (
    AlertStatus,
    CountStatus,
    GoodsReceipt,
    MovementKind,
    ReceiptStatus,
    StockAlert,
    StockCount,
    StockMovement,
)


class MovementFilter(django_filters.FilterSet):
    product = django_filters.NumberFilter(field_name="product_id", help_text="Product id.")
    kind = django_filters.ChoiceFilter(choices=MovementKind.choices)
    reference = django_filters.CharFilter(help_text="Exact reference, e.g. S-000012, COUNT-3, GRN-7.")
    date_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte",
                                          help_text="On or after this day (YYYY-MM-DD, shop time).")
    date_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte",
                                        help_text="On or before this day (YYYY-MM-DD, shop time).")

    class Meta:
        model = StockMovement
        fields = ["product", "kind", "reference", "date_from", "date_to"]


class AlertFilter(django_filters.FilterSet):
    product = django_filters.NumberFilter(field_name="product_id", help_text="Product id.")
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)

    class Meta:
        model = StockAlert
        fields = ["product", "status"]


class CountFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CountStatus.choices)

    class Meta:
        model = StockCount
        fields = ["status", "category"]


class ReceiptFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReceiptStatus.choices)

    class Meta:
        model = GoodsReceipt
        fields = ["status", "supplier"]
