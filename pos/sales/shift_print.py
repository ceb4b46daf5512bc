"""The X/Z report printed: 80 mm thermal text, a printable HTML page and an 80 mm PDF. Every figure
comes from the one computation, pos.sales.services.shift_report; this module only lays it out."""

from io import BytesIO

from django.conf import settings
from django.utils import timezone
from django.utils.html import escape

WIDTH = 48


def _money(value) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _row(left, right="") -> str:
    room = WIDTH - len(right) - 1 if right else WIDTH
    return f"{left[:room]:<{room}}{' ' if right else ''}{right}"


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M") if moment else "-"


def report_lines(report) -> list[str]:
    shift, rule = report.shift, "-" * WIDTH
    title = "Z REPORT (shift closed)" if report.kind == "Z" else "X REPORT (shift open, read-only)"
    out = [settings.SHOP_NAME.upper().center(WIDTH).rstrip(), title.center(WIDTH).rstrip(), rule,
           _row(f"Shift #{shift.pk}", shift.cashier.get_username()), _row("Opened", _when(shift.opened_at)),
           _row("Closed", _when(shift.closed_at)), _row("Printed", _when(report.generated_at)), rule,
           _row("Sales", str(report.sales_count)), _row("Sales total (VAT incl.)", _money(report.sales_total)),
           _row("  of which discounts", _money(report.discount_total)),
           _row("  of which rounding", _money(report.rounding_total)),
           _row(f"Returns ({report.returns_count})", f"-{_money(report.returns_total)}"),
           _row("Net sales", _money(report.net_sales)), rule,
           f"{'VAT rate':<9}{'Sales':>13}{'Returns':>13}{'Net VAT':>13}"]
    for vat in report.vat:
        out.append(f"{vat.rate.normalize():f}%".ljust(9) + f"{_money(vat.tax):>13}"
                   f"{_money(vat.returned_tax):>13}{_money(vat.net_tax):>13}")
    out += [_row("VAT on sales", _money(report.tax_total)), _row("VAT on returns", f"-{_money(report.returns_tax)}"),
            _row("NET VAT", _money(report.net_tax)), rule, "CASH DRAWER",
            _row("Opening float", _money(report.cash.opening)), _row("Cash sales", _money(report.cash.payments)),
            _row("Cash handed over", _money(report.cash.tendered)), _row("Change given", f"-{_money(report.cash.change)}"),
            _row("Cash refunds paid out", f"-{_money(report.cash.refunds)}"),
            _row("Cash in (paid in)", _money(report.cash.cash_in)),
            _row("Cash out (paid out)", f"-{_money(report.cash.cash_out)}"),
            _row("Expected in the drawer", _money(report.cash.expected)), rule,
            f"{'Method':<12}{'Expected':>12}{'Counted':>12}{'Diff.':>12}"]
    for method in report.methods:
        out.append(f"{method.label[:12]:<12}{_money(method.expected):>12}{_money(method.counted):>12}"
                   f"{_money(method.difference):>12}")
    if report.pending_count or report.cancelled_count:
        out += [rule, _row("Waiting for payment", str(report.pending_count)),
                _row("Cancelled", str(report.cancelled_count))]
    out += [rule, "Counted by: ____________________", "Checked by: ____________________"]
    return out


def report_text(report) -> str:
    return "\n".join(report_lines(report)) + "\n"


def report_html(report) -> str:
    title = f"{report.kind} report, shift #{report.shift.pk}"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + escape(title) + "</title><style>"
            "@page{size:80mm auto;margin:3mm}body{margin:0}pre{font:11px/1.3 monospace;width:76mm;margin:0}"
            "</style></head><body onload='window.print()'><pre>" + escape(report_text(report)) + "</pre></body></html>")


def report_pdf(report) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    lines = report_lines(report)
    height = (len(lines) * 3.6 + 12) * mm
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(80 * mm, height))
    pdf.setTitle(f"{report.kind} report shift {report.shift.pk}")
    pdf.setFont("Courier", 7.2)
    y = height - 6 * mm
    for line in lines:
        pdf.drawString(3 * mm, y, line)
        y -= 3.6 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
