"""Report operations: the shift X/Z summary, exports written in the background, the daily e-mail."""

import os
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from pos.core.errors import ServiceError
from pos.core.permissions import PERMISSION_BACKEND
from pos.reports.exports import (
    XLSX_TYPE,
    csv_lines,
    ledger_sheet,
    sales_sheets,
    write_xlsx,
    xlsx_bytes,
)
from pos.reports.models import ExportFormat, ExportJob, ExportStatus
from pos.reports.queries import Period, day_period, sales_report, shop_today
from pos.sales.models import ShiftStatus
from pos.sales.services import shift_report

EXPORT_DIR = "exports"


def shift_summary(shift):
    """The X report (open shift) or Z report (closed) as plain data. The figures come from the one
    shared function pos.sales.services.shift_report; this only adds the cash drawer lines."""
    report = shift_report(shift)
    cash = report.cash
    closed = shift.status == ShiftStatus.CLOSED
    return {
        "shift_id": shift.pk, "kind": report.kind, "status": shift.status,
        "cashier": shift.cashier.get_full_name() or shift.cashier.username,
        "opened_at": shift.opened_at, "closed_at": shift.closed_at, "generated_at": report.generated_at,
        "opening_float": shift.opening_float,
        "sales_count": report.sales_count, "sales_total": report.sales_total,
        "discount_total": report.discount_total, "tax_total": report.tax_total,
        "returns_count": report.returns_count, "returns_total": report.returns_total,
        "net_sales": report.net_sales, "pending_count": report.pending_count,
        "cancelled_count": report.cancelled_count,
        "methods": [{"method": m.method, "label": m.label, "opening": m.opening, "payments": m.payments,
                     "count": m.count, "tendered": m.tendered, "change": m.change, "refunds": m.refunds,
                     "expected": m.expected, "counted": m.counted, "difference": m.difference}
                    for m in report.methods],
        "vat": [{"rate": v.rate, "total": v.total, "tax": v.tax, "net": v.net} for v in report.vat],
        "expected_cash": shift.expected_cash if closed else cash.expected,
        "counted_cash": shift.counted_cash if closed else None,
        "cash_variance": shift.cash_variance if closed else None,
    }


# --- Large exports in the background ---------------------------------------------------------------

def start_sales_lines_export(*, user, period: Period, file_format=ExportFormat.XLSX) -> ExportJob:
    """Queue the sales-lines ledger of `period` for a background worker; the job tells its status and,
    once done, the file to download."""
    if file_format not in ExportFormat.values:
        raise ServiceError(f"Unknown format '{file_format}': choose xlsx or csv.", field="format", code="bad_format")
    with transaction.atomic():
        job = ExportJob.objects.create(file_format=file_format, start=period.start, end=period.end, created_by=user)
        transaction.on_commit(lambda: async_task("pos.reports.tasks.export_sales_lines", str(job.pk),
                                                 task_name=f"export {job.pk}"))
    return job


def _export_path(job):
    return f"{EXPORT_DIR}/sales-lines-{job.start}-{job.end}-{str(job.pk)[:8]}.{job.file_format}"


def write_sales_lines_export(job_id) -> ExportJob:
    """Write the job's file under MEDIA_ROOT/exports/ (constant memory) and mark it done, or failed
    with the reason. Running a finished job again changes nothing."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ExportStatus.QUEUED:
            return job
        job.status = ExportStatus.RUNNING
        job.save(update_fields=["status"])
    name = _export_path(job)
    path = os.path.join(settings.MEDIA_ROOT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sheet = ledger_sheet(Period("custom", job.start, job.end))
    try:
        if job.file_format == ExportFormat.XLSX:
            write_xlsx([sheet], path)
        else:
            with open(path, "w", newline="", encoding="utf-8") as out:
                out.writelines(csv_lines([sheet], titles=False))
    except OSError as exc:
        job.status, job.error, job.finished_at = ExportStatus.FAILED, str(exc)[:300], timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        return job
    job.file.name = name
    job.rows = sheet.written
    job.status, job.finished_at = ExportStatus.DONE, timezone.now()
    job.save(update_fields=["file", "rows", "status", "finished_at"])
    return job


# --- Daily summary e-mail ---------------------------------------------------------------------------

def summary_recipients():
    """Active users who see the reports (reports.view_reports: managers, bookkeepers) with an e-mail address;
    superusers only when a group gives them the permission too."""
    return list(get_user_model().objects.with_perm("reports.view_reports", include_superusers=False,
                                                                 backend=PERMISSION_BACKEND)
                .filter(is_active=True)
                .exclude(email="").order_by("email").values_list("email", flat=True).distinct())


def _summary_body(report):
    t = report["totals"]
    currency = settings.CURRENCY
    lines = [
        f"{settings.SHOP_NAME}: sales of {report['period']['start']:%A %d %B %Y}",
        "",
        f"Gross sales:      {currency} {t['gross_sales']:>14,.2f}",
        f"Discounts:        {currency} {t['discounts']:>14,.2f}",
        f"Refunds:          {currency} {t['refunds']:>14,.2f}",
        f"Net sales:        {currency} {t['net_sales']:>14,.2f}",
        f"VAT:              {currency} {t['vat']:>14,.2f}",
        f"Number of sales:  {t['sales_count']:>18}",
        f"Average basket:   {currency} {t['average_basket']:>14,.2f}",
        "",
        "Payments by method:",
        *[f"  {m['label']:<16}{currency} {m['amount']:>14,.2f}" for m in report["by_payment_method"]],
        "",
        "The full report is attached (xlsx).",
    ]
    return "\n".join(lines)


def send_daily_summary(day=None) -> int:
    """E-mail the day's sales summary, with the xlsx report attached, to managers and bookkeepers in one
    message. Returns the number of recipients (0: nobody to tell, nothing sent)."""
    recipients = summary_recipients()
    if not recipients:
        return 0
    report = sales_report(day_period(day or shop_today()))
    day = report["period"]["start"]
    message = EmailMessage(subject=f"{settings.SHOP_NAME}: daily sales summary {day}",
                           body=_summary_body(report), to=recipients)
    message.attach(f"sales-{day}.xlsx", xlsx_bytes(sales_sheets(report)), XLSX_TYPE)
    message.send()
    return len(recipients)


def delete_old_exports(now=None) -> int:
    """Background exports finished more than EXPORT_KEEP_HOURS ago lose their file (it may hold every sale
    line of a period); the job row stays, marked expired in its error. Returns how many files went."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EXPORT_KEEP_HOURS)
    removed = 0
    for job in ExportJob.objects.filter(finished_at__lt=cutoff).exclude(file=""):
        job.file.delete(save=False)
        job.file = ""
        job.error = f"The file was deleted after {settings.EXPORT_KEEP_HOURS} hours; start a new export."
        job.save(update_fields=["file", "error"])
        removed += 1
    return removed
