"""Managers' view of the tills: which hold unsynced offline sales, when each last synced, and the offline
sales flagged for a person (price changed, stock below zero, M-Pesa code not matched)."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from unfold.admin import ModelAdmin
from unfold.decorators import display

from pos.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, counted, run_on_each
from pos.core.errors import ServiceError
from pos.tills import services
from pos.tills.models import OfflineMpesaCode, OfflineSale, ReceiptBlock, RefusedOfflineSale, Till


class MpesaCodeInline(ReadOnlyTabularInline):
    model = OfflineMpesaCode
    fields = ["code", "payment", "confirmed_at", "note"]


class UnsyncedFilter(admin.SimpleListFilter):
    title = "unsynced sales"
    parameter_name = "unsynced"

    def lookups(self, request, model_admin):
        return [("yes", "Holding unsynced sales"), ("no", "All synced")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(unsynced_count__gt=0)
        if self.value() == "no":
            return queryset.filter(unsynced_count=0)
        return queryset


@admin.register(Till)
class TillAdmin(ModelAdmin):
    list_display = ["code", "name", "unsynced", "last_synced_at", "last_seen_at", "last_seen_by", "flagged",
                    "offline_reserved", "is_active"]
    list_filter = [UnsyncedFilter, "is_active"]
    search_fields = ["code", "name"]
    ordering = ["-unsynced_count", "code"]
    fields = ["code", "name", "is_active", "device_id", "offline_reserved", "unsynced_count", "last_seen_at",
              "last_seen_by", "last_synced_at", "created_at"]
    readonly_fields = ["code", "device_id", "offline_reserved", "unsynced_count", "last_seen_at", "last_seen_by",
                       "last_synced_at", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("last_seen_by").annotate(
            n_flagged=Count("offline_sales", filter=Q(offline_sales__needs_attention=True)))

    def has_add_permission(self, request):
        return False  # a till registers itself the first time its browser opens the checkout page

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description="Unsynced sales", ordering="unsynced_count", label={"held": "danger", "none": "success"})
    def unsynced(self, obj):
        return ("held", f"{obj.unsynced_count} unsynced") if obj.unsynced_count else ("none", "0")

    @display(description="Offline sales to review", ordering="n_flagged")
    def flagged(self, obj):
        return obj.n_flagged


@admin.register(OfflineSale)
class OfflineSaleAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["sale", "till", "number", "sold_at", "received_at", "total", "needs_attention", "price_changed",
                    "negative_stock", "unconfirmed_mpesa", "mpesa_code"]
    list_filter = ["needs_attention", "price_changed", "negative_stock", "unconfirmed_mpesa", "till"]
    search_fields = ["sale__receipt_number", "mpesa_code", "client_uuid"]
    date_hierarchy = "received_at"
    list_select_related = ["sale", "till"]
    actions = ["mark_reviewed", "match_codes"]
    readonly_fields = [f.name for f in OfflineSale._meta.fields]
    inlines = [MpesaCodeInline]

    def has_review_permission(self, request):
        return request.user.has_perm("tills.review_offlinesale")

    @admin.action(description="Mark as reviewed (stock counted, code matched, price accepted)",
                  permissions=["review"])
    def mark_reviewed(self, request, queryset):
        run_on_each(self, request, queryset, lambda offline: services.mark_reviewed(offline, user=request.user),
                    counted("offline sale(s) marked as reviewed"))

    @admin.action(description="Match typed M-Pesa codes with the M-Pesa register now", permissions=["review"])
    def match_codes(self, request, queryset):
        done = services.confirm_offline_codes()
        self.message_user(request, f"{done} M-Pesa code(s) confirmed by the register.", messages.SUCCESS)


@admin.register(ReceiptBlock)
class ReceiptBlockAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["till", "start", "end", "reserved_by", "reserved_at"]
    list_filter = ["till"]
    readonly_fields = ["till", "start", "end", "reserved_by", "reserved_at"]


@admin.register(RefusedOfflineSale)
class RefusedOfflineSaleAdmin(ModelAdmin):
    """Sales the server refused: settle each by hand (e.g. record it in the back office), then resolve."""

    list_display = ["till", "cashier", "received_at", "reason", "resolved_at", "resolved_by", "resolution"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "till"]
    readonly_fields = ["till", "client_uuid", "cashier", "body", "error", "received_at", "resolved_at", "resolved_by"]
    fields = readonly_fields + ["resolution"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("tills.review_offlinesale")

    @display(description="Why refused")
    def reason(self, obj):
        error = obj.error or {}
        return next((v[0] for k, v in error.items() if k != "code" and isinstance(v, list) and v), str(error))[:120]

    def save_model(self, request, obj, form, change):
        try:
            services.resolve_refused(obj, user=request.user, resolution=form.cleaned_data.get("resolution", ""))
        except ServiceError as err:
            self.message_user(request, err.message, messages.ERROR)
