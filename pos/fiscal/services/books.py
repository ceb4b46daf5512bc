"""eTIMS in the books: the day's count of signed documents and the unsigned ones check_books reports."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from pos.fiscal.models import Device, Document, DocumentKind, DocumentStatus
from pos.sales.models import SOLD_STATUSES, Sale, SaleReturn


def _day_bounds(day):
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def day_summary(day=None) -> dict:
    """For one local day: sales paid and returns taken, how many of each have a signed document, and the
    receipt numbers of those that do not (yet)."""
    day = day or timezone.localdate()
    start, end = _day_bounds(day)
    sales = Sale.objects.filter(status__in=SOLD_STATUSES, paid_at__gte=start, paid_at__lt=end)
    returns = SaleReturn.objects.filter(created_at__gte=start, created_at__lt=end)
    signed_sales = sales.filter(fiscal_documents__kind=DocumentKind.SALE,
                                fiscal_documents__status=DocumentStatus.SIGNED)
    signed_returns = returns.filter(fiscal_document__status=DocumentStatus.SIGNED)
    unsigned_sales = list(sales.exclude(pk__in=signed_sales.values("pk")).order_by("pk")
                          .values_list("receipt_number", flat=True)[:200])
    unsigned_returns = [f"{r}-R{pk}" for pk, r in returns.exclude(pk__in=signed_returns.values("pk")).order_by("pk")
                        .values_list("pk", "sale__receipt_number")[:200]]
    by_status = dict(Document.objects.filter(created_at__gte=start, created_at__lt=end).values_list("status")
                     .annotate(n=Count("id")))
    result = {
        "day": day, "sales": sales.count(), "sales_signed": signed_sales.count(), "returns": returns.count(),
        "returns_signed": signed_returns.count(), "unsigned_sales": unsigned_sales,
        "unsigned_returns": unsigned_returns, "documents_by_status": by_status,
    }
    result["all_signed"] = (result["sales"] == result["sales_signed"] and result["returns"] == result["returns_signed"])
    return result


def unsigned_documents(now=None) -> list[str]:
    """check_books: every sale or credit note not signed ETIMS_UNSIGNED_ALERT_MINUTES after it was queued,
    and every paid sale of an eTIMS device with no document that long after payment."""
    device = Device.objects.filter(is_active=True).exclude(mode="off").first()
    if device is None:
        return []
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.ETIMS_UNSIGNED_ALERT_MINUTES)
    problems = [
        f"etims: {d.get_kind_display().lower()} {d.trade_invoice_no} is not signed "
        f"({d.get_status_display().lower()}{': ' + d.last_error if d.last_error else ''})"
        for d in Document.objects.filter(~Q(status=DocumentStatus.SIGNED), created_at__lt=cutoff).order_by("pk")[:500]
    ]
    since = device.enabled_at or device.created_at
    missing = (Sale.objects.filter(status__in=SOLD_STATUSES, paid_at__gte=since, paid_at__lt=cutoff)
               .exclude(fiscal_documents__kind=DocumentKind.SALE).values_list("receipt_number", flat=True)[:500])
    problems += [f"etims: sale {r} was paid but never queued for signing" for r in missing]
    if problems and not device.is_initialised:
        problems.append(f"etims: device {device.pin}/{device.branch_id} is not initialised"
                        f"{': ' + device.init_error if device.init_error else ''}")
    return problems
