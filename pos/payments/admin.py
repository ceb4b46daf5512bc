"""Back office for payments: read-only records, every change through pos.payments.services."""

from django.contrib import admin
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.decorators import action, display

from pos.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, confirm_page, run_on_each
from pos.core.errors import ServiceError
from pos.core.permissions import can, own_rows
from pos.payments import services
from pos.payments.models import Payment, PaymentCallback, PaymentEvent, Refund


class PaymentEventInline(ReadOnlyTabularInline):
    model = PaymentEvent
    fields = ["created_at", "action", "http_status", "error", "request", "response"]
    tab = True


class PaymentCallbackInline(ReadOnlyTabularInline):
    model = PaymentCallback
    fields = ["received_at", "provider", "outcome", "reason", "source_ip"]
    tab = True


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = ["created_at", "amount", "status", "reason", "requested_by", "approved_by", "result_message"]
    tab = True


def _payment(payment):
    return f"Payment #{payment.pk}"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "sale", "method", "amount", "status_badge", "phone_number", "receipt", "attention",
                    "created_at"]
    list_filter = ["status", "method", "attention", ("created_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["sale__receipt_number", "provider_reference", "receipt", "phone_number"]
    list_select_related = ["sale"]
    date_hierarchy = "created_at"
    inlines = [PaymentEventInline, PaymentCallbackInline, RefundInline]
    actions = ["verify_now", "close_unconfirmed"]
    actions_detail = ["verify_one"]
    fieldsets = [
        (None, {"fields": ["sale", "method", "amount", "currency", "status", "created_by", "created_at",
                           "completed_at"]}),
        ("Cash", {"fields": ["amount_tendered", "change_given"]}),
        ("Provider", {"fields": ["phone_number", "provider_reference", "provider_secondary_reference", "receipt",
                                 "reported_receipt",
                                 "amount_received", "result_code", "result_message", "redirect_url",
                                 "verify_attempts", "next_verify_at"]}),
        ("Needs attention", {"fields": ["attention", "attention_note"]}),
    ]

    @display(description="Status", label={"completed": "success", "failed": "danger", "expired": "danger",
                                          "cancelled": "warning", "processing": "info", "pending": "info",
                                          "unconfirmed": "warning"})
    def status_badge(self, obj):
        return obj.status

    def get_queryset(self, request):
        return own_rows(super().get_queryset(request), request.user, "sale__cashier")

    def has_verify_permission(self, request, obj=None):
        return can(request.user, "payments.change_payment")

    def _verify(self, request, payments):
        """Asked by the task worker, as the API's verify (services.verify_later)."""
        def verify(payment):
            if not services.verify_later(payment):
                raise ServiceError("The task worker could not be reached; the minute re-check will ask the "
                                   "provider.")
            return f"#{payment.pk}"

        run_on_each(self, request, payments, verify,
                    lambda done: f"Asked the provider about payment {', '.join(done)}: its answer is applied by "
                                 f"the task worker; reload this page to see the status.", label=_payment)

    @admin.action(description="Verify now with the provider", permissions=["verify"])
    def verify_now(self, request, queryset):
        self._verify(request, queryset)

    @admin.action(description="Close as not paid (checked on the provider's portal)", permissions=["close"])
    def close_unconfirmed(self, request, queryset):
        def close(payment):
            services.close_unconfirmed_payment(payment, user=request.user)
            return f"Payment #{payment.pk}: closed as not paid"

        run_on_each(self, request, queryset, close, "; ".join, label=_payment)

    def has_close_permission(self, request):
        return can(request.user, "payments.approve_refund")

    @action(description="Verify now", url_path="verify-now", permissions=["verify"])
    def verify_one(self, request, object_id):
        payment = get_object_or_404(self.get_queryset(request), pk=object_id)
        back = reverse("admin:payments_payment_change", args=[payment.pk])
        if request.method != "POST":
            return confirm_page(self, request, payment, title=f"Verify payment #{payment.pk}", back_url=back,
                                question=f"Ask {payment.get_method_display()} now for the status of payment "
                                         f"#{payment.pk} ({payment.amount} {payment.currency}, {payment.status})?",
                                button="Verify now")
        self._verify(request, [payment])
        return redirect(back)


@admin.register(PaymentCallback)
class PaymentCallbackAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "provider", "route", "outcome", "reason", "payment", "refund", "source_ip", "received_at"]
    list_filter = ["provider", "route", "outcome", ("received_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["raw_body", "reason", "payment__provider_reference", "payment__receipt"]
    list_select_related = ["payment"]
    fields = ["provider", "route", "received_at", "source_ip", "path", "outcome", "reason", "signature_ok", "attempts",
              "payment", "refund", "headers", "raw_body"]
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "payment", "amount", "status", "attention", "reason", "requested_by", "approved_by",
                    "created_at"]
    list_filter = ["status", "attention", "payment__method", ("created_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["reason", "provider_reference", "payment__sale__receipt_number", "payment__receipt"]
    list_select_related = ["payment", "requested_by", "approved_by"]
    actions = ["approve", "reject", "check_now"]
    fields = ["payment", "sale_return", "amount", "reason", "status", "attention", "attention_note",
              "provider_reference", "provider_secondary_reference", "provider_amount", "result_code",
              "result_message", "check_attempts", "next_check_at", "requested_by", "approved_by", "rejected_by",
              "decided_at", "created_at", "completed_at"]
    readonly_fields = fields

    def has_approve_permission(self, request):
        return request.user.has_perm("payments.approve_refund")

    def _decide(self, request, queryset, decide, verb):
        def one(refund):
            refund = decide(refund, user=request.user)
            return f"Refund #{refund.pk} {verb}: {refund.get_status_display().lower()}"

        run_on_each(self, request, queryset, one, "; ".join, label=lambda refund: f"Refund #{refund.pk}")

    @admin.action(description="Approve selected refunds", permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(request, queryset, services.approve_refund, "approved")

    def has_check_permission(self, request):
        return can(request.user, "payments.change_refund")

    @admin.action(description="Check with the provider now", permissions=["check"])
    def check_now(self, request, queryset):
        def check(refund):
            outcome = services.check_refund(refund)
            return f"Refund #{refund.pk}: {outcome.refund.status}{f' ({outcome.reason})' if outcome.reason else ''}"

        run_on_each(self, request, queryset, check, "; ".join, label=lambda refund: f"Refund #{refund.pk}")

    @admin.action(description="Reject selected refunds", permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(request, queryset, services.reject_refund, "rejected")
