"""The cashier's checkout page (a page of the unfold admin) and its JSON endpoints.

The cart lives in the browser; every number the page shows (line totals, VAT, totals, what is due, the
change) comes from these endpoints. They only read the request, call the services and answer JSON:
pricing is pos.sales.services.build_lines, the sale is create_sale, payments are pos.payments.services.
A ServiceError becomes HTTP 400 (409 for a conflict) with {"error", "field", "code"}.
"""

import json
from decimal import Decimal, InvalidOperation
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from pos.catalog.services import lookup_barcode
from pos.catalog.services import search_products as catalog_search
from pos.core.errors import ServiceError
from pos.core.money import ZERO, to_money
from pos.core.permissions import can, discount_is_capped, own_rows
from pos.payments.models import Payment
from pos.payments.services import cancel_payment, initiate_payment, verify_payment
from pos.sales import receipts
from pos.sales.models import Sale, SaleStatus
from pos.sales.services import (
    LineRequest,
    cancel_sale,
    close_shift,
    create_sale,
    get_open_shift,
    open_shift,
    price_cart,
    shift_report,
)
from pos.tills.services import receipt_prefix_for

SEARCH_LIMIT = 20
MAX_LINES = 300
HUNDRED = Decimal(100)


# --- access -----------------------------------------------------------------------------------------

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


def api_view(view):
    """A JSON endpoint of the page: admin login, CSRF, the checkout permission, ServiceError -> 400/409."""
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_use_checkout(request.user):
            return JsonResponse({"error": "Your role may not use the checkout."}, status=403)
        try:
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            return JsonResponse({"error": exc.message, "field": exc.field, "code": exc.code}, status=exc.status_code)
    return admin.site.admin_view(guarded)


def admin_home(request):
    """`/admin/`: a user whose back office is only the checkout (a cashier) goes straight to it; everyone
    else gets the dashboard."""
    if can(request.user, "sales.use_checkout") and not can(request.user, "reports.view_reports"):
        return redirect("checkout:page")
    return admin.site.admin_view(admin.site.index)(request)


# --- reading the page's input -------------------------------------------------------------------------

def _body(request):
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ServiceError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ServiceError("The request body must be a JSON object.")
    return data


def _decimal(value, *, field, label):
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ServiceError(f"{label}: {value!r} is not a number.", field=field, code="not_a_number") from None
    if not number.is_finite():
        raise ServiceError(f"{label}: {value!r} is not a number.", field=field, code="not_a_number")
    return number


def _percent(value, *, field, label):
    percent = _decimal(value if value not in (None, "") else "0", field=field, label=label)
    if percent < 0 or percent > HUNDRED:
        raise ServiceError(f"{label}: a discount is between 0 and 100%.", field=field, code="bad_discount")
    return percent


def _idempotency_key(request):
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 100:
        raise ServiceError("Every payment request needs an Idempotency-Key header (1 to 100 characters).",
                           field="Idempotency-Key", code="idempotency_key_required")
    return key


def _wanted_lines(data):
    raw = data.get("items")
    if not isinstance(raw, list) or not raw:
        raise ServiceError("The cart is empty: scan a product first.", field="items", code="empty")
    if len(raw) > MAX_LINES:
        raise ServiceError(f"A sale has at most {MAX_LINES} lines.", field="items", code="too_many_lines")
    wanted = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not str(item.get("product", "")).isdigit():
            raise ServiceError(f"Line {n}: no product.", field="items", code="unknown_product")
        quantity = _decimal(item.get("quantity", "1"), field="items", label=f"Line {n} quantity")
        percent = _percent(item.get("discount_percent"), field="items", label=f"Line {n}")
        wanted.append((LineRequest(quantity, product=int(item["product"])), percent))
    return wanted


def read_cart(data, user):
    """The page's cart -> (LineRequests, order discount percent, priced cart). Percent discounts are
    priced by the services (pos.sales.services.price_cart), like every other rule."""
    wanted = _wanted_lines(data)
    order_percent = _percent(data.get("discount_percent"), field="discount", label="Order discount")
    items = [LineRequest(request.quantity, product=request.product, discount_percent=percent)
             for request, percent in wanted]
    return items, order_percent, price_cart(items, user=user, order_discount_percent=order_percent)


# --- answers --------------------------------------------------------------------------------------------

def _quantity(value):
    return format(value.normalize(), "f")


def product_json(product):
    return {"id": product.pk, "name": product.name, "barcode": product.barcode or "", "sku": product.sku,
            "price": str(product.price), "unit": product.unit, "stock": _quantity(product.stock_quantity)}


def cart_json(cart):
    lines = cart.lines
    return {
        "lines": [{
            "product": line.product.pk, "name": line.product.name, "barcode": line.product.barcode or "",
            "unit": line.product.unit, "quantity": _quantity(line.quantity), "unit_price": str(line.unit_price),
            "tax_rate": str(line.tax_rate), "gross": str(line.gross), "discount": str(line.discount),
            "order_discount": str(line.order_discount), "tax": str(line.tax), "total": str(line.total),
        } for line in lines],
        "subtotal": str(sum((line.gross for line in lines), ZERO)),
        "discount": str(sum((line.discount + line.order_discount for line in lines), ZERO)),
        "tax": str(sum((line.tax for line in lines), ZERO)),
        "rounding": str(cart.rounding),
        "total": str(cart.total),
    }


EMPTY_CART = {"lines": [], "subtotal": "0.00", "discount": "0.00", "tax": "0.00", "rounding": "0.00", "total": "0.00"}


def payment_json(payment):
    return {
        "id": payment.pk, "method": payment.method, "method_display": payment.get_method_display(),
        "amount": str(payment.amount), "status": payment.status, "status_display": payment.get_status_display(),
        "phone_number": payment.phone_number,
        "result_message": payment.till_message if payment.status == "unconfirmed" else payment.result_message,
        "amount_tendered": str(payment.amount_tendered) if payment.amount_tendered is not None else None,
        "change_given": str(payment.change_given), "redirect_url": payment.redirect_url,
        "result_code": payment.result_code, "receipt": payment.receipt,
        "in_flight": payment.is_in_flight, "till_message": payment.till_message,
    }


def sale_json(sale):
    """The sale as the page shows it; a paid sale carries its 80 mm receipt text."""
    answer = {
        "id": sale.pk, "receipt_number": sale.receipt_number, "status": sale.status,
        "status_display": sale.get_status_display(), "subtotal": str(sale.subtotal), "discount": str(sale.discount),
        "tax": str(sale.tax), "total": str(sale.total), "paid_amount": str(sale.paid_amount),
        "balance_due": str(to_money(sale.balance_due)), "change_due": str(sale.change_due),
        "payments": [payment_json(p) for p in sale.payments.order_by("created_at", "id")],
        "receipt_url": reverse("checkout:receipt", args=[sale.pk]),
        "receipt_pdf_url": reverse("checkout:receipt-pdf", args=[sale.pk]),
    }
    if sale.status == SaleStatus.PAID:
        answer["receipt_text"] = receipts.receipt_text(sale)
    return answer


def shift_json(shift):
    if shift is None:
        return None
    return {"id": shift.pk, "opened_at": formats.date_format(timezone.localtime(shift.opened_at), "D j M, H:i"),
            "opening_float": str(shift.opening_float)}


def report_json(report):
    """An X (open shift) or Z (closed) report: sales figures and, per payment method, the money."""
    def amount(value):
        return None if value is None else str(value)

    shift = report.shift
    return {
        "kind": report.kind, "shift": shift.pk, "sales_count": report.sales_count,
        "sales_total": str(report.sales_total), "tax_total": str(report.tax_total),
        "discount_total": str(report.discount_total), "returns_total": str(report.returns_total),
        "net_sales": str(report.net_sales), "pending_count": report.pending_count,
        "cancelled_count": report.cancelled_count,
        "methods": [{"method": m.method, "label": m.label, "opening": str(m.opening), "payments": str(m.payments),
                     "change": str(m.change), "refunds": str(m.refunds), "expected": str(m.expected),
                     "counted": amount(m.counted), "difference": amount(m.difference)} for m in report.methods],
        "cash_variance": amount(shift.cash_variance),
    }


def _own_sale(request, pk):
    """The sale, if this user may work on it (a cashier: only their own)."""
    sale = own_rows(Sale.objects.all(), request.user).filter(pk=pk).first()
    if sale is None:
        raise ServiceError(f"No sale {pk} at this till.", field="sale", code="not_found")
    return sale


def _own_payment(request, pk):
    payments = own_rows(Payment.objects.select_related("sale"), request.user, "sale__cashier")
    payment = payments.filter(pk=pk).first()
    if payment is None:
        raise ServiceError(f"No payment {pk} at this till.", field="payment", code="not_found")
    return payment


def _own_open_shift(request):
    shift = get_open_shift(request.user)
    if shift is None:
        raise ServiceError("You have no shift open.", field="shift", code="no_open_shift")
    return shift


# --- the page ---------------------------------------------------------------------------------------------

def search_products(text, limit=SEARCH_LIMIT):
    """Active products matching any word or part of a word of the name, SKU or barcode, best first, at most
    `limit` (pos.catalog.services.search_products: one indexed query, never the whole catalogue)."""
    return catalog_search(text, limit=limit)


SHORTCUTS = [
    ("Enter", gettext_lazy("add the scanned or typed barcode")),
    ("F2", gettext_lazy("search products by name")),
    ("F3", gettext_lazy("edit the quantity of the selected line")),
    ("↑ ↓", gettext_lazy("select a cart line")),
    ("+ / −", gettext_lazy("quantity of the selected line")),
    ("Del", gettext_lazy("remove the selected line")),
    ("F4", gettext_lazy("pay cash")),
    ("F6", gettext_lazy("order discount")),
    ("F7", gettext_lazy("pay by card")),
    ("F8", gettext_lazy("pay by M-Pesa")),
    ("F9", gettext_lazy("pay by Airtel Money")),
    ("Esc", gettext_lazy("close the dialog")),
]


def _page_config(request):
    user = request.user
    return {
        "currency": settings.CURRENCY,
        "storage_key": f"pos-checkout-{user.pk}",
        "shift": shift_json(get_open_shift(user)),
        "is_cashier": discount_is_capped(user),
        "max_discount": str(settings.CASHIER_MAX_DISCOUNT_PERCENT) if discount_is_capped(user) else "100",
        "urls": {
            "scan": reverse("checkout:scan"), "search": reverse("checkout:search"), "price": reverse("checkout:price"),
            "sales": reverse("checkout:sales"), "sale": reverse("checkout:sale", args=[0]),
            "payment": reverse("checkout:payment", args=[0]), "shift": reverse("checkout:shift"),
            "shift_open": reverse("checkout:shift-open"), "shift_close": reverse("checkout:shift-close"),
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


# --- the endpoints ------------------------------------------------------------------------------------------

@require_GET
def scan(request):
    code = (request.GET.get("code") or "").strip()
    scan = lookup_barcode(code)  # a product's barcode, or a scale label (weight or price inside)
    if scan is None:
        raise ServiceError(_("Unknown barcode %(code)s: no product for sale has it.") % {"code": code or "(empty)"},
                           field="code", code="unknown_barcode")
    answer = {"product": product_json(scan.product)}
    if scan.quantity is not None:
        answer["quantity"] = _quantity(scan.quantity)
    return JsonResponse(answer)


@require_GET
def search(request):
    products = search_products(request.GET.get("q") or "")
    return JsonResponse({"results": [product_json(p) for p in products]})


@require_POST
def price(request):
    data = _body(request)
    if not data.get("items"):
        return JsonResponse(EMPTY_CART)
    _, _, lines = read_cart(data, request.user)
    return JsonResponse(cart_json(lines))


@require_POST
def sales(request):
    """Confirm the cart as a sale (stock leaves now). The page sends one Idempotency-Key per cart: a double
    click or a retry answers the first sale."""
    data = _body(request)
    key = _idempotency_key(request)
    items, percent, _ = read_cart(data, request.user)
    sale, created = create_sale(cashier=request.user, items=items, discount_percent=percent,
                                customer_phone=str(data.get("customer_phone") or "").strip()[:20],
                                idempotency_key=key, receipt_prefix=receipt_prefix_for(request))
    if sale.cashier_id != request.user.pk:
        raise ServiceError("This Idempotency-Key belongs to another cashier's sale.", field="Idempotency-Key",
                           code="idempotency_conflict")
    return JsonResponse({"sale": sale_json(sale), "created": created}, status=201 if created else 200)


@require_GET
def sale_detail(request, pk):
    return JsonResponse({"sale": sale_json(_own_sale(request, pk))})


@require_POST
def sale_cancel(request, pk):
    sale = cancel_sale(_own_sale(request, pk), user=request.user, reason="Voided at the till")
    return JsonResponse({"sale": sale_json(sale)})


@require_POST
def pay(request, pk):
    """Start a payment of part or all of the sale: cash completes at once (amount_tendered gives the
    change), M-Pesa/Airtel push a prompt to the phone, card answers the hosted payment page. One
    Idempotency-Key per tender attempt: a retry answers the first payment."""
    data = _body(request)
    key = _idempotency_key(request)
    sale = _own_sale(request, pk)
    payment, created = initiate_payment(
        sale, str(data.get("method") or ""), data.get("amount"), phone_number=str(data.get("phone_number") or ""),
        user=request.user, idempotency_key=key, amount_tendered=data.get("amount_tendered"))
    sale.refresh_from_db()
    return JsonResponse({"payment": payment_json(payment), "sale": sale_json(sale), "created": created},
                        status=201 if created else 200)


@require_GET
def payment_detail(request, pk):
    payment = _own_payment(request, pk)
    return JsonResponse({"payment": payment_json(payment), "sale": sale_json(payment.sale)})


@require_POST
def payment_cancel(request, pk):
    payment = cancel_payment(_own_payment(request, pk), user=request.user, reason="Cancelled at the till")
    return JsonResponse({"payment": payment_json(payment), "sale": sale_json(Sale.objects.get(pk=payment.sale_id))})


@require_POST
def payment_verify(request, pk):
    outcome = verify_payment(_own_payment(request, pk))
    payment = outcome.payment
    return JsonResponse({"payment": payment_json(payment), "sale": sale_json(Sale.objects.get(pk=payment.sale_id)),
                         "note": outcome.reason})


@require_GET
def receipt(request, pk):
    """The 80 mm receipt page (the browser's print dialog prints it on the thermal roll)."""
    return HttpResponse(receipts.receipt_html(_own_sale(request, pk)))


@require_GET
def receipt_pdf(request, pk):
    sale = _own_sale(request, pk)
    response = HttpResponse(receipts.receipt_pdf(sale), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{sale.receipt_number}.pdf"'
    return response


# --- the shift ----------------------------------------------------------------------------------------------

@require_GET
def shift(request):
    """The cashier's open shift with its X report (read-only figures so far)."""
    current = get_open_shift(request.user)
    report = report_json(shift_report(current)) if current else None
    return JsonResponse({"shift": shift_json(current), "report": report})


@require_POST
def shift_open(request):
    data = _body(request)
    return JsonResponse({"shift": shift_json(open_shift(request.user, data.get("opening_float", "")))}, status=201)


@require_POST
def shift_close(request):
    """Close the cashier's shift with the counted cash; answers the Z report (expected, counted, variance)."""
    data = _body(request)
    report = close_shift(_own_open_shift(request), data.get("counted_cash", ""), request.user)
    return JsonResponse({"report": report_json(report)})
