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
from django.views.decorators.http import require_GET

from pos.core.api import has_role
from pos.sales.services import get_open_shift

SEARCH_LIMIT = 20


def can_use_checkout(user):
    return has_role(user, "cashier", "manager", "admin") or user.has_perm("sales.use_checkout")


def page_view(view):
    """An admin page: login through the admin, then the checkout permission."""
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_use_checkout(request.user):
            raise PermissionDenied("Your role may not use the checkout.")
        return view(request, *args, **kwargs)
    return admin.site.admin_view(guarded)


def admin_home(request):
    """`/admin/`: cashiers go straight to the checkout page, everyone else gets the dashboard."""
    if request.user.is_authenticated and request.user.is_active and getattr(request.user, "is_cashier", False):
        return redirect("checkout:page")
    return admin.site.admin_view(admin.site.index)(request)


def shift_json(shift):
    if shift is None:
        return None
    return {"id": shift.pk, "opened_at": formats.date_format(timezone.localtime(shift.opened_at), "D j M, H:i"),
            "opening_float": str(shift.opening_float)}


SHORTCUTS = [
    ("Enter", "add the scanned or typed barcode"),
    ("F2", "search products by name"),
    ("F3", "edit the quantity of the selected line"),
    ("↑ ↓", "select a cart line"),
    ("+ / −", "quantity of the selected line"),
    ("Del", "remove the selected line"),
    ("F4", "pay cash"),
    ("F6", "open and partly paid sales"),
    ("F7", "pay by card"),
    ("F8", "pay by M-Pesa"),
    ("F9", "pay by Airtel Money"),
    ("F10", "return goods (refund now or owe)"),
    ("Esc", "close the dialog"),
]


def _page_config(request):
    user = request.user
    sales = reverse("sale-list")
    return {
        "currency": settings.CURRENCY,
        "storage_key": f"pos-checkout-{user.pk}",
        "shift": shift_json(get_open_shift(user)),
        "is_cashier": bool(getattr(user, "is_cashier", False)),
        "is_manager": bool(getattr(user, "is_manager", False)),
        "max_discount": str(settings.CASHIER_MAX_DISCOUNT_PERCENT) if getattr(user, "is_cashier", False) else "100",
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
        },
    }


@require_GET
def page(request):
    context = {
        **admin.site.each_context(request),
        "title": "Checkout",
        "config": _page_config(request),
        "shortcuts": SHORTCUTS,
    }
    return TemplateResponse(request, "checkout/page.html", context)
