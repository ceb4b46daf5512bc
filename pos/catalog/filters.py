import django_filters
from django.db.models import F

from pos.catalog.models import Category, Product


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), help_text="Category id.")
    is_active = django_filters.BooleanFilter()
    low_stock = django_filters.BooleanFilter(
        method="filter_low_stock", help_text="true: stock at or below the reorder level; false: above it."
    )
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", help_text="Price at least.")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", help_text="Price at most.")

    class Meta:
        model = Product
        fields = ["category", "is_active", "unit", "low_stock", "min_price", "max_price"]

    def filter_low_stock(self, queryset, name, value):
        low = {"stock_quantity__lte": F("reorder_level")}
        return queryset.filter(**low) if value else queryset.exclude(**low)


class CategoryFilter(django_filters.FilterSet):
    class Meta:
        model = Category
        fields = ["parent", "is_active"]
