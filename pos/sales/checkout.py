"""The cashier's checkout page (a page of the unfold admin). It has no API of its own: the page speaks
the REST API every other client uses (/api/products/, /api/sales/, /api/payments/), through
pos/static/pos/api.js; this module only serves the page and its configuration (the API's URLs)."""

from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from pos.core.permissions import can, discount_is_capped
from pos.sales.services import get_open_shift

SEARCH_LIMIT = 20


def can_use_checkout(user):
    return can(user, "sales.use_checkout")


def page_view(view):
    """An admin page: login through the admin, then the checkout permission."""
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_use_checkout(request.user):
            raise PermissionDenied("Your role may not use the checkout.")
        return view(request, *args, **kwargs)
    return admin.site.admin_view(guarded)


def admin_home(request):
    """`/admin/`: a user whose back office is only the checkout (a cashier) goes straight to it; everyone
    else gets the dashboard."""
    if can(request.user, "sales.use_checkout") and not can(request.user, "reports.view_reports"):
        return redirect("checkout:page")
    return admin.site.admin_view(admin.site.index)(request)


def shift_json(shift):
    if shift is None:
        return None
    return {"id": shift.pk, "opened_at": formats.date_format(timezone.localtime(shift.opened_at), "D j M, H:i"),
            "opening_float": str(shift.opening_float)}


SHORTCUTS = [
    ("Enter", gettext_lazy("add the scanned or typed barcode")),
    ("F2", gettext_lazy("search products by name")),
    ("F3", gettext_lazy("edit the quantity of the selected line")),
    ("↑ ↓", gettext_lazy("select a cart line")),
    ("+ / −", gettext_lazy("quantity of the selected line")),
    ("Del", gettext_lazy("remove the selected line")),
    ("F4", gettext_lazy("pay cash")),
    ("F1", gettext_lazy("open and partly paid sales")),
    ("F6", gettext_lazy("order discount")),
    ("F7", gettext_lazy("pay by card")),
    ("F8", gettext_lazy("pay by M-Pesa")),
    ("F9", gettext_lazy("pay by Airtel Money")),
    ("F10", gettext_lazy("return goods (refund now or owe)")),
    ("Alt+D", gettext_lazy("cash in / cash out of the drawer")),
    ("Esc", gettext_lazy("close the dialog")),
]


def _page_config(request):
    user = request.user
    sales = reverse("sale-list")
    return {
        "currency": settings.CURRENCY,
        "storage_key": f"pos-checkout-{user.pk}",
        "shift": shift_json(get_open_shift(user)),
        "is_cashier": discount_is_capped(user),
        "is_manager": can(user, "sales.return_sale"),
        "max_discount": str(settings.CASHIER_MAX_DISCOUNT_PERCENT) if discount_is_capped(user) else "100",
        "urls": {
            "barcode": reverse("product-barcode", kwargs={"code": "CODE"}).replace("CODE", "{code}"),
            "search": f"{reverse('product-list')}?is_active=true&page_size={SEARCH_LIMIT}&search={{q}}",
            "price": reverse("sale-price"),
            "sales": sales,
            "sale": reverse("sale-detail", args=[1]).replace("/1/", "/{id}/"),
            "open_sales": f"{sales}?status=pending_payment&ordering=-created_at",
            "find_sale": f"{sales}?search={{q}}",
            "payment": reverse("payment-detail", args=[1]).replace("/1/", "/{id}/"),
            "shift_open": reverse("shift-open"),
            "shift_report": reverse("shift-report", args=[1]).replace("/1/", "/{id}/"),
            "shift_close": reverse("shift-close", args=[1]).replace("/1/", "/{id}/"),
            "refunds_owed": reverse("salereturn-owed"),
            "return_refund": reverse("salereturn-refund", args=[1]).replace("/1/", "/{id}/"),
            "refunds_waiting": reverse("salereturn-waiting"),
            "return_approve": reverse("salereturn-approve", args=[1]).replace("/1/", "/{id}/"),
            "cash_movements": reverse("cashmovement-list"),
        },
    }


@require_GET
def page(request):
    context = {
        **admin.site.each_context(request),
        "title": _("Checkout"),
        "config": _page_config(request),
        "shortcuts": SHORTCUTS,
    }
    return TemplateResponse(request, "checkout/page.html", context)
