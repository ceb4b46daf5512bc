"""eTIMS back office: the device (initialise, code tables), items, the signing queue (sent, waiting,
failed with KRA's reason; resend), the day's count, and the log of every call. Actions only call
pos.fiscal.services; nothing here signs or numbers a document by hand."""

from django.contrib import admin, messages
from django.utils.dateparse import parse_date
from unfold.admin import ModelAdmin
from unfold.decorators import display

from pos.core.admin import ReadOnlyAdminMixin, counted, run_on_each
from pos.core.errors import ServiceError
from pos.fiscal import services
from pos.fiscal.models import Call, Code, Device, Document, DocumentStatus, FiscalItem, ItemClass, ItemStatus

DOCUMENT_COLOURS = {DocumentStatus.SIGNED: "success", DocumentStatus.QUEUED: "warning",
                    DocumentStatus.FAILED: "danger", DocumentStatus.BLOCKED: "danger"}
ITEM_COLOURS = {ItemStatus.REGISTERED: "success", ItemStatus.PENDING: "warning", ItemStatus.REJECTED: "danger"}


@admin.register(Device)
class DeviceAdmin(ModelAdmin):
    list_display = ["name", "pin", "branch_id", "serial", "mode", "is_active", "initialised", "sdc_id",
                    "init_error"]
    fieldsets = [
        (None, {"fields": ["name", "pin", "branch_id", "serial", "mode", "base_url", "is_active"]}),
        ("From KRA (selectInitOsdcInfo)", {"fields": ["sdc_id", "dvc_id", "mrc_no", "taxpayer_name",
                                                      "initialised_at", "init_error", "key_stored"]}),
        ("Code tables", {"fields": ["codes_last_req_dt", "item_classes_last_req_dt"]}),
    ]
    readonly_fields = ["sdc_id", "dvc_id", "mrc_no", "taxpayer_name", "initialised_at", "init_error", "key_stored",
                       "codes_last_req_dt", "item_classes_last_req_dt"]
    actions = ["initialise", "refresh_codes", "send_outbox_now"]

    @display(description="initialised", boolean=True)
    def initialised(self, obj):
        return obj.is_initialised

    @display(description="communication key (cmcKey)")
    def key_stored(self, obj):
        return "stored, encrypted (never shown)" if obj.cmc_key_encrypted else "not issued yet"

    def save_model(self, request, obj, form, change):
        try:
            services.save_device(obj, user=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def has_initialise_permission(self, request):
        return request.user.has_perm("fiscal.initialise_device")

    @admin.action(description="Initialise the device with KRA (selectInitOsdcInfo)", permissions=["initialise"])
    def initialise(self, request, queryset):
        def initialise(device):
            services.initialise_device(device, user=request.user)
            return f"{device}: initialised, SCU {device.sdc_id}."

        run_on_each(self, request, queryset, initialise, " ".join)

    @admin.action(description="Fetch KRA's code tables and item classes (changes since the last fetch)",
                  permissions=["initialise"])
    def refresh_codes(self, request, queryset):
        def refresh(device):
            counts = services.refresh_code_tables(device)
            return f"{device}: {counts['codes']} codes and {counts['item_classes']} item classes updated."

        run_on_each(self, request, queryset, refresh, " ".join)

    @admin.action(description="Retry everything waiting now (KRA is back)", permissions=["initialise"])
    def send_outbox_now(self, request, queryset):
        for device in queryset:
            n = services.retry_now(device)
            services.kick()
            self.message_user(request, f"{device}: {n} waiting document(s) will be sent now.", messages.SUCCESS)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """The signing queue: what is signed, what waits (and why), what KRA refused (with its message)."""

    list_display = ["trade_invoice_no", "kind", "status_badge", "invoice_no", "cu_invoice", "attempts",
                    "next_attempt_at", "reason", "stock_status", "created_at", "signed_at"]
    list_filter = ["status", "kind", "stock_status", "device"]
    search_fields = ["trade_invoice_no", "sale__receipt_number", "last_error"]
    list_select_related = ["sale"]
    list_before_template = "fiscal/admin/queue_summary.html"
    actions = ["resend"]
    readonly_fields = [f.name for f in Document._meta.fields] + ["request", "answer"]

    @display(description="status", label=DOCUMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="CU invoice no")
    def cu_invoice(self, obj):
        return obj.cu_invoice_no or "-"

    @display(description="reason")
    def reason(self, obj):
        return obj.last_error or obj.stock_error or ""

    def has_resend_permission(self, request):
        return request.user.has_perm("fiscal.resend_document")

    @admin.action(description="Send again (after fixing what KRA refused)", permissions=["resend"])
    def resend(self, request, queryset):
        if run_on_each(self, request, queryset, lambda document: services.resend_document(document, user=request.user),
                       counted("document(s) queued again")):
            services.kick()

    def changelist_view(self, request, extra_context=None):
        day = parse_date(request.GET.get("day", "") or "") or None
        extra_context = {**(extra_context or {}), "etims_day": services.day_summary(day),
                         "etims_device": services.active_device()}
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        request.GET = request.GET.copy()
        request.GET.pop("day", None)  # the day's count is not a filter of the list
        return super().get_changelist(request, **kwargs)


@admin.register(FiscalItem)
class FiscalItemAdmin(ModelAdmin):
    list_display = ["item_code", "product", "status_badge", "tax_type", "item_class", "quantity_unit",
                    "registered_at", "result_message"]
    list_filter = ["status", "tax_type"]
    search_fields = ["item_code", "product__name", "product__sku"]
    list_select_related = ["product"]
    fields = ["product", "item_code", "item_class", "item_type", "origin", "packaging_unit", "quantity_unit",
              "zero_rate_as", "tax_type", "status", "result_code", "result_message", "registered_at", "attempts"]
    readonly_fields = ["product", "item_code", "tax_type", "status", "result_code", "result_message",
                       "registered_at", "attempts"]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False  # an item is made for a product the first time it is registered

    def has_delete_permission(self, request, obj=None):
        return False  # KRA never deletes an item (useYn = N)

    @display(description="status", label=ITEM_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def has_resend_permission(self, request):
        return request.user.has_perm("fiscal.resend_item")

    @admin.action(description="Register again with KRA (after fixing class, units or tax type)",
                  permissions=["resend"])
    def resend(self, request, queryset):
        for item in queryset:
            services.resend_item(item, user=request.user)
        services.kick()
        self.message_user(request, f"{queryset.count()} item(s) will be registered again.", messages.SUCCESS)


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Every request to KRA and its answer (secrets masked)."""

    list_display = ["created_at", "path", "http_status", "result_code", "error", "duration_ms", "document"]
    list_filter = ["path", "result_code"]
    search_fields = ["error", "document__trade_invoice_no"]
    readonly_fields = [f.name for f in Call._meta.fields]


@admin.register(Code)
class CodeAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["code_class", "class_name", "code", "name", "in_use"]
    list_filter = ["code_class"]
    search_fields = ["code", "name"]


@admin.register(ItemClass)
class ItemClassAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["code", "name", "level", "tax_type", "in_use"]
    search_fields = ["code", "name"]
