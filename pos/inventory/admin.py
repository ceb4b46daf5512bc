"""Stock back office. Every stock change goes through pos.inventory.services; the ledger is read only.

Who may do what comes from the role groups (pos.accounts.roles): managers and admins run counts, post
goods received and resolve alerts; bookkeepers view and export; cashiers see nothing here.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    ChoicesDropdownFilter,
    DropdownFilter,
    RangeDateFilter,
    RangeDateTimeFilter,
    RelatedDropdownFilter,
)
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import action, display
from unfold.forms import PaginationInlineFormSet

from pos.catalog.models import Product
from pos.core.admin import ReadOnlyAdminMixin, confirm_page, counted, run_on_each
from pos.core.errors import ServiceError
from pos.core.money import to_money
from pos.inventory import services
from pos.inventory.models import (
    AlertStatus,
    CountStatus,
    GoodsReceipt,
    GoodsReceiptLine,
    ReceiptStatus,
    StockAlert,
    StockCount,
    StockCountLine,
    StockMovement,
    Supplier,
)
from pos.inventory.resources import StockMovementResource, ValuationResource


def movements_url(product_id):
    """The movement history of one product (the ledger filtered by product)."""
    return f"{reverse('admin:inventory_stockmovement_changelist')}?product={product_id}"


def history_link(product_id, label="History"):
    return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', movements_url(product_id), label)


def run_one(model_admin, request, obj, operation, done):
    """Run a service on one object from its own page and go back to that page with the outcome."""
    try:
        operation(obj)
        model_admin.message_user(request, done, messages.SUCCESS)
    except ServiceError as exc:
        model_admin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    return redirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))


# --- Movements ------------------------------------------------------------------------------------


class ProductFilter(DropdownFilter):
    """?product=<id>: one product's movement history (linked from alerts, counts and products)."""

    title = "product"
    parameter_name = "product"

    def lookups(self, request, model_admin):
        value = self.value()
        product = Product.objects.filter(pk=value).first() if (value or "").isdigit() else None
        return [(str(product.pk), f"{product.name} ({product.sku})")] if product else []

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(product_id=value) if (value or "").isdigit() else queryset


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, ExportMixin, ModelAdmin):
    """The ledger: read only (no add, change or delete), with xlsx/csv export of what is filtered and a
    stock valuation export."""

    resource_classes = [StockMovementResource]
    export_form_class = ExportForm
    formats = [XLSX, CSV]
    list_display = ["created_at", "product_link", "kind_label", "signed_quantity", "balance_after", "unit_cost",
                    "reference", "user"]
    list_filter = [ProductFilter, ("kind", ChoicesDropdownFilter), ("created_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["product__name", "product__sku", "product__barcode", "reference"]
    search_help_text = "Product name, SKU, barcode or reference (receipt number, COUNT-3, GRN-7)."
    list_select_related = ["product", "user"]
    date_hierarchy = "created_at"
    list_per_page = 100
    actions_list = ["export_valuation"]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    @display(description="product", ordering="product__name")
    def product_link(self, movement):
        return history_link(movement.product_id, movement.product.name)

    @display(description="kind", label=True)
    def kind_label(self, movement):
        return movement.get_kind_display()

    @display(description="quantity", ordering="quantity")
    def signed_quantity(self, movement):
        return f"{movement.quantity:+}"

    @action(description="Stock valuation (xlsx)", url_path="valuation", permissions=["view"], icon="download")
    def export_valuation(self, request):
        data = ValuationResource().export().export("xlsx")
        response = HttpResponse(
            data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        stamp = timezone.localtime().strftime("%Y-%m-%d")
        response["Content-Disposition"] = f'attachment; filename="stock-valuation-{stamp}.xlsx"'
        return response


# --- Alerts ---------------------------------------------------------------------------------------


@admin.register(StockAlert)
class StockAlertAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["product", "status_label", "quantity", "reorder_level", "stock_now", "created_at",
                    "resolved_at", "resolved_by", "notified_at", "movements"]
    list_filter = [("status", ChoicesDropdownFilter), ("created_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["product__name", "product__sku", "product__barcode"]
    list_select_related = ["product", "resolved_by"]
    actions = ["resolve_selected"]
    readonly_fields = ["product", "status", "quantity", "reorder_level", "created_at", "resolved_at",
                       "resolved_by", "notified_at"]

    def has_resolve_permission(self, request):
        return request.user.has_perm("inventory.change_stockalert")

    @display(description="status", label={"active": "danger", "dismissed": "warning", "resolved": "success"})
    def status_label(self, alert):
        return alert.status, alert.get_status_display()

    @display(description="stock now")
    def stock_now(self, alert):
        return alert.product.stock_quantity

    @display(description="movements")
    def movements(self, alert):
        return history_link(alert.product_id)

    @admin.action(description="Resolve selected alerts", permissions=["resolve"])
    def resolve_selected(self, request, queryset):
        run_on_each(self, request, queryset.filter(status=AlertStatus.ACTIVE),
                    lambda alert: services.resolve_alert(alert, user=request.user), counted("alert(s) resolved"))


# --- Stock counts ---------------------------------------------------------------------------------


class CountLinesFormSet(PaginationInlineFormSet):
    def clean(self):
        super().clean()
        entries = count_entries(self)
        if entries and self.instance.pk:
            try:
                services.check_counts(self.instance, entries)
            except ServiceError as exc:
                raise forms.ValidationError(exc.message) from exc


def count_entries(formset):
    return [
        services.CountEntry(form.cleaned_data["counted_quantity"], product=form.instance.product_id)
        for form in formset.forms
        if form.has_changed() and form.cleaned_data.get("counted_quantity") is not None
    ]


class StockCountLineInline(TabularInline):
    model = StockCountLine
    formset = CountLinesFormSet
    fields = ["product", "expected_quantity", "counted_quantity", "variance", "unit_cost", "variance_value",
              "movements"]
    blind_fields = ["product", "counted_quantity"]
    readonly_fields = ["product", "expected_quantity", "variance", "unit_cost", "variance_value", "movements"]

    def get_fields(self, request, obj=None):
        """A blind count in progress shows the counter the product and the count only: no expected
        quantity, no variance (nor the ledger, which tells the stock)."""
        if obj is not None and obj.blind and obj.status == CountStatus.IN_PROGRESS:
            return self.blind_fields
        return self.fields
    extra = 0
    can_delete = False
    per_page = 100

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return bool(obj and obj.status == CountStatus.IN_PROGRESS and super().has_change_permission(request, obj))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @display(description="variance")
    def variance(self, line):
        return "" if line.variance is None else f"{line.variance:+}"

    @display(description="variance at cost")
    def variance_value(self, line):
        return "" if line.variance_value is None else line.variance_value

    @display(description="movements")
    def movements(self, line):
        return history_link(line.product_id)


class StartCountForm(forms.ModelForm):
    class Meta:
        model = StockCount
        fields = ["category", "note", "blind"]

    def clean(self):
        cleaned = super().clean()
        try:
            services.count_scope(cleaned.get("category"))
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(StockCount)
class StockCountAdmin(SimpleHistoryAdmin, ModelAdmin):
    """Start a count (snapshot), type counted quantities in the lines, then complete or cancel it."""

    list_display = ["__str__", "category", "status_label", "started_by", "started_at", "completed_at",
                    "progress", "variance_value"]
    list_filter = [("status", ChoicesDropdownFilter), ("category", RelatedDropdownFilter),
                   ("started_at", RangeDateFilter)]
    list_filter_submit = True
    list_select_related = ["category", "started_by"]
    actions = ["complete_selected", "cancel_selected"]
    actions_detail = ["complete_count"]
    inlines = [StockCountLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).with_totals()

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = StartCountForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["category", "note", "blind"]
        return ["category", "note", "blind", "status", "started_by", "started_at", "completed_by", "completed_at",
                "cancelled_by", "cancelled_at", "variance_total"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def has_count_permission(self, request, object_id=None):
        if object_id is not None and not StockCount.objects.filter(pk=object_id,
                                                                  status=CountStatus.IN_PROGRESS).exists():
            return False
        return request.user.has_perm("inventory.change_stockcount")

    @display(description="status", label={"in_progress": "info", "completed": "success", "cancelled": "danger"})
    def status_label(self, count):
        return count.status, count.get_status_display()

    @display(description="counted")
    def progress(self, count):
        return f"{count.counted_lines} / {count.lines_total}"

    @display(description="variance at cost", ordering="variance_value")
    def variance_value(self, count):
        return to_money(count.variance_value)

    @display(description="variance at cost (counted lines)")
    def variance_total(self, count):
        return to_money(StockCount.objects.with_totals().get(pk=count.pk).variance_value)

    def save_model(self, request, obj, form, change):
        if not change:
            count = services.start_count(user=request.user, category=obj.category, note=obj.note, blind=obj.blind)
            obj.pk, obj.started_by, obj.started_at = count.pk, count.started_by, count.started_at
            obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        entries = count_entries(formset)
        lines = services.record_counts(form.instance, entries, user=request.user) if entries else []
        formset.new_objects, formset.deleted_objects = [], []
        formset.changed_objects = [(line, ["counted_quantity"]) for line in lines]

    @admin.action(description="Complete selected counts (post the variances)", permissions=["count"])
    def complete_selected(self, request, queryset):
        """A count with lines left uncounted is refused here: open it and confirm on its page."""
        run_on_each(self, request, queryset,
                    lambda count: services.complete_count(count, user=request.user, allow_uncounted=False),
                    counted("count(s) completed"))

    @action(description="Complete count", url_path="complete", permissions=["count"], icon="task_alt")
    def complete_count(self, request, object_id):
        """The count's own Complete button: a confirmation page (saying how many lines are not counted),
        then the service on POST."""
        count = get_object_or_404(StockCount.objects.with_totals(), pk=object_id)
        if not self.has_count_permission(request, object_id):
            raise PermissionDenied
        if request.method == "POST":
            return run_one(self, request, count, lambda c: services.complete_count(c, user=request.user),
                           f"{count} completed: the variances are posted.")
        uncounted = count.lines_total - count.counted_lines
        warning = (f"{uncounted} of {count.lines_total} lines are not counted. Completing now leaves their stock "
                   "as it is." if uncounted else "")
        return confirm_page(self, request, count, question=f"Complete {count}?", button="Complete count",
                            details=[f"{count.counted_lines} of {count.lines_total} lines counted.",
                                     "One stock movement is posted for each counted line that differs."],
                            warning=warning)

    @admin.action(description="Cancel selected counts", permissions=["count"])
    def cancel_selected(self, request, queryset):
        run_on_each(self, request, queryset, lambda count: services.cancel_count(count, user=request.user),
                    counted("count(s) cancelled"))


# --- Suppliers and goods received -------------------------------------------------------------------


@admin.register(Supplier)
class SupplierAdmin(ModelAdmin):
    list_display = ["name", "contact_name", "phone", "email", "kra_pin", "is_active", "notes_received"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact_name", "phone", "kra_pin"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(receipts_total=Count("receipts"))

    @display(description="goods received notes", ordering="receipts_total")
    def notes_received(self, supplier):
        return supplier.receipts_total

    def has_delete_permission(self, request, obj=None):
        return False


class GoodsReceiptLineForm(forms.ModelForm):
    class Meta:
        model = GoodsReceiptLine
        fields = ["product", "quantity", "unit_cost"]

    def clean(self):
        """The service's line rules (whole pieces, positive quantity, cost) as the manager types."""
        cleaned = super().clean()
        product, quantity, cost = cleaned.get("product"), cleaned.get("quantity"), cleaned.get("unit_cost")
        if product is not None and quantity is not None and cost is not None:
            try:
                cleaned["quantity"], cleaned["unit_cost"] = services.check_receipt_line(product, quantity, cost,
                                                                                        product.name)
            except ServiceError as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned


class GoodsReceiptLineInline(TabularInline):
    """Lines by scanner or typing: the product box searches name, SKU, barcode and PLU (a scanned barcode
    finds its product first)."""

    model = GoodsReceiptLine
    form = GoodsReceiptLineForm
    fields = ["product", "quantity", "unit_cost", "value"]
    readonly_fields = ["value"]
    autocomplete_fields = ["product"]
    extra = 3

    def _draft(self, obj):
        return obj is None or obj.status == ReceiptStatus.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)

    @display(description="value")
    def value(self, line):
        return line.value if line.pk else ""


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(SimpleHistoryAdmin, ModelAdmin):
    """Draft notes are edited freely; "Post" moves the stock and the average cost, after which the note
    is read only."""

    list_display = ["__str__", "supplier", "supplier_reference", "status_label", "line_count", "total_value",
                    "created_by", "created_at", "posted_at"]
    list_filter = [("status", ChoicesDropdownFilter), ("supplier", RelatedDropdownFilter),
                   ("created_at", RangeDateFilter)]
    list_filter_submit = True
    search_fields = ["supplier__name", "supplier_reference", "lines__product__name", "lines__product__sku"]
    list_select_related = ["supplier", "created_by"]
    fields = ["supplier", "supplier_reference", "note", "status", "created_by", "posted_by", "posted_at"]
    readonly_fields = ["status", "created_by", "posted_by", "posted_at"]
    inlines = [GoodsReceiptLineInline]
    actions = ["post_selected"]
    actions_detail = ["post_note"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lines_total=Count("lines")).prefetch_related("lines")

    def has_change_permission(self, request, obj=None):
        draft = obj is None or obj.status == ReceiptStatus.DRAFT
        return draft and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_post_permission(self, request, object_id=None):
        if object_id is not None and not GoodsReceipt.objects.filter(pk=object_id,
                                                                    status=ReceiptStatus.DRAFT).exists():
            return False
        return request.user.has_perm("inventory.change_goodsreceipt")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "supplier":
            kwargs["queryset"] = Supplier.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @display(description="status", label={"draft": "warning", "posted": "success"})
    def status_label(self, receipt):
        return receipt.status, receipt.get_status_display()

    @display(description="lines", ordering="lines_total")
    def line_count(self, receipt):
        return receipt.lines_total

    @display(description="value at cost")
    def total_value(self, receipt):
        return sum((line.value for line in receipt.lines.all()), Decimal("0.00"))

    def save_model(self, request, obj, form, change):
        services.save_receipt_draft(obj, user=request.user)

    @action(description="Post note (stock in)", url_path="post", permissions=["post"], icon="inventory")
    def post_note(self, request, object_id):
        """The note's own Post button: a confirmation page with what will come in, then the service on POST."""
        receipt = get_object_or_404(GoodsReceipt.objects.select_related("supplier"), pk=object_id)
        if not self.has_post_permission(request, object_id):
            raise PermissionDenied
        if request.method == "POST":
            return run_one(self, request, receipt, lambda r: services.post_receipt(r, user=request.user),
                           f"{receipt} posted: the stock is in.")
        lines = list(receipt.lines.select_related("product"))
        total = sum((line.value for line in lines), Decimal("0.00"))
        return confirm_page(
            self, request, receipt, question=f"Post {receipt} from {receipt.supplier}?", button="Post note",
            details=[*(f"{line} at {line.unit_cost}" for line in lines), f"Value at cost: {total}",
                     "Posted notes can no longer be changed."])

    @admin.action(description="Post selected notes (stock in, average cost)", permissions=["post"])
    def post_selected(self, request, queryset):
        run_on_each(self, request, queryset, lambda receipt: services.post_receipt(receipt, user=request.user),
                    counted("note(s) posted"))
