"""Back office for sales and shifts (django-unfold). Sales are money history: nothing here edits them
by hand; cancel, return and reprint go through pos.sales.services and pos.sales.receipts."""

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    ChoicesDropdownFilter,
    RangeDateTimeFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action, display

from pos.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, counted, run_on_each
from pos.core.errors import ServiceError
from pos.core.money import ZERO
from pos.core.permissions import can, own_rows
from pos.payments.models import Method, Payment
from pos.sales import receipts, services
from pos.sales.filters import paid_with
from pos.sales.models import (
    Authorisation,
    CashMovement,
    Sale,
    SaleItem,
    SaleReturn,
    SaleReturnLine,
    SaleStatus,
    Shift,
    ShiftTotal,
)

STATUS_COLOURS = {
    SaleStatus.OPEN: "info",
    SaleStatus.PENDING_PAYMENT: "warning",
    SaleStatus.PAID: "success",
    SaleStatus.PARTIALLY_RETURNED: "warning",
    SaleStatus.RETURNED: "danger",
    SaleStatus.CANCELLED: "danger",
}


class PaymentMethodFilter(admin.SimpleListFilter):
    title = "payment method"
    parameter_name = "payment_method"

    def lookups(self, request, model_admin):
        return Method.choices

    def queryset(self, request, queryset):
        return paid_with(queryset, self.value()) if self.value() else queryset


class AuthorisationInline(ReadOnlyTabularInline):
    """Who authorised what with a PIN at a cashier's till, and when."""

    model = Authorisation
    fk_name = "sale"
    fields = ["created_at", "action", "authorised_by", "requested_by", "detail"]
    readonly_fields = fields


class ReturnAuthorisationInline(AuthorisationInline):
    fk_name = "sale_return"


class RefundOwedFilter(admin.SimpleListFilter):
    """Returns whose money is still owed to the customer (not refunded, not on its way, not waiting)."""

    title = "refund"
    parameter_name = "refund"

    def lookups(self, request, model_admin):
        return [("owed", "Still owed")]

    def queryset(self, request, queryset):
        if self.value() == "owed":
            return services.refunds_owed(queryset)
        return queryset


class SaleItemInline(ReadOnlyTabularInline):
    model = SaleItem
    fields = ["name", "barcode", "quantity", "unit_price", "tax_rate", "discount", "order_discount", "tax", "total",
              "returned_quantity"]


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ["method", "status", "amount", "amount_tendered", "change_given", "receipt", "created_at"]


class SaleReturnInline(ReadOnlyTabularInline):
    model = SaleReturn
    fields = ["created_at", "amount", "tax", "reason", "created_by", "shift"]


@admin.register(Sale)
class SaleAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["receipt_number", "created_at", "cashier", "status_badge", "total", "paid_amount", "receipt_links"]
    list_filter = [("created_at", RangeDateTimeFilter), ("cashier", RelatedDropdownFilter),
                   ("status", ChoicesDropdownFilter), PaymentMethodFilter]
    list_filter_submit = True
    list_select_related = ["cashier"]
    search_fields = ["receipt_number", "customer_phone", "customer_name"]
    list_before_template = "sales/admin/sale_totals.html"
    inlines = [SaleItemInline, PaymentInline, SaleReturnInline, AuthorisationInline]
    fieldsets = [
        (None, {"fields": ["receipt_number", "status", "cashier", "shift", "customer_name", "customer_phone"]}),
        ("Money", {"fields": ["subtotal", "discount", "order_discount", "tax", "total", "paid_amount", "change_due",
                              "returned_amount", "currency"]}),
        ("Times", {"fields": ["created_at", "confirmed_at", "paid_at", "cancelled_at", "cancelled_by",
                              "cancel_reason", "note"]}),
    ]
    actions = ["cancel_selected"]
    actions_detail = ["take_payment", "cancel_sale", "return_items", "receipt_pdf", "receipt_80mm"]

    def get_queryset(self, request):
        return own_rows(super().get_queryset(request), request.user)

    def get_actions_detail(self, request, object_id):
        """Offer cancel only on an unpaid sale and a return only on a paid one."""
        status = None
        if str(object_id).isdigit():  # /admin/sales/sale/abc/change/ is "no such sale", not a 500
            status = self.get_queryset(request).filter(pk=object_id).values_list("status", flat=True).first()
        hidden = set()
        if status != SaleStatus.PENDING_PAYMENT:
            hidden.add("sales_sale_take_payment")
        if status not in (SaleStatus.OPEN, SaleStatus.PENDING_PAYMENT):
            hidden.add("sales_sale_cancel_sale")
        if status not in services.RETURNABLE:
            hidden.add("sales_sale_return_items")
        return [a for a in super().get_actions_detail(request, object_id) if a.action_name not in hidden]

    def has_cancel_permission(self, request, obj=None):
        return can(request.user, "sales.cancel_sale")

    def has_return_permission(self, request, obj=None):
        return services.can_take_returns(request.user)

    def has_take_payment_permission(self, request, obj=None):
        return can(request.user, "sales.view_sale", "payments.add_payment")

    @display(description="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="receipt")
    def receipt_links(self, obj):
        return format_html('<a href="{}" target="_blank">PDF</a> · <a href="{}" target="_blank">80 mm</a>',
                           reverse("admin:sales_sale_receipt_pdf", args=[obj.pk]),
                           reverse("admin:sales_sale_receipt_80mm", args=[obj.pk]))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["sales_totals"] = changelist.queryset.order_by().aggregate(
                count=Count("id", filter=~Q(status=SaleStatus.CANCELLED)),
                total=Sum("total", filter=~Q(status=SaleStatus.CANCELLED), default=ZERO),
                tax=Sum("tax", filter=~Q(status=SaleStatus.CANCELLED), default=ZERO),
                paid=Sum("paid_amount", default=ZERO),
                refunded=Sum("returned_amount", default=ZERO),
            )
        return response

    @admin.action(description="Cancel selected unpaid sales (stock back)", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        run_on_each(self, request, queryset,
                    lambda sale: services.cancel_sale(sale, user=request.user, reason="cancelled in the back office"),
                    counted("sale(s) cancelled, their stock is back"),
                    label=lambda sale: sale.receipt_number)

    def _sale(self, request, object_id):
        return get_object_or_404(self.get_queryset(request), pk=object_id)

    def _page(self, request, template, sale, **context):
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "sale": sale,
            "title": f"{context.pop('title')} {sale.receipt_number}",
            "change_url": reverse("admin:sales_sale_change", args=[sale.pk]), **context,
        })

    @action(description="Take payment", url_path="take-payment", permissions=["take_payment"], icon="payments")
    def take_payment(self, request, object_id):
        """The balance of a sale waiting for payment (partly paid, or left by a till): cash with what was
        handed over, or an M-Pesa / Airtel push, through the same service as the till's API."""
        sale = self._sale(request, object_id)
        form = {"method": request.POST.get("method", "cash"), "amount": request.POST.get("amount", ""),
                "amount_tendered": request.POST.get("amount_tendered", ""),
                "phone_number": request.POST.get("phone_number", sale.customer_phone),
                "key": request.POST.get("key") or uuid.uuid4().hex}
        if request.method == "POST":
            try:
                tender = services.Tender(method=form["method"], amount=_posted_money(form["amount"], "amount"),
                                         amount_tendered=_posted_money(form["amount_tendered"], "amount_tendered"),
                                         phone_number=form["phone_number"].strip())
                payment, _ = services.take_payment(sale, tender, user=request.user,
                                                   idempotency_key=f"admin-{form['key']}")
            except ServiceError as exc:
                messages.error(request, exc.message)
                form["key"] = uuid.uuid4().hex  # refused: the next try is a new payment
            else:
                payment.refresh_from_db()
                if payment.status == "completed" and payment.method == "cash":
                    messages.success(request, f"Cash {payment.amount} taken on {sale.receipt_number}: give "
                                              f"{payment.change_given} change.")
                elif payment.status == "completed":
                    messages.success(request, f"{payment.get_method_display()} {payment.amount} received on "
                                              f"{sale.receipt_number}.")
                elif payment.is_in_flight:
                    messages.info(request, f"{payment.get_method_display()} request of {payment.amount} sent: "
                                           f"{payment.till_message}")
                else:
                    messages.error(request, f"{payment.get_method_display()} payment {payment.status}: "
                                            f"{payment.result_message}")
                return redirect("admin:sales_sale_change", sale.pk)
        return self._page(request, "sales/admin/take_payment.html", sale, title="Take payment on", form=form,
                          balance=services.balance_left(sale), methods=Method.choices)

    @action(description="Cancel sale", url_path="cancel", permissions=["cancel"], icon="cancel")
    def cancel_sale(self, request, object_id):
        sale = self._sale(request, object_id)
        if request.method == "POST":
            try:
                services.cancel_sale(sale, user=request.user, reason=request.POST.get("reason", "").strip())
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Sale {sale.receipt_number} cancelled; its stock is back.")
            return redirect("admin:sales_sale_change", sale.pk)
        return self._page(request, "sales/admin/cancel_sale.html", sale, title="Cancel sale")

    @action(description="Take a return", url_path="return", permissions=["return"], icon="undo")
    def return_items(self, request, object_id):
        sale = self._sale(request, object_id)
        items = list(sale.items.all())
        if request.method == "POST":
            try:
                wanted = [(item.pk, quantity) for item in items
                          if (quantity := _posted_quantity(request.POST, item))]
                sale_return = services.return_items(sale, wanted, request.user, request.POST.get("reason", ""))
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Return #{sale_return.pk} taken: {sale_return.amount} owed to the "
                                          "customer; stock is back.")
                return redirect("admin:sales_sale_change", sale.pk)
        lines = [{"item": item, "left": item.quantity - item.returned_quantity,
                  "value": request.POST.get(f"qty-{item.pk}", "")} for item in items]
        return self._page(request, "sales/admin/return_items.html", sale, title="Return from", lines=lines,
                          reason=request.POST.get("reason", ""))

    @action(description="Receipt PDF", url_path="receipt-pdf", icon="picture_as_pdf", attrs={"target": "_blank"},
            permissions=["view"])
    def receipt_pdf(self, request, object_id):
        sale = self._sale(request, object_id)
        response = HttpResponse(receipts.receipt_pdf(sale, copy=True), content_type="application/pdf")  # a reprint
        response["Content-Disposition"] = f'inline; filename="{sale.receipt_number}.pdf"'
        return response

    @action(description="Print 80 mm", url_path="receipt-80mm", icon="print", attrs={"target": "_blank"},
            permissions=["view"])
    def receipt_80mm(self, request, object_id):
        return HttpResponse(receipts.receipt_html(self._sale(request, object_id), autoprint=True, copy=True))


def _posted_money(raw, field):
    """A money amount typed in a form, or None when left empty."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ServiceError(f"Enter an amount, e.g. 500.00 ({field}).", field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise ServiceError("The amount must be greater than zero.", field=field)
    return amount


def _posted_quantity(data, item):
    raw = (data.get(f"qty-{item.pk}") or "").strip()
    if not raw:
        return None
    try:
        quantity = Decimal(raw)
    except InvalidOperation:
        raise ServiceError(f"{item.name}: enter a quantity, e.g. 1.", field="items") from None
    return quantity or None


class SaleReturnLineInline(ReadOnlyTabularInline):
    model = SaleReturnLine
    fields = ["sale_item", "quantity", "amount", "tax", "cost"]


@admin.register(SaleReturn)
class SaleReturnAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "sale", "created_at", "amount", "owed", "tax", "created_by", "shift", "reason"]
    list_filter = [RefundOwedFilter, ("created_at", RangeDateTimeFilter)]
    list_filter_submit = True
    list_select_related = ["sale", "created_by", "shift"]
    search_fields = ["sale__receipt_number", "reason"]
    inlines = [SaleReturnLineInline, ReturnAuthorisationInline]

    @display(description="Still owed")
    def owed(self, obj):
        return services.owed_on(obj)


class ShiftTotalInline(ReadOnlyTabularInline):
    model = ShiftTotal
    fields = ["method", "opening", "expected", "counted", "difference"]


class CashMovementInline(ReadOnlyTabularInline):
    model = CashMovement
    fields = ["created_at", "kind", "amount", "reason", "created_by", "authorised_by"]


@admin.register(CashMovement)
class CashMovementAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Cash in / cash out of the drawers (recorded at the till: pos.sales.services.record_cash_movement)."""

    list_display = ["created_at", "shift", "kind", "amount", "reason", "created_by", "authorised_by"]
    list_filter = [("created_at", RangeDateTimeFilter), "kind", ("created_by", RelatedDropdownFilter)]
    list_filter_submit = True
    list_select_related = ["shift__cashier", "created_by", "authorised_by"]
    search_fields = ["reason"]

    def get_queryset(self, request):
        return own_rows(super().get_queryset(request), request.user, field="shift__cashier")


@admin.register(Shift)
class ShiftAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "cashier", "status_badge", "opened_at", "closed_at", "opening_float", "expected_cash",
                    "counted_cash", "variance", "report_link"]
    list_filter = [("opened_at", RangeDateTimeFilter), ("cashier", RelatedDropdownFilter), "status"]
    list_filter_submit = True
    list_select_related = ["cashier"]
    inlines = [ShiftTotalInline, CashMovementInline]
    actions_detail = ["report"]

    def get_queryset(self, request):
        return own_rows(super().get_queryset(request), request.user)

    @display(description="status", label={"open": "success", "closed": "info"})
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="variance", label={"short": "danger", "over": "warning", "exact": "success"})
    def variance(self, obj):
        if obj.cash_variance is None:
            return None
        kind = "short" if obj.cash_variance < 0 else "over" if obj.cash_variance > 0 else "exact"
        return kind, f"{obj.cash_variance:+,.2f}"

    @display(description="report")
    def report_link(self, obj):
        return format_html('<a href="{}">{} report</a>', reverse("admin:sales_shift_report", args=[obj.pk]),
                           "Z" if obj.status == "closed" else "X")

    @action(description="X / Z report", url_path="report", icon="summarize", permissions=["view"])
    def report(self, request, object_id):
        shift = get_object_or_404(self.get_queryset(request), pk=object_id)
        report = services.shift_report(shift)
        return TemplateResponse(request, "sales/admin/shift_report.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "report": report, "shift": shift,
            "title": f"{report.kind} report — shift #{shift.pk} ({shift.cashier})",
            "change_url": reverse("admin:sales_shift_change", args=[shift.pk]),
        })
