"""Catalogue back office. Saves and deletes go through pos.catalog.services; stock is read only here.

Who may do what comes from the role groups (pos.accounts.roles): managers and admins change the
catalogue and import it; bookkeepers view and export; cashiers only view.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    BooleanRadioFilter,
    DropdownFilter,
    RangeNumericFilter,
    RelatedDropdownFilter,
)
from unfold.contrib.import_export.forms import (
    ExportForm,
    ImportForm,
    SelectableFieldsExportForm,
)
from unfold.decorators import action, display

from pos.catalog import services
from pos.catalog.barcodes import HELP_TEXT as BARCODE_HELP
from pos.catalog.barcodes import clean_barcode
from pos.catalog.models import Category, Product, QuickKey, ScaleBarcodeRule, low_stock_q
from pos.catalog.resources import PREVIEW_ROWS, CategoryResource, ProductResource
from pos.core.admin import confirm_page, counted, run_on_each
from pos.core.errors import ServiceError
from pos.core.permissions import can
from pos.inventory.admin import history_link, run_one

STOCK_OUT, STOCK_LOW, STOCK_OK = "Out", "Low", "OK"


def stock_state(product):
    if product.stock_quantity <= 0:
        return STOCK_OUT
    return STOCK_LOW if product.low_on_stock else STOCK_OK


class StockStateFilter(DropdownFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("out", "Out of stock"), ("low", "Low (active, at or below reorder level)"), ("ok", "In stock")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "out":
            return queryset.filter(stock_quantity__lte=0)
        if value == "low":
            return queryset.filter(low_stock_q(), stock_quantity__gt=0)
        if value == "ok":
            return queryset.filter(stock_quantity__gt=0).exclude(low_stock_q())
        return queryset


class CatalogImportExportAdmin(ModelAdmin, ImportExportModelAdmin):
    import_form_class = ImportForm
    export_form_class = SelectableFieldsExportForm
    formats = [XLSX, CSV]
    list_filter_submit = True

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def import_action(self, request, **kwargs):
        """The preview table lists the first PREVIEW_ROWS rows (with the counts above it); every bad row
        is still listed, and the confirmed import takes the whole file."""
        response = super().import_action(request, **kwargs)
        result = (getattr(response, "context_data", None) or {}).get("result")
        if result is not None and not result.has_validation_errors() and len(result.rows) > PREVIEW_ROWS:
            totals = result.totals
            messages.info(request, f"{result.total_rows} rows: {totals['new']} new, {totals['update']} changed, "
                                   f"{totals['skip']} unchanged. The table shows the first {PREVIEW_ROWS}.")
            result.rows = result.rows[:PREVIEW_ROWS]
        return response

    def has_export_permission(self, request):
        return self.has_view_permission(request) and can(request.user, "reports.view_reports")


@admin.register(Category)
class CategoryAdmin(CatalogImportExportAdmin):
    resource_classes = [CategoryResource]
    export_form_class = ExportForm
    list_display = ["name", "parent", "product_count", "is_active"]
    list_editable = ["is_active"]
    list_filter = [("is_active", BooleanRadioFilter), ("parent", RelatedDropdownFilter)]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_total=Count("products"))

    @display(description="products", ordering="product_total")
    def product_count(self, obj):
        return obj.product_total

    def save_model(self, request, obj, form, change):
        services.save_category(obj, user=request.user)


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = "__all__"
        help_texts = {"barcode": BARCODE_HELP}

    def clean_barcode(self):
        try:
            return clean_barcode(self.cleaned_data.get("barcode"))
        except ServiceError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin, CatalogImportExportAdmin):
    """Product history (who changed a price, when) comes from simple_history; categories keep the admin log."""

    resource_classes = [ProductResource]
    form = ProductAdminForm
    list_display = ["name", "sku", "barcode", "category", "price", "stock_quantity", "reorder_level",
                    "stock_badge", "movements", "is_active"]
    list_editable = ["price", "reorder_level", "is_active"]
    list_filter = [("category", RelatedDropdownFilter), StockStateFilter, ("is_active", BooleanRadioFilter),
                   ("price", RangeNumericFilter)]
    search_fields = ["name", "sku", "barcode", "plu"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]
    readonly_fields = ["stock_quantity", "movements", "created_at", "updated_at"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["name", "category", "sku", "barcode", "plu", "unit", "image", "is_active"]}),
        ("Price", {"fields": ["price", "cost_price", "tax_rate"]}),
        ("Stock", {"fields": ["stock_quantity", "movements", "reorder_level"],
                   "description": "Stock changes only through stock movements, goods received and counts."}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @display(description="stock state", label={STOCK_OUT: "danger", STOCK_LOW: "warning", STOCK_OK: "success"})
    def stock_badge(self, obj):
        return stock_state(obj)

    @display(description="movements")
    def movements(self, obj):
        """The product's stock ledger (the movement list filtered on it)."""
        return history_link(obj.pk) if obj.pk else "-"

    def get_search_results(self, request, queryset, search_term):
        """The admin's search and the product boxes (goods received, quick keys) find any word or part of a
        word of the name, SKU or barcode, a scanned barcode first (pos.catalog.search)."""
        if not search_term.strip():
            return queryset, False
        matched = services.rank_search(queryset, search_term)
        if search_term.strip().isdigit():  # a PLU typed in the box
            matched = matched | queryset.filter(plu=search_term.strip().lstrip("0") or "0")
        return matched, False

    actions = ["deactivate_selected"]
    actions_detail = ["deactivate", "reactivate"]

    def save_model(self, request, obj, form, change):
        services.save_product(obj, user=request.user)

    def get_actions(self, request):
        """No bulk delete: products with history cannot go (Deactivate instead), and one product without
        history is deleted from its own page."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        """A product with stock movements, sales, counts or goods received offers Deactivate, not Delete."""
        if obj is not None and services.product_history_count(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_product(obj, user=request.user)

    def _active_is(self, object_id, active):
        return Product.objects.filter(pk=object_id, is_active=active).exists()

    def has_deactivate_permission(self, request, object_id=None):
        return self.has_change_permission(request) and (object_id is None or self._active_is(object_id, True))

    def has_reactivate_permission(self, request, object_id=None):
        return self.has_change_permission(request) and (object_id is None or self._active_is(object_id, False))

    def _switch(self, request, object_id, active):
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import get_object_or_404

        product = get_object_or_404(Product, pk=object_id)
        allowed = self.has_reactivate_permission if active else self.has_deactivate_permission
        if not allowed(request, object_id):
            raise PermissionDenied
        if request.method == "POST":
            return run_one(self, request, product,
                           lambda p: services.update_product(p, user=request.user, is_active=active),
                           f"{product.name} is {'for sale again' if active else 'deactivated'}.")
        if active:
            return confirm_page(self, request, product, question=f"Reactivate {product.name}?",
                                button="Reactivate", details=["It comes back to the till and the scanner."])
        return confirm_page(self, request, product, question=f"Deactivate {product.name}?", button="Deactivate",
                            details=["It leaves the till, the search and the scanner; its stock, sales and history "
                                     "stay as they are.", "It can be reactivated at any time."])

    @action(description="Deactivate", url_path="deactivate", permissions=["deactivate"], icon="block")
    def deactivate(self, request, object_id):
        return self._switch(request, object_id, False)

    @action(description="Reactivate", url_path="reactivate", permissions=["reactivate"], icon="check_circle")
    def reactivate(self, request, object_id):
        return self._switch(request, object_id, True)

    @admin.action(description="Deactivate selected products (they leave the till, history stays)",
                  permissions=["change"])
    def deactivate_selected(self, request, queryset):
        run_on_each(self, request, queryset.filter(is_active=True),
                    lambda p: services.update_product(p, user=request.user, is_active=False),
                    counted("product(s) deactivated"))


@admin.register(ScaleBarcodeRule)
class ScaleBarcodeRuleAdmin(ModelAdmin):
    """How the scale's labels are read (pos.catalog.scale): the till scans them into the product whose PLU
    is on the label, at the label's weight or price."""

    list_display = ["name", "prefix", "layout", "value_kind", "value_decimals", "is_active"]
    list_filter = ["value_kind", "is_active"]
    fields = ["name", "prefix", "item_digits", "value_check_digit", "verify_value_check_digit",
              "value_kind", "value_digits", "value_decimals",
              "is_active"]

    @display(description="layout")
    def layout(self, obj):
        value = ("W" if obj.value_kind == "weight" else "P") * obj.value_digits
        return f"{obj.prefix} {'I' * obj.item_digits} {'V ' if obj.value_check_digit else ''}{value} C"

    def save_model(self, request, obj, form, change):
        services.save_scale_rule(obj, user=request.user)


class QuickKeyForm(forms.ModelForm):
    class Meta:
        model = QuickKey
        fields = ["product", "label", "colour", "image", "position", "is_active"]

    def clean_product(self):
        product = self.cleaned_data.get("product")
        if product is not None and not product.is_active:
            raise forms.ValidationError("A quick key needs a product that is for sale (active).")
        return product


@admin.register(QuickKey)
class QuickKeyAdmin(ModelAdmin):
    """The till's quick keys grid: favourite products (produce, bread, unbarcoded goods), in order."""

    form = QuickKeyForm
    list_display = ["tile", "product", "colour", "position", "is_active"]
    list_editable = ["colour", "position", "is_active"]
    list_filter = [("is_active", BooleanRadioFilter)]
    search_fields = ["label", "product__name", "product__plu"]
    autocomplete_fields = ["product"]
    list_select_related = ["product"]
    ordering = ["position", "pk"]

    @display(description="tile")
    def tile(self, obj):
        return str(obj)

    def save_model(self, request, obj, form, change):
        services.save_quick_key(obj, user=request.user)

    def delete_model(self, request, obj):
        services.delete_quick_key(obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for key in queryset:
            services.delete_quick_key(key, user=request.user)
