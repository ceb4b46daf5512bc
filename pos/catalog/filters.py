import django_filters

from pos.catalog.models import Category, Product, low_stock_q


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), help_text="Category id.")
    is_active = django_filters.BooleanFilter()
    low_stock = django_filters.BooleanFilter(
        method="filter_low_stock",
        help_text="true: low stock (an active product at or below its reorder level); false: the others."
    )
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", help_text="Price at least.")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", help_text="Price at most.")

    class Meta:
        model = Product
        fields = ["category", "is_active", "unit", "low_stock", "min_price", "max_price"]

    def filter_low_stock(self, queryset, name, value):
        return queryset.filter(low_stock_q()) if value else queryset.exclude(low_stock_q())


class CategoryFilter(django_filters.FilterSet):
    class Meta:
        model = Category
        fields = ["parent", "is_active"]
