"""Spreadsheet exports (xlsx, csv) of the stock ledger and of the stock valuation. Export only: stock
never comes in through a spreadsheet (use a stock count or a goods-received note)."""

from decimal import Decimal

from django.db.models import Q
from import_export import fields, resources

from pos.catalog.models import Product
from pos.core.cells import SafeExportMixin
from pos.core.money import to_money
from pos.inventory.models import StockMovement


class VerboseHeaders:
    """Column headers a bookkeeper reads: the model fields' verbose names ("created at", not created_at)."""

    def get_export_headers(self, selected_fields=None):
        headers = super().get_export_headers(selected_fields=selected_fields)
        names = {f.name: str(f.verbose_name) for f in self._meta.model._meta.fields}
        return [names.get(h, h) for h in headers]


class StockMovementResource(SafeExportMixin, VerboseHeaders, resources.ModelResource):
    product_sku = fields.Field(attribute="product__sku", column_name="SKU")
    product_name = fields.Field(attribute="product__name", column_name="product")
    product_barcode = fields.Field(attribute="product__barcode", column_name="barcode")
    user = fields.Field(attribute="user__username", column_name="user")

    class Meta:
        model = StockMovement
        fields = ["id", "created_at", "product_sku", "product_name", "product_barcode", "kind", "quantity",
                  "balance_after", "unit_cost", "reference", "user", "note"]
        export_order = fields

    def get_queryset(self):
        return super().get_queryset().select_related("product", "user")

    def dehydrate_kind(self, movement):
        return movement.get_kind_display()


def valuation_queryset():
    """Products worth listing in a valuation: every active product and any other still holding stock."""
    return (Product.objects.filter(Q(is_active=True) | ~Q(stock_quantity=0))
            .select_related("category").order_by("category__name", "name"))


class ValuationResource(SafeExportMixin, VerboseHeaders, resources.ModelResource):
    """One row per product: quantity, cost, value at cost (qty x cost) and retail value (qty x price),
    each value rounded to the cent at the row."""

    category = fields.Field(attribute="category__name", column_name="category")
    value_at_cost = fields.Field(column_name="value at cost")
    retail_value = fields.Field(column_name="retail value")

    class Meta:
        model = Product
        fields = ["sku", "name", "category", "unit", "stock_quantity", "cost_price", "value_at_cost", "price",
                  "retail_value"]
        export_order = fields

    def get_queryset(self):
        return valuation_queryset()

    def dehydrate_value_at_cost(self, product):
        return to_money(product.stock_quantity * product.cost_price)

    def dehydrate_retail_value(self, product):
        return to_money(product.stock_quantity * product.price)


def valuation_totals(products) -> dict:
    cost = sum((to_money(p.stock_quantity * p.cost_price) for p in products), Decimal("0.00"))
    retail = sum((to_money(p.stock_quantity * p.price) for p in products), Decimal("0.00"))
    return {"value_at_cost": cost, "retail_value": retail}
