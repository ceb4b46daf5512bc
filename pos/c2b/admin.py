"""Back office for received M-Pesa money: an append-only register (nothing is deleted or edited by hand);
matching, deposits, registration and reconciliation go through pos.c2b.services."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.decorators import action, display

from pos.c2b import services
from pos.c2b.models import C2BNotification, MatchRule, ReceivedPayment, ReconciliationRun
from pos.core.admin import ReadOnlyAdminMixin, run_on_each
from pos.core.errors import ServiceError
from pos.sales.models import Sale, SaleStatus


def _age(moment):
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


class MatchForm(forms.Form):
    sale = forms.CharField(label="Receipt number of the sale waiting for payment",
                           help_text="e.g. S-000123; the sale must still be waiting for payment.")

    def clean_sale(self):
        number = self.cleaned_data["sale"].strip().upper()
        sale = Sale.objects.filter(receipt_number=number).first()
        if sale is None:
            raise forms.ValidationError(f"No sale {number}.")
        if sale.status != SaleStatus.PENDING_PAYMENT:
            raise forms.ValidationError(f"Sale {number} is {sale.get_status_display().lower()}, not waiting for "
                                        "payment: record the money as a deposit instead.")
        return sale


@admin.register(ReceivedPayment)
class ReceivedPaymentAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["trans_id", "received_at", "age", "amount", "payer_name", "bill_ref", "state_badge", "sale",
                    "flagged", "source", "shift"]
    list_filter = ["state", "flagged", "source", "match_rule", "shift", ("received_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["trans_id", "bill_ref", "first_name", "last_name", "payment__sale__receipt_number"]
    list_select_related = ["payment__sale", "shift"]
    date_hierarchy = "received_at"
    actions = ["record_deposit"]
    actions_list = ["register_urls", "reconcile_now"]
    actions_detail = ["match_to_sale"]
    fieldsets = [
        (None, {"fields": ["trans_id", "amount", "trans_type", "trans_time", "received_at", "source", "shortcode",
                           "bill_ref", "invoice_number"]}),
        ("Payer", {"fields": ["first_name", "middle_name", "last_name", "msisdn"]}),
        ("In the books", {"fields": ["state", "payment", "match_rule", "matched_at", "matched_by", "shift", "note"]}),
        ("Reconciliation", {"fields": ["flagged", "flag_reason", "seen_at_safaricom", "raw"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ReceivedPayment._meta.fields]

    def has_match_permission(self, request, obj=None):
        return request.user.has_perm("c2b.match_receivedpayment")

    @display(description="Age")
    def age(self, obj):
        return _age(obj.trans_time or obj.received_at)

    @display(description="Payer")
    def payer_name(self, obj):
        return obj.payer or "-"

    @display(description="Sale")
    def sale(self, obj):
        return obj.payment.sale.receipt_number if obj.payment_id else "-"

    @display(description="State", label={"unmatched": "warning", "matched": "success", "deposit": "info"})
    def state_badge(self, obj):
        return obj.state

    @admin.action(description="Record as the customer's deposit / overpayment", permissions=["match"])
    def record_deposit(self, request, queryset):
        def deposit(receipt):
            payer = f"{receipt.payer or 'unknown payer'} {receipt.msisdn if receipt.msisdn.isdigit() else ''}".strip()
            services.record_deposit(receipt, user=request.user,
                                    note=f"Deposit of {payer}, recorded by {request.user} in the back office")
            return f"{receipt.trans_id}: kept as the deposit of {payer}."

        run_on_each(self, request, queryset, deposit, " ".join, label=lambda receipt: receipt.trans_id)

    @action(description="Match to a sale", url_path="match-to-sale", permissions=["match"])
    def match_to_sale(self, request, object_id):
        receipt = ReceivedPayment.objects.get(pk=object_id)
        form = MatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.match_receipt(receipt, form.cleaned_data["sale"], user=request.user, rule=MatchRule.MANAGER)
            except ServiceError as exc:
                form.add_error("sale", exc.message)
            else:
                self.message_user(request, f"{receipt.trans_id} now pays sale {form.cleaned_data['sale']}.",
                                  messages.SUCCESS)
                return redirect(reverse("admin:c2b_receivedpayment_change", args=[object_id]))
        context = {**self.admin_site.each_context(request), "title": f"Match {receipt.trans_id} to a sale",
                   "receipt": receipt, "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "c2b/admin_match.html", context)

    @action(description="Register C2B URLs with M-Pesa", url_path="register-urls", permissions=["match"])
    def register_urls(self, request):
        try:
            answer = services.register_urls()
            services.register_pull()
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, f"C2B URLs registered: {answer.get('ResponseDescription', 'Success')}.",
                              messages.SUCCESS)
        return redirect(reverse("admin:c2b_receivedpayment_changelist"))

    @action(description="Reconcile now (Pull Transactions)", url_path="reconcile-now", permissions=["match"])
    def reconcile_now(self, request):
        from django_q.tasks import async_task

        async_task("pos.c2b.tasks.reconcile_recent")
        self.message_user(request, "Reconciliation started: see M-Pesa reconciliation for its result.",
                          messages.INFO)
        return redirect(reverse("admin:c2b_receivedpayment_changelist"))


@admin.register(C2BNotification)
class C2BNotificationAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "kind", "trans_id", "outcome", "token_ok", "reason", "source_ip", "received_at"]
    list_filter = ["kind", "outcome", "token_ok", ("received_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["trans_id", "raw_body", "reason"]
    fields = ["kind", "received_at", "source_ip", "token_ok", "outcome", "reason", "trans_id", "receipt", "headers",
              "raw_body"]
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["started_at", "period_start", "period_end", "pages", "listed", "new_receipts", "stk_completed",
                    "flagged", "error"]
    readonly_fields = [f.name for f in ReconciliationRun._meta.fields]
